"""Replay every recorded OpenAI-format chat/completions interaction through ``polymodal.completion``.

83 interactions from ``tests/fixtures/recorded`` (real traffic recorded by other projects against
the live APIs; see the README there), by ``provider`` in ``index.json``:

=====================  ==========  =========  =====
provider               non-stream  streaming  total
=====================  ==========  =========  =====
openai                 30 (6 err)  4          34
azure_openai           19 (4 err)  6          25
openai_compatible      12 (3 err)  10         22
gemini_openai_compat   2           0          2
=====================  ==========  =========  =====

(``err`` counts 4xx replies, plus Azure's ``content_filter`` error body that upstream stored with
status 200: its own ``error.status`` says 400 and it is replayed with that status.)

Each interaction is replayed twice, both times end to end through ``polymodal.completion`` with an
``httpx.MockTransport`` that answers with the recorded status, headers and body:

* ``test_request_matches_recording`` rebuilds the call from the recorded request body (it *is*
  OpenAI format) and checks that the body we send is the recorded one, up to the normalisation
  rules in :func:`normalise_pair` (each one justified there), and that method, URL path and query
  are the recorded ones. 82 interactions: the vercel-ai fixture is response-only.
* ``test_response_matches_recording`` checks what we return against values computed here, with
  small independent code, from the recorded response body: content, tool calls, finish reason,
  usage and reasoning text; for streams the assembled content / tool calls / finish reason / usage
  and that our last chunk carries finish_reason and usage (API.md); for errors the exception class
  with status_code, provider, model and the provider's own message.

A few interactions are replayed again through ``polymodal.acompletion`` with an
``httpx.AsyncClient`` (non-stream, stream, error).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

import polymodal
from polymodal import errors
from polymodal.openai_format import CHAT_PARAMS

try:  # tests/replay imported as a package
    from . import _cassettes
except ImportError:  # pytest's default rootdir-relative import: tests/replay is on sys.path
    import _cassettes  # type: ignore[no-redef]

Interaction = _cassettes.Interaction

CHAT = _cassettes.load(endpoint="chat/completions")
WITH_REQUEST = [it for it in CHAT if it.request_body is not None]
BY_ID = {it.id: it for it in CHAT}

EXPECTED_COUNTS = {
    ("openai", False): 30,
    ("openai", True): 4,
    ("azure_openai", False): 19,
    ("azure_openai", True): 6,
    ("openai_compatible", False): 12,
    ("openai_compatible", True): 10,
    ("gemini_openai_compat", False): 2,
}

# The request keys the official spec knows (CreateChatCompletionRequest, read from the copied
# OpenAPI extract): these are passed as keyword arguments; any other key in a recorded body is a
# server-specific extension (e.g. OpenRouter's ``reasoning``) and goes into ``extra_body``, which
# is how a user sends such keys.
SPEC_KEYS = frozenset(_cassettes.openai_request_properties("CreateChatCompletionRequest"))

API_KEY = "sk-test"
AZURE_KEY = "azure-test-key"


def test_interaction_counts() -> None:
    """A lost or added cassette changes these numbers: update the module docstring with them."""
    counts: dict[tuple[str, bool], int] = {}
    for it in CHAT:
        counts[(it.provider, it.streaming)] = counts.get((it.provider, it.streaming), 0) + 1
    assert counts == EXPECTED_COUNTS
    assert len(CHAT) == 83
    assert len(WITH_REQUEST) == 82
    assert len(BY_ID) == len(CHAT), "interaction ids must be unique"


# --------------------------------------------------------------------------- replay plumbing


class Replayer:
    """A MockTransport handler: records each request, answers with the recording."""

    def __init__(self, it: Interaction, status: int | None = None) -> None:
        self.it = it
        self.status = it.status if status is None else status
        self.requests: list[httpx.Request] = []

    def headers(self) -> dict[str, str]:
        # Framing headers describe the original wire bytes, not the (possibly re-serialised,
        # already decompressed) body we hand back, so they are not replayed. Some sources strip
        # every header: then content-type is what the endpoint sends (SSE for streams).
        dropped = {"content-length", "content-encoding", "transfer-encoding"}
        out = {k: v for k, v in self.it.response_headers.items() if k not in dropped}
        if not out.get("content-type"):
            out["content-type"] = "text/event-stream" if self.it.streaming else "application/json"
        return out

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, headers=self.headers(), content=self.it.response_body)

    @property
    def sent_body(self) -> dict[str, Any]:
        assert len(self.requests) == 1, f"expected one request, got {len(self.requests)}"
        body = json.loads(self.requests[0].content)
        assert isinstance(body, dict)
        return body


@dataclass
class Call:
    model: str
    messages: list[Any]
    stream: bool
    kwargs: dict[str, Any] = field(default_factory=dict)
    provider: str = "openai"  # polymodal's provider name, as errors report it
    route_model: str = ""  # the model part of the model string, as errors report it


def _base_of(uri: str) -> str:
    url = httpx.URL(uri)
    path = re.sub(r"/chat/completions$", "", url.path)
    return f"{url.scheme}://{url.netloc.decode()}{path}"


def build_call(it: Interaction, *, lenient: bool = False) -> Call:
    """The ``polymodal.completion`` call a user would make to send the recorded request.

    ``lenient=True`` routes keys polymodal refuses as parameters into ``extra_body``, so that the
    response checks run even where the request test shows a parameter bug.
    """
    if it.request_body is None:
        # vercel-ai stored only the response of this error (``param: max_tokens`` on a reasoning
        # model); a minimal call of that shape stands in for the unrecorded request.
        return Call(
            "openai/o3-mini",
            [{"role": "user", "content": "Hi"}],
            False,
            {"api_key": API_KEY, "max_tokens": 100},
            "openai",
            "o3-mini",
        )
    body = copy.deepcopy(it.request_body)
    model = body.pop("model")
    messages = body.pop("messages")
    stream = bool(body.pop("stream", False))
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in body.items():
        accepted = key in SPEC_KEYS and (not lenient or key in CHAT_PARAMS)
        (kwargs if accepted else extra)[key] = value
    if extra:
        kwargs["extra_body"] = extra
    assert it.request_uri is not None
    if it.provider == "azure_openai":
        url = httpx.URL(it.request_uri)
        found = re.search(r"/openai/deployments/([^/]+)/chat/completions$", url.path)
        assert found, it.request_uri
        deployment = found.group(1)
        kwargs |= {
            "api_base": f"{url.scheme}://{url.netloc.decode()}",
            "api_version": url.params["api-version"],
            "api_key": AZURE_KEY,
        }
        return Call(f"azure/{deployment}", messages, stream, kwargs, "azure", deployment)
    kwargs["api_key"] = API_KEY
    if it.provider != "openai":  # OpenAI-compatible servers, Gemini's /v1beta/openai endpoint
        kwargs["api_base"] = _base_of(it.request_uri)
    return Call(f"openai/{model}", messages, stream, kwargs, "openai", model)


def run_sync(it: Interaction, call: Call, status: int | None = None) -> tuple[Any, Replayer]:
    """Run the call; returns (ChatCompletion | list of chunks | raised PolymodalError, replayer)."""
    replayer = Replayer(it, status)
    with httpx.Client(transport=httpx.MockTransport(replayer)) as client:
        try:
            result = polymodal.completion(
                call.model,
                call.messages,
                stream=call.stream,
                client=client,
                max_retries=0,
                **call.kwargs,
            )
            if call.stream:
                result = list(result)
        except errors.PolymodalError as exc:
            result = exc
    return result, replayer


async def run_async(it: Interaction, call: Call, status: int | None = None) -> tuple[Any, Replayer]:
    replayer = Replayer(it, status)
    async with httpx.AsyncClient(transport=httpx.MockTransport(replayer)) as client:
        try:
            result = await polymodal.acompletion(
                call.model,
                call.messages,
                stream=call.stream,
                client=client,
                max_retries=0,
                **call.kwargs,
            )
            if call.stream:
                result = [chunk async for chunk in result]
        except errors.PolymodalError as exc:
            result = exc
    return result, replayer


# --------------------------------------------------------------------------- request equivalence


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def normalise_pair(
    it: Interaction, recorded: dict[str, Any], sent: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The documented normalisation; every rule is minimal and says why it is sound."""
    rec = copy.deepcopy(recorded)
    ours = copy.deepcopy(sent)
    # R1 null == absent. Every nullable key of the Chat Completions request is optional and null
    # means "not given" (e.g. assistant ``content: null`` beside ``tool_calls``; the huggingface
    # recording's ``name: null`` / ``tool_calls: null`` / ``image_url: null`` in a text part).
    # Applied to both sides.
    rec, ours = _drop_nulls(rec), _drop_nulls(ours)
    # R2 ``stream: false`` is the API default; we omit it (the recording's SDKs spell it out).
    if rec.get("stream") is False:
        del rec["stream"]
    # R3 For openai/azure streams we add ``stream_options: {"include_usage": true}`` so the last
    # chunk carries usage (documented in _chat.prepare_chat and API.md). Only dropped when the
    # recording had no stream_options at all and ours is exactly that value.
    if (
        it.provider in ("openai", "azure_openai")
        and rec.get("stream") is True
        and "stream_options" not in rec
        and ours.get("stream_options") == {"include_usage": True}
    ):
        del ours["stream_options"]
    # R4 ``tools: []`` declares no tools: same as absent (huggingface recording).
    if rec.get("tools") == []:
        del rec["tools"]
    # R5 Mistral spellings (test_tool_choice_matrix[required-mistral]): Mistral documents
    # ``tool_choice`` "any" and "required" as synonyms, and a tool without ``type`` is a function
    # tool (the only type there is); we send the OpenAI spellings.
    if rec.get("tool_choice") == "any":
        rec["tool_choice"] = "required"
    for tool in rec.get("tools") or ():
        if "function" in tool and "type" not in tool:
            tool["type"] = "function"
    # R6 Azure deployment URLs: the deployment in the path selects the model and the service
    # ignores the body's ``model``; the SDK behind dd-trace-py sent the underlying model name
    # (``gpt-35-turbo`` for deployment ``test-openai``), we send the deployment name. The
    # recorded value is replaced by the deployment from the recorded URL (the URL itself is
    # compared exactly), so our ``model`` is still checked.
    if it.provider == "azure_openai" and it.request_uri:
        found = re.search(r"/openai/deployments/([^/]+)/", httpx.URL(it.request_uri).path)
        if found:
            rec["model"] = found.group(1)
    return rec, ours


def _norm_path(path: str) -> str:
    # The dd-trace-py Azure cassettes were recorded with a base URL ending in "/", giving
    # "//openai/deployments/..." on the wire; the resource is the same.
    return re.sub(r"/{2,}", "/", path)


@pytest.mark.parametrize("it", WITH_REQUEST, ids=lambda it: it.id)
def test_request_matches_recording(it: Interaction) -> None:
    call = build_call(it)
    result, replayer = run_sync(it, call)
    assert replayer.requests, f"no request was sent: {result!r}"
    sent = replayer.requests[0]
    assert it.request_method is not None and it.request_uri is not None
    assert sent.method == it.request_method
    recorded_url = httpx.URL(it.request_uri)
    assert _norm_path(sent.url.path) == _norm_path(recorded_url.path)
    assert parse_qs(sent.url.query.decode()) == parse_qs(recorded_url.query.decode())
    assert sent.headers["content-type"].startswith("application/json")
    if call.provider == "azure":
        assert sent.headers.get("api-key") == AZURE_KEY
    else:
        assert sent.headers.get("authorization") == f"Bearer {API_KEY}"
    assert it.request_body is not None
    rec, ours = normalise_pair(it, it.request_body, replayer.sent_body)
    assert ours == rec


# --------------------------------------------------------------------------- oracles


@dataclass
class ExpectedUsage:
    prompt: int
    completion: int
    total: int
    cached: int | None
    reasoning: int | None


def expected_usage(raw: Any) -> ExpectedUsage | None:
    if not isinstance(raw, dict):
        return None
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    cached = prompt_details.get("cached_tokens")
    if cached is None:
        cached = raw.get("prompt_cache_hit_tokens")  # DeepSeek documents this spelling
    return ExpectedUsage(
        raw["prompt_tokens"],
        raw["completion_tokens"],
        raw["total_tokens"],
        cached,
        completion_details.get("reasoning_tokens"),
    )


def check_usage(got: Any, want: ExpectedUsage | None) -> None:
    if want is None:
        assert got is None
        return
    assert got is not None, "the recording has usage, we returned none"
    assert (got.prompt_tokens, got.completion_tokens, got.total_tokens) == (
        want.prompt,
        want.completion,
        want.total,
    )
    prompt_details = got.prompt_tokens_details
    cached = prompt_details.cached_tokens if prompt_details is not None else None
    assert cached == want.cached
    completion_details = got.completion_tokens_details
    reasoning = completion_details.reasoning_tokens if completion_details is not None else None
    assert reasoning == want.reasoning


def _reasoning_of(obj: dict[str, Any]) -> str | None:
    for key in ("reasoning_content", "reasoning"):
        if isinstance(obj.get(key), str) and obj[key]:
            return str(obj[key])
    return None


def _args(text: str | None) -> Any:
    return json.loads(text) if text else {}


def check_completion(it: Interaction, got: Any) -> None:
    body = it.response_json()
    (choice,) = body["choices"]  # every recording here has exactly one choice
    msg = choice.get("message") or {}
    assert len(got.choices) == 1
    mine = got.choices[0]
    assert mine.message.content == msg.get("content")
    assert (mine.finish_reason or None) == (choice.get("finish_reason") or None)
    assert mine.message.reasoning_content == _reasoning_of(msg)
    want_calls = msg.get("tool_calls") or []
    got_calls = mine.message.tool_calls or []
    assert len(got_calls) == len(want_calls)
    for g, w in zip(got_calls, want_calls, strict=True):
        if w.get("id"):
            assert g.id == w["id"]
        else:  # Gemini's compat endpoint sends id "": we must still give one
            assert isinstance(g.id, str) and g.id
        assert g.function.name == w["function"]["name"]
        assert _args(g.function.arguments) == _args(w["function"].get("arguments"))
    check_usage(got.usage, expected_usage(body.get("usage")))
    if body.get("prompt_filter_results") is not None:  # Azure: must reach the user
        psf = got.provider_specific_fields or {}
        assert psf.get("prompt_filter_results") == body["prompt_filter_results"]


@dataclass
class StreamOracle:
    content: str = ""
    reasoning: str = ""
    # tool index -> [first id, names seen (each distinct delta), arguments text]
    calls: dict[int, list[Any]] = field(default_factory=dict)
    finish: str | None = None
    usage: ExpectedUsage | None = None


def stream_oracle(payloads: list[dict[str, Any]]) -> StreamOracle:
    out = StreamOracle()
    for p in payloads:
        for choice in p.get("choices") or ():
            assert choice.get("index", 0) == 0, "single-choice recordings only"
            delta = choice.get("delta") or {}
            out.content += delta.get("content") or ""
            out.reasoning += _reasoning_of(delta) or ""
            for pos, call in enumerate(delta.get("tool_calls") or ()):
                slot = out.calls.setdefault(call.get("index", pos), [None, None, ""])
                slot[0] = slot[0] or call.get("id") or None
                fn = call.get("function") or {}
                # Some servers repeat the name in later deltas (README caveat): it is one name.
                slot[1] = slot[1] or fn.get("name") or None
                slot[2] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                out.finish = choice["finish_reason"]
        if isinstance(p.get("usage"), dict):
            out.usage = expected_usage(p["usage"])
    return out


def check_chunks(it: Interaction, chunks: list[Any]) -> None:
    want = stream_oracle(it.sse_payloads())
    assert chunks, "the stream yielded nothing"
    content = reasoning = ""
    calls: dict[int, list[Any]] = {}  # index -> [ids, names, arguments]
    finishes: list[str] = []
    for chunk in chunks:
        for choice in chunk.choices:
            assert choice.index == 0
            delta = choice.delta
            content += delta.content or ""
            reasoning += delta.reasoning_content or ""
            for tc in delta.tool_calls or ():
                slot = calls.setdefault(tc.index, [[], [], ""])
                if tc.id is not None:
                    slot[0].append(tc.id)
                if tc.function is not None and tc.function.name is not None:
                    slot[1].append(tc.function.name)
                if tc.function is not None and tc.function.arguments is not None:
                    slot[2] += tc.function.arguments
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    assert content == want.content
    assert reasoning == want.reasoning
    assert sorted(calls) == sorted(want.calls)
    for index, (want_id, want_name, want_args) in want.calls.items():
        ids, names, args = calls[index]
        assert ids, f"tool call {index} never got an id"
        if want_id:
            assert ids[0] == want_id
        assert names == [want_name], f"tool call {index}: the name must be sent exactly once"
        assert _args(args) == _args(want_args)  # missing / empty arguments -> "{}"
    last = chunks[-1]
    if want.finish is None:
        assert finishes == []
    else:
        assert finishes[-1] == want.finish
        assert [c.finish_reason for c in last.choices] == [want.finish], (
            "the last chunk must carry the finish_reason (API.md)"
        )
    if want.usage is None:
        assert all(c.usage is None for c in chunks)
    else:
        assert last.usage is not None, "the last chunk must carry the usage (API.md)"
        check_usage(last.usage, want.usage)


@dataclass
class ExpectedError:
    cls: type[errors.PolymodalError]
    exact: bool
    status: int
    message: str


def expected_error(it: Interaction) -> ExpectedError | None:
    """From the recording: an error reply (4xx/5xx), or an error body stored with status 200."""
    body = it.response_json() if not it.streaming else None
    err = body.get("error") if isinstance(body, dict) else None
    if it.status < 400 and not (isinstance(err, dict) and "choices" not in body):
        return None
    assert isinstance(err, dict), "every recorded error here has an OpenAI-style error object"
    # Azure's content_filter body was stored with status 200 upstream (README caveat); its own
    # ``error.status`` says what the service sent.
    status = it.status if it.status >= 400 else int(err["status"])
    code = str(err.get("code") or "")
    table: dict[int, type[errors.PolymodalError]] = {
        401: errors.AuthenticationError,
        403: errors.PermissionDeniedError,
        404: errors.NotFoundError,
        429: errors.RateLimitError,
        503: errors.ServiceUnavailableError,
    }
    if status == 400 and code in ("content_filter", "content_policy_violation"):
        return ExpectedError(errors.ContentPolicyViolationError, True, status, err["message"])
    if status == 400 and code == "context_length_exceeded":
        return ExpectedError(errors.ContextWindowExceededError, True, status, err["message"])
    if status == 400 and code in ("unsupported_parameter", "unknown_parameter"):
        return ExpectedError(errors.UnsupportedParamsError, True, status, err["message"])
    if status in table:
        return ExpectedError(table[status], True, status, err["message"])
    if 400 <= status < 500:
        return ExpectedError(errors.BadRequestError, False, status, err["message"])
    return ExpectedError(errors.InternalServerError, False, status, err["message"])


def check_error(call: Call, got: Any, want: ExpectedError) -> None:
    assert isinstance(got, errors.PolymodalError), f"expected {want.cls.__name__}, got {got!r}"
    if want.exact:
        assert type(got) is want.cls, f"expected {want.cls.__name__}, got {got!r}"
    else:
        assert isinstance(got, want.cls)
    assert got.status_code == want.status
    assert got.provider == call.provider
    assert got.model == call.route_model
    assert want.message in got.message


def check_response(it: Interaction, call: Call, result: Any) -> None:
    want_error = expected_error(it)
    if want_error is not None:
        check_error(call, result, want_error)
        return
    assert not isinstance(result, Exception), f"unexpected error: {result!r}"
    if it.streaming:
        check_chunks(it, result)
    else:
        check_completion(it, result)


def _status(it: Interaction) -> int | None:
    want = expected_error(it)
    return want.status if want is not None else None


@pytest.mark.parametrize("it", CHAT, ids=lambda it: it.id)
def test_response_matches_recording(it: Interaction) -> None:
    call = build_call(it, lenient=True)
    result, replayer = run_sync(it, call, _status(it))
    assert len(replayer.requests) == 1
    check_response(it, call, result)


def test_azure_error_body_with_status_200_still_raises() -> None:
    """The stored (edited) status 200 with Azure's error body: the body alone must not read as a
    completion. Its own ``error.status`` (400) and ``code`` (content_filter) say what it is."""
    it = BY_ID["openllmetry/test_prompt_content_filtering#0"]
    assert it.status == 200
    call = build_call(it, lenient=True)
    result, _ = run_sync(it, call)  # replayed with the recorded 200
    want = expected_error(it)
    assert want is not None and want.cls is errors.ContentPolicyViolationError
    check_error(call, result, want)


# --------------------------------------------------------------------------- async sample

ASYNC_SAMPLE = [
    "pydantic-ai/test_tool_choice_matrix[required-openai]#0",  # non-stream, tool call
    "openllmetry/test_chat_reasoning#0",  # azure, non-stream, reasoning tokens
    "pydantic-ai/test_run_stream_sync_streams_real_model#0",  # openai stream, tool call + usage
    "llm/test_tools_streaming_variant_a#0",  # compatible stream, repeated name deltas
    "dd-trace-py/completion_azure_stream#0",  # azure stream with usage
    "openinference/test_error_status_code_and_exception_events_with_invalid_api_key#0",  # 401
    "pydantic-ai/test_openrouter_errors_raised#0",  # 429 (no retries: max_retries=0)
    "openllmetry/test_prompt_content_filtering#0",  # Azure content_filter, replayed with 400
]


@pytest.mark.parametrize("it_id", ASYNC_SAMPLE)
async def test_async_response_matches_recording(it_id: str) -> None:
    it = BY_ID[it_id]
    call = build_call(it, lenient=True)
    result, replayer = await run_async(it, call, _status(it))
    assert len(replayer.requests) == 1
    check_response(it, call, result)
    if it.request_body is not None:
        rec, ours = normalise_pair(it, it.request_body, replayer.sent_body)
        assert ours == rec


def test_async_sample_covers_each_mode() -> None:
    sample = [BY_ID[i] for i in ASYNC_SAMPLE]
    assert any(not it.streaming and expected_error(it) is None for it in sample)
    assert any(it.streaming for it in sample)
    assert any(expected_error(it) is not None for it in sample)


# --------------------------------------------------------------------------- the oracles can fail

Mutator = Callable[[dict[str, Any]], None]


def _mutated(it: Interaction, mutate: Mutator) -> Interaction:
    body = json.loads(it.response_body)
    mutate(body)
    return Interaction(**{**_fields(it), "response_body": json.dumps(body).encode()})


def _fields(it: Interaction) -> dict[str, Any]:
    return {name: getattr(it, name) for name in it.__dataclass_fields__}


def _set_content(body: dict[str, Any]) -> None:
    body["choices"][0]["message"]["content"] = "something else"


def _set_tokens(body: dict[str, Any]) -> None:
    body["usage"]["prompt_tokens"] += 1


def _body_mutations(body: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in (("temperature", 0.5), ("stream", True), ("n", 2), ("model", "other")):
        changed = copy.deepcopy(body)
        changed[key] = value
        out.append(changed)
    changed = copy.deepcopy(body)
    changed["messages"][-1]["content"] = "something else"
    out.append(changed)
    changed = copy.deepcopy(body)
    changed["messages"].append({"role": "user", "content": None})
    out.append(changed)
    return out


@pytest.mark.parametrize(
    "it_id",
    [
        "pydantic-ai/test_tool_choice_matrix[required-openai]#0",
        "dd-trace-py/azure_chat_completion#0",
        "pydantic-ai/test_tool_choice_matrix[required-mistral]#0",
    ],
)
def test_request_normalisation_keeps_real_differences(it_id: str) -> None:
    """Guard against a normalisation that hides differences: a changed body never compares
    equal to the recorded one."""
    it = BY_ID[it_id]
    assert it.request_body is not None
    for changed in _body_mutations(it.request_body):
        rec, ours = normalise_pair(it, it.request_body, changed)
        if changed["model"] == "other" and it.provider == "azure_openai":
            assert ours["model"] != rec["model"]  # R6 pins ours to the URL's deployment
        else:
            assert rec != ours


@pytest.mark.parametrize("mutate", [_set_content, _set_tokens])
def test_completion_oracle_rejects_a_different_answer(mutate: Mutator) -> None:
    """Guard against a vacuous oracle: a result decoded from one body fails against another."""
    it = BY_ID["pydantic-ai/test_openai_instructions#0"]
    call = build_call(it, lenient=True)
    result, _ = run_sync(it, call)
    check_completion(it, result)
    with pytest.raises(AssertionError):
        check_completion(_mutated(it, mutate), result)
