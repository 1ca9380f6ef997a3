"""OpenAI-family embeddings: pure encode/decode, validation before I/O, batching and order.

Expected values come from OpenAI's API reference (the ``CreateEmbeddingRequest`` /
``Embedding`` examples) and from independent code here (``struct`` for float32 bytes), never
from polymodal's own encoder. Requests go to an ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import polymodal
from polymodal import errors
from polymodal._embedding import parse_embedding
from polymodal._warn import DroppedParamWarning
from polymodal.apis import openai_embeddings as api
from polymodal.types import EmbeddingRequest


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment a developer (or another test) left set must not steer these requests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "AZURE_API_KEY",
                 "AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT", "AZURE_API_VERSION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


KEY = "sk-test"
OPENAI_URL = "https://api.openai.com/v1/embeddings"


def b64_floats(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def f32(x: float) -> float:
    """``x`` rounded to float32, as it travels on the wire."""
    value: float = struct.unpack("<f", struct.pack("<f", x))[0]
    return value


class Server:
    """A MockTransport handler answering each /embeddings request from its own inputs."""

    def __init__(self, vector: Callable[[Any], list[float]] | None = None, **extra: Any) -> None:
        self.requests: list[httpx.Request] = []
        self.vector = vector or (lambda item: [0.5, -0.25])
        self.extra = extra

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if inputs and isinstance(inputs[0], int):
            inputs = [inputs]
        b64 = body.get("encoding_format") == "base64"
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": b64_floats(self.vector(x)) if b64 else self.vector(x),
            }
            for i, x in enumerate(inputs)
        ]
        answer = {
            "object": "list",
            "data": data,
            "model": body.get("model", "deployment"),
            "usage": {"prompt_tokens": 2 * len(inputs), "total_tokens": 2 * len(inputs)},
            **self.extra,
        }
        return httpx.Response(200, json=answer)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def aclient(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def embed(server: Server, model: str = "openai/text-embedding-3-small", **kw: Any) -> Any:
    kw.setdefault("api_key", KEY)
    kw.setdefault("input", "hello")
    return polymodal.embedding(model, client=server.client(), max_retries=0, **kw)


# --------------------------------------------------------------------------- encode


def test_docs_request_example_encodes_as_documented() -> None:
    # API reference, "Create embeddings" example request.
    req = parse_embedding(
        "text-embedding-ada-002",
        "The food was delicious and the waiter...",
        {"encoding_format": "float"},
    )
    body = api.encode(api.check(req, dialect="openai"), dialect="openai")
    assert body == {
        "model": "text-embedding-ada-002",
        "input": "The food was delicious and the waiter...",
        "encoding_format": "float",
    }


def test_base64_is_requested_unless_the_user_asks_for_floats() -> None:
    server = Server()
    embed(server, input=["a", "b"], dimensions=256, user="user-1234")
    assert server.bodies[0] == {
        "model": "text-embedding-3-small",
        "input": ["a", "b"],
        "encoding_format": "base64",
        "dimensions": 256,
        "user": "user-1234",
    }
    embed(server, input=["a"], encoding_format="float")
    assert server.bodies[1]["encoding_format"] == "float"


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("one text", "one text"),
        (["one", "two"], ["one", "two"]),
        ([1212, 318, 257, 1332, 13], [1212, 318, 257, 1332, 13]),  # docs: array of tokens
        ([[1212, 318], [257, 1332, 13]], [[1212, 318], [257, 1332, 13]]),
        (("a", "b"), ["a", "b"]),
    ],
)
def test_input_shapes_reach_openai_as_given(value: Any, sent: Any) -> None:
    server = Server()
    result = embed(server, input=value)
    assert server.bodies[0]["input"] == sent
    expected = 1 if isinstance(sent, str) or isinstance(sent[0], int) else len(sent)
    assert len(result.data) == expected


# --------------------------------------------------------------------------- decode


def test_decodes_docs_float_example() -> None:
    body = {
        "object": "list",
        "data": [{"object": "embedding", "embedding": [0.0023064255, -0.009327292], "index": 0}],
        "model": "text-embedding-ada-002",
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }
    result = api.decode(body)
    assert result.vectors == [[0.0023064255, -0.009327292]]
    assert result.model == "text-embedding-ada-002"
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (8, 8)  # type: ignore[union-attr]


def test_decodes_base64_float32_little_endian() -> None:
    values = [0.0023064255, -0.009327292, 1.5, -2.0, 3.4028234663852886e38]
    raw = base64.b64encode(struct.pack("<5f", *values)).decode()
    got = api.decode({"data": [{"index": 0, "embedding": raw}], "model": "m"}).vectors[0]
    assert got == [f32(v) for v in values]
    assert all(type(v) is float for v in got)


def test_vectors_are_returned_in_input_order_whatever_the_answer_order() -> None:
    body = {
        "data": [
            {"index": 2, "embedding": [2.0]},
            {"index": 0, "embedding": b64_floats([0.0])},
            {"index": 1, "embedding": [1.0]},
        ],
        "model": "m",
    }
    assert api.decode(body).vectors == [[0.0], [1.0], [2.0]]


def test_a_truncated_base64_vector_is_a_provider_error() -> None:
    bad = base64.b64encode(b"\x00\x00\x80").decode()  # 3 bytes: not whole float32 values
    with pytest.raises(errors.InternalServerError, match="neither floats nor base64"):
        api.decode({"data": [{"index": 0, "embedding": bad}], "model": "m"}, provider="openai")


def test_an_error_body_behind_2xx_raises_the_mapped_error() -> None:
    body = {"error": {"message": "The model `x` does not exist", "code": 404}}
    with pytest.raises(errors.NotFoundError, match="does not exist"):
        api.decode(body)


def test_response_object_shape() -> None:
    server = Server(vector=lambda item: [0.25, 0.5, 0.75])
    result = embed(server, input=["x", "y"])
    assert result.object == "list"
    assert [d.index for d in result.data] == [0, 1]
    assert result.data[1].embedding == [0.25, 0.5, 0.75]
    assert result["data"][0]["object"] == "embedding"
    assert result.usage.prompt_tokens == 4
    assert result.model == "text-embedding-3-small"


# --------------------------------------------------------------------------- batching


def _index_vector(item: Any) -> list[float]:
    return [float(item.removeprefix("t"))]


def test_inputs_beyond_2048_are_split_and_rejoined_in_order() -> None:
    server = Server(vector=_index_vector)
    texts = [f"t{i}" for i in range(5000)]
    result = embed(server, input=texts)
    assert [len(b["input"]) for b in server.bodies] == [2048, 2048, 904]
    assert [d.embedding[0] for d in result.data] == [float(i) for i in range(5000)]
    assert [d.index for d in result.data] == list(range(5000))
    assert result.usage.prompt_tokens == 10000 and result.usage.total_tokens == 10000


def test_async_batches_run_concurrently_and_rejoin_in_order() -> None:
    server = Server(vector=_index_vector)
    texts = [f"t{i}" for i in range(4100)]

    async def run() -> Any:
        async with server.aclient() as client:
            return await polymodal.aembedding(
                "openai/text-embedding-3-small", texts, api_key=KEY, client=client
            )

    result = asyncio.run(run())
    assert sorted(len(b["input"]) for b in server.bodies) == [4, 2048, 2048]
    assert [d.embedding[0] for d in result.data] == [float(i) for i in range(4100)]
    assert result.usage.total_tokens == 8200


def test_a_server_returning_too_few_vectors_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0]}], "model": "m"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with pytest.raises(errors.InternalServerError, match="returned 1 embeddings for 2 inputs"):
        polymodal.embedding("openai/text-embedding-3-small", ["a", "b"], api_key=KEY,
                            client=client)  # fmt: skip


# --------------------------------------------------------------------------- validation


def _refused(exc: type[errors.PolymodalError], match: str, **kw: Any) -> errors.PolymodalError:
    server = Server()
    with pytest.raises(exc, match=match) as info:
        embed(server, **kw)
    assert server.requests == [], "a refused request must not be sent"
    return info.value


def test_input_type_is_not_an_openai_parameter() -> None:
    err = _refused(errors.UnsupportedParamsError, "input_type: not an OpenAI", input_type="query")
    assert err.param == "input_type"
    assert err.provider == "openai" and err.model == "text-embedding-3-small"
    assert "text-embedding-3-small" in str(err)


def test_input_type_is_dropped_with_drop_params_and_a_warning() -> None:
    server = Server()
    with pytest.warns(DroppedParamWarning, match="input_type"):
        embed(server, input_type="query", drop_params=True)
    assert "input_type" not in server.bodies[0]


def test_module_default_drop_params(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polymodal, "drop_params", True)
    server = Server()
    with pytest.warns(DroppedParamWarning):
        embed(server, input_type="query")
    assert len(server.requests) == 1


def test_unknown_keywords_are_refused_and_extra_body_is_sent() -> None:
    _refused(errors.UnsupportedParamsError, "task_type: not an OpenAI", task_type="x")
    server = Server()
    embed(server, extra_body={"truncate": "END"})
    assert server.bodies[0]["truncate"] == "END"


def test_dimensions_are_refused_for_ada_002() -> None:
    err = _refused(
        errors.UnsupportedParamsError,
        "only text-embedding-3 and later",
        model="openai/text-embedding-ada-002",
        dimensions=256,
    )
    assert err.param == "dimensions"


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "256"])
def test_dimensions_must_be_a_positive_integer(bad: Any) -> None:
    _refused(errors.BadRequestError, "dimensions must be a positive integer", dimensions=bad)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([], "input must be"),
        (None, "input must be"),
        (42, "input must be"),
        (["a", 3], r"input\[1\]"),
        ([["a"]], r"input\[0\]"),
        ([[]], r"input\[0\]"),
        (["ok", ""], r"input\[1\] is an empty string"),
    ],
)
def test_bad_inputs_are_refused_before_io(value: Any, match: str) -> None:
    _refused(errors.BadRequestError, match, input=value)


def test_bad_encoding_format() -> None:
    _refused(errors.BadRequestError, "encoding_format must be", encoding_format="int8")


def test_token_ids_are_refused_for_compatible_servers_unless_allowed() -> None:
    server = Server()
    with pytest.raises(errors.UnsupportedParamsError, match="allow_token_ids=True") as info:
        polymodal.embedding("openai/bge-m3", [1, 2, 3], api_base="http://localhost:9/v1",
                            client=server.client())  # fmt: skip
    assert info.value.param == "input" and server.requests == []
    polymodal.embedding("openai/bge-m3", [1, 2, 3], api_base="http://localhost:9/v1",
                        allow_token_ids=True, client=server.client())  # fmt: skip
    assert server.bodies[0]["input"] == [1, 2, 3]
    assert "allow_token_ids" not in server.bodies[0]


def test_a_chat_model_is_refused_by_the_registry_mode() -> None:
    err = _refused(errors.BadRequestError, "not an embedding model", model="openai/gpt-4o")
    assert "polymodal.completion" in str(err) and err.param == "model"


def test_a_provider_without_embeddings_here() -> None:
    _refused(errors.BadRequestError, "embedding with provider 'anthropic' is not available",
             model="anthropic/claude-3-7-sonnet-latest")  # fmt: skip


# --------------------------------------------------------------------------- endpoints


def test_azure_deployment_url_and_key_header() -> None:
    server = Server()
    polymodal.embedding(
        "azure/my-embeddings",
        "hi",
        api_base="https://res.openai.azure.com",
        api_version="2024-02-01",
        api_key="azure-key",
        client=server.client(),
    )
    request = server.requests[0]
    assert str(request.url) == (
        "https://res.openai.azure.com/openai/deployments/my-embeddings/embeddings"
        "?api-version=2024-02-01"
    )
    assert request.headers["api-key"] == "azure-key"
    assert server.bodies[0]["input"] == "hi"


def test_compatible_server_url_and_no_key_needed() -> None:
    server = Server()
    polymodal.embedding("openai/nomic-embed-text", ["a"], api_base="http://127.0.0.1:9/v1",
                        client=server.client())  # fmt: skip
    assert str(server.requests[0].url) == "http://127.0.0.1:9/v1/embeddings"
    assert "authorization" not in server.requests[0].headers
    assert server.bodies[0]["encoding_format"] == "base64"  # as OpenAI's SDK sends everywhere


def test_a_compatible_server_that_ignores_base64_is_read_as_floats() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"index": 0, "embedding": [0.1, 0.2]}]})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    result = polymodal.embedding("openai/x", "a", api_base="http://h:1/v1", client=client)
    assert result.data[0].embedding == [0.1, 0.2]
    assert result.usage is None


def test_check_keeps_requests_immutable() -> None:
    req = EmbeddingRequest("text-embedding-3-small", ["a"], input_type="query")
    with pytest.warns(DroppedParamWarning):
        checked = api.check(req, dialect="openai", drop_params=True)
    assert req.input_type == "query" and checked.input_type is None


def test_malformed_data_items_are_a_provider_error() -> None:
    with pytest.raises(errors.InternalServerError, match="not objects"):
        api.decode({"data": [[0.1, 0.2]], "model": "m"})
    with pytest.raises(errors.InternalServerError, match="without a data list"):
        api.decode({"object": "list"})
