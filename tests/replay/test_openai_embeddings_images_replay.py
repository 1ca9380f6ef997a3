"""Replay every recorded OpenAI-family embeddings and image-generation interaction.

11 interactions from ``tests/fixtures/recorded`` (real traffic recorded by other projects
against the live APIs; see the README there), by ``provider`` / ``endpoint`` in ``index.json``:

=============  ==================  ============================================  =====
provider       endpoint            files                                         count
=============  ==================  ============================================  =====
openai         embeddings          pydantic-ai TestOpenAI (3 x 200, one 404)     4
azure_openai   embeddings          openllmetry test_azure_openai_embeddings      4
                                   (2 x 200, 2 x 401)
openai         images/generations  dd-trace-py image_create_b64_json (dall-e-2   3
                                   b64, 256x256); vercel-ai openai-image (two
                                   images, b64 trimmed upstream, response only);
                                   vercel-ai gpt-image-response-format-error
                                   (the 400, response only)
=============  ==================  ============================================  =====

Each interaction with a recorded request is replayed end to end through ``polymodal.*`` with an
``httpx.MockTransport`` answering the recorded status, headers and body:

* the request we send is the recorded one (method, URL path and query, body), up to the rules
  in :func:`normalise` (each justified there). The recorded bodies were sent by OpenAI's SDK,
  which asks for ``encoding_format="base64"`` unless told otherwise; so do we.
* what we return is checked against values computed here with independent code (``struct``
  for float32 vectors, the PNG signature and ``IHDR`` for images): vector count, length, order
  and first values; image bytes, ``revised_prompt``, ``created``; for errors the exception class,
  status, provider, model and the provider's own message.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

import polymodal
from polymodal import errors

try:  # tests/replay imported as a package
    from . import _cassettes
except ImportError:  # pytest's default rootdir-relative import: tests/replay is on sys.path
    import _cassettes  # type: ignore[no-redef]


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment a developer (or another test) left set must not steer these requests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "AZURE_API_KEY",
                 "AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT", "AZURE_API_VERSION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


Interaction = _cassettes.Interaction

EMBEDDINGS = _cassettes.load(endpoint="embeddings")
IMAGES = _cassettes.load(endpoint="images/generations")
BY_ID = {it.id: it for it in [*EMBEDDINGS, *IMAGES]}
API_KEY = "sk-test"
AZURE_KEY = "azure-test-key"


def test_every_recorded_interaction_is_here() -> None:
    counts: dict[tuple[str, str], int] = {}
    for it in [*EMBEDDINGS, *IMAGES]:
        counts[(it.provider, it.endpoint)] = counts.get((it.provider, it.endpoint), 0) + 1
    assert counts == {
        ("openai", "embeddings"): 4,
        ("azure_openai", "embeddings"): 4,
        ("openai", "images/generations"): 3,
    }


# --------------------------------------------------------------------------- replaying


class Replayer:
    """A MockTransport handler: records each request, answers with the recording."""

    def __init__(self, it: Interaction) -> None:
        self.it = it
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        dropped = {"content-length", "content-encoding", "transfer-encoding"}
        headers = {k: v for k, v in self.it.response_headers.items() if k not in dropped}
        headers.setdefault("content-type", "application/json")
        return httpx.Response(self.it.status, headers=headers, content=self.it.response_body)


@dataclass
class Call:
    fn: str  # "embedding" | "image_generation"
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


def build_call(it: Interaction) -> Call:
    """The polymodal call a user writes for the recorded request (or response-only fixture)."""
    body = copy.deepcopy(it.request_body) or {}
    if it.endpoint == "embeddings":
        kwargs: dict[str, Any] = {}
        if "dimensions" in body:
            kwargs["dimensions"] = body["dimensions"]
        if it.provider == "azure_openai":
            url = httpx.URL(it.request_uri or "")
            deployment = url.path.split("/openai/deployments/")[1].split("/")[0]
            kwargs |= {
                "api_base": f"{url.scheme}://{url.host}",
                "api_version": parse_qs(url.query.decode())["api-version"][0],
                "api_key": AZURE_KEY,
            }
            return Call("embedding", (f"azure/{deployment}", body["input"]), kwargs)
        kwargs["api_key"] = API_KEY
        return Call("embedding", (f"openai/{body['model']}", body["input"]), kwargs)
    if it.id == "dd-trace-py/image_create_b64_json#0":
        kwargs = {k: body[k] for k in ("n", "response_format", "size", "user")}
        # The recording has no ``model``: the API's default then is dall-e-2 (the spec says so,
        # and 256x256 is a dall-e-2 size); polymodal's default is gpt-image-1, so we name it.
        return Call("image_generation", (body["prompt"],), {"model": "openai/dall-e-2", **kwargs})
    if it.id == "vercel-ai/openai-image":
        kwargs = {"model": "openai/dall-e-2", "n": 2, "response_format": "b64_json"}
        return Call("image_generation", ("A cute baby sea otter",), kwargs)
    if it.id == "vercel-ai/gpt-image-response-format-error":
        # Our pre-flight refuses response_format="url" for gpt-image-1 (see the test below); to
        # let the request reach the recorded server we send the key through extra_body.
        kwargs = {"model": "openai/gpt-image-1", "extra_body": {"response_format": "url"}}
        return Call("image_generation", ("A cute baby sea otter",), kwargs)
    raise AssertionError(f"no call for {it.id}")


def run_sync(it: Interaction) -> tuple[Any, Replayer]:
    call = build_call(it)
    replayer = Replayer(it)
    with httpx.Client(transport=httpx.MockTransport(replayer)) as client:
        kwargs = {"api_key": API_KEY, **call.kwargs, "client": client, "max_retries": 0}
        try:
            result = getattr(polymodal, call.fn)(*call.args, **kwargs)
        except errors.PolymodalError as exc:
            result = exc
    return result, replayer


def run_async(it: Interaction) -> tuple[Any, Replayer]:
    call = build_call(it)
    replayer = Replayer(it)

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(replayer)) as client:
            kwargs = {"api_key": API_KEY, **call.kwargs, "client": client, "max_retries": 0}
            try:
                return await getattr(polymodal, "a" + call.fn)(*call.args, **kwargs)
            except errors.PolymodalError as exc:
                return exc

    return asyncio.run(go()), replayer


# --------------------------------------------------------------------------- the request


def normalise(it: Interaction, recorded: dict[str, Any]) -> dict[str, Any]:
    """The documented normalisation of a recorded body; every rule is minimal and sound."""
    rec = copy.deepcopy(recorded)
    # R1 Azure deployment URLs: the deployment in the path selects the model and the service
    # ignores the body's ``model`` (the SDK sent ``"embedding"`` for deployment
    # ``test-deployment``); we send the deployment name. The URL is compared exactly.
    if it.provider == "azure_openai" and it.request_uri:
        rec["model"] = httpx.URL(it.request_uri).path.split("/")[3]
    # R2 No ``model`` recorded: the API's default applied, dall-e-2 (CreateImageRequest
    # "Defaults to dall-e-2"); we always send the model.
    if it.endpoint == "images/generations" and "model" not in rec:
        rec["model"] = "dall-e-2"
    return rec


WITH_REQUEST = [it for it in [*EMBEDDINGS, *IMAGES] if it.request_body is not None]


def test_requests_with_a_recorded_body() -> None:
    assert len(WITH_REQUEST) == 9


@pytest.mark.parametrize("it", WITH_REQUEST, ids=lambda it: it.id)
def test_request_matches_recording(it: Interaction) -> None:
    _, replayer = run_sync(it)
    assert len(replayer.requests) == 1
    sent = replayer.requests[0]
    assert it.request_method is not None and it.request_uri is not None and it.request_body
    want = httpx.URL(it.request_uri)
    assert sent.method == it.request_method
    assert (sent.url.scheme, sent.url.host, sent.url.path) == (want.scheme, want.host, want.path)
    assert parse_qs(sent.url.query.decode()) == parse_qs(want.query.decode())
    assert json.loads(sent.content) == normalise(it, it.request_body)


# --------------------------------------------------------------------------- the response


def floats32(b64: str) -> list[float]:
    raw = base64.b64decode(b64)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def expected_vectors(it: Interaction) -> list[list[float]]:
    body = it.response_json()
    items = sorted(body["data"], key=lambda d: d["index"])
    return [
        floats32(d["embedding"]) if isinstance(d["embedding"], str) else d["embedding"]
        for d in items
    ]


OK_EMBEDDINGS = [it for it in EMBEDDINGS if it.status == 200]
ERRORS = [it for it in [*EMBEDDINGS, *IMAGES] if it.status >= 400]


@pytest.mark.parametrize("it", OK_EMBEDDINGS, ids=lambda it: it.id)
def test_embeddings_decode_as_recorded(it: Interaction) -> None:
    result, _ = run_sync(it)
    assert isinstance(result, polymodal.results.EmbeddingResponse), result
    want = expected_vectors(it)
    got = [d.embedding for d in result.data]
    sent_input = (it.request_body or {})["input"]
    assert len(got) == len(want) == (len(sent_input) if isinstance(sent_input, list) else 1)
    assert [len(v) for v in got] == [len(v) for v in want]
    assert got == want  # every value, in input order
    body = it.response_json()
    assert result.usage.prompt_tokens == body["usage"]["prompt_tokens"]
    assert result.usage.total_tokens == body["usage"]["total_tokens"]
    assert result.model == body["model"]


def test_recorded_embedding_facts() -> None:
    """Spot values read off the recordings by eye, so the oracle above is itself pinned."""
    query, documents, dims = (
        BY_ID["pydantic-ai/TestOpenAI.test_query#0"],
        BY_ID["pydantic-ai/TestOpenAI.test_documents#0"],
        BY_ID["pydantic-ai/TestOpenAI.test_instrumentation#0"],
    )
    q = run_sync(query)[0].data
    assert len(q) == 1 and len(q[0].embedding) == 1536
    assert q[0].embedding[0] == struct.unpack("<f", base64.b64decode("sDqdvA=="))[0]
    assert round(q[0].embedding[0], 6) == -0.019193
    d = run_sync(documents)[0].data
    assert len(d) == 2 and d[0].embedding != d[1].embedding
    assert [len(run_sync(dims)[0].data[0].embedding)] == [128]
    azure = run_sync(BY_ID["openllmetry/test_azure_openai_embeddings#0"])[0]
    assert len(azure.data) == 1 and len(azure.data[0].embedding) == 3072
    assert azure.model == "text-embedding-3-large"  # what deployment "test-deployment" serves


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(b64: str) -> tuple[int, int]:
    raw = base64.b64decode(b64[:32])  # signature + IHDR length/type/width/height
    assert raw[:8] == PNG_SIGNATURE and raw[12:16] == b"IHDR"
    width, height = struct.unpack(">II", raw[16:24])
    return width, height


def test_dd_trace_dall_e_2_b64_image() -> None:
    it = BY_ID["dd-trace-py/image_create_b64_json#0"]
    result, _ = run_sync(it)
    body = it.response_json()
    assert result.created == body["created"] == 1685642324
    assert len(result.data) == 1
    assert result.data[0].b64_json == body["data"][0]["b64_json"]
    assert result.data[0].url is None
    image = base64.b64decode(result.data[0].b64_json)
    assert image.startswith(PNG_SIGNATURE) and image.endswith(b"IEND\xaeB`\x82")
    assert png_size(result.data[0].b64_json) == (256, 256)  # the size asked for


def test_vercel_openai_image_two_images_trimmed_upstream() -> None:
    it = BY_ID["vercel-ai/openai-image"]
    result, _ = run_sync(it)
    body = it.response_json()
    assert result.created == 1770935200
    assert [d.b64_json for d in result.data] == [d["b64_json"] for d in body["data"]]
    assert result.data[0].revised_prompt == body["data"][0]["revised_prompt"]
    assert result.data[0].revised_prompt.startswith("A small and adorable baby sea otter.")
    assert result.data[1].revised_prompt is None
    assert result.revised_prompt == result.data[0].revised_prompt
    # The base64 was trimmed upstream: the header still reads as a 1024x1024 PNG.
    assert [png_size(d.b64_json) for d in result.data] == [(1024, 1024), (1024, 1024)]


EXPECTED_ERRORS: dict[str, tuple[type[errors.PolymodalError], str, str]] = {
    "pydantic-ai/TestOpenAI.test_embed_error#0": (
        errors.NotFoundError,
        "nonexistent",
        "The model `nonexistent` does not exist or you do not have access to it.",
    ),
    "openllmetry/test_azure_openai_embeddings#2": (
        errors.AuthenticationError,
        "test-deployment",
        "Access denied due to invalid subscription key",
    ),
    "openllmetry/test_azure_openai_embeddings#3": (
        errors.AuthenticationError,
        "test-deployment",
        "Access denied due to invalid subscription key",
    ),
    "vercel-ai/gpt-image-response-format-error": (
        errors.UnsupportedParamsError,
        "gpt-image-1",
        "Unknown parameter: 'response_format'.",
    ),
}


@pytest.mark.parametrize("it", ERRORS, ids=lambda it: it.id)
def test_errors_map_as_recorded(it: Interaction) -> None:
    cls, model, message = EXPECTED_ERRORS[it.id]
    for result, _ in (run_sync(it), run_async(it)):
        assert type(result) is cls, result
        assert result.status_code == it.status
        assert result.provider == ("azure" if it.provider == "azure_openai" else "openai")
        assert result.model == model
        assert message in result.message


def test_our_preflight_refuses_what_openai_refused_for_gpt_image() -> None:
    """The recorded 400 is OpenAI's own verdict on response_format for GPT image models; we
    give it before any I/O, naming the parameter and the model."""
    it = BY_ID["vercel-ai/gpt-image-response-format-error"]
    recorded = it.response_json()["error"]
    replayer = Replayer(it)
    with (
        httpx.Client(transport=httpx.MockTransport(replayer)) as client,
        pytest.raises(errors.UnsupportedParamsError) as info,
    ):
        polymodal.image_generation("A cute baby sea otter", model="openai/gpt-image-1",
                                   response_format="url", api_key=API_KEY, client=client)  # fmt: skip
    assert replayer.requests == []
    assert info.value.param == recorded["param"] == "response_format"
    assert "gpt-image-1" in str(info.value)


ASYNC_CASES = [*OK_EMBEDDINGS, BY_ID["dd-trace-py/image_create_b64_json#0"]]


@pytest.mark.parametrize("it", ASYNC_CASES, ids=lambda it: it.id)
def test_async_twins_decode_the_same(it: Interaction) -> None:
    sync_result, _ = run_sync(it)
    async_result, replayer = run_async(it)
    assert async_result.model_dump() == sync_result.model_dump()
    assert json.loads(replayer.requests[0].content) == normalise(it, it.request_body or {})
