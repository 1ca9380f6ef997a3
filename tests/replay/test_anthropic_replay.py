"""Replay of every recorded Anthropic Messages interaction (``tests/fixtures/recorded``).

For each recorded interaction (53: 39 non-streaming, 13 streaming, 1 ``count_tokens``):

* decode: the recorded response goes through ``anthropic_messages.decode`` (JSON) or
  ``StreamDecoder.feed`` (the SSE ``data:`` payloads), and the text, tool calls, thinking text and
  signatures, redacted thinking, web citations, finish reason and usage are compared with values
  this module computes from the recorded body with its own simple code (:func:`expected`; a
  stream is first folded into the final message the way Anthropic's streaming docs describe);
* full path: ``polymodal.completion`` against an ``httpx.MockTransport`` that answers with the
  recorded status and body — the request must go to ``/v1/messages`` with ``x-api-key`` and
  ``anthropic-version``, the OpenAI-shaped result (or the chunks, whose last one must carry both
  ``finish_reason`` and ``usage``) must match the same expectations, and the error responses
  must raise the class their Anthropic error type names;
* encode: where the recorded request uses only features the OpenAI format expresses, the test
  rewrites it as OpenAI-format input (:func:`to_openai`) and our encoder must produce a body equal
  to the recorded one after these normalisations (:func:`normalise`): ``"stream": false`` is
  dropped (absent means false), ``"is_error": false`` is dropped from tool results (absent means
  false), and consecutive same-role turns are merged (the API treats them as one turn; we always
  merge). A ``cache_control`` breakpoint on a message's last block is written as the OpenAI-format
  message-level ``cache_control``. Requests skipped for equivalence, with the Anthropic-only
  feature they use: a ``role: "system"`` turn inside ``messages`` (pydantic-ai
  ``inline_system_prompt_cache_prefix_is_reused`` #0/#1), ``output_config.effort``
  (``explicit_effort_xhigh_unsupported_model_errors``) and the ``count_tokens`` endpoint.

``count_tokens`` is listed but its decode is skipped: its response is ``{"input_tokens": N}``,
which no chat decoder reads (polymodal has no token-counting call yet).
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

import polymodal
from polymodal import errors
from polymodal.apis import anthropic_messages
from polymodal.openai_format import parse_chat

try:  # tests/replay imported as a package
    from . import _cassettes as cassettes
except ImportError:  # pytest's default rootdir-relative import: tests/replay is on sys.path
    import _cassettes as cassettes  # type: ignore[no-redef]

PROVIDER = "anthropic"
EXPECTED_COUNTS = {
    ("messages", False): 39,
    ("messages", True): 13,
    ("messages/count_tokens", False): 1,
}


# --------------------------------------------------------------------------- inventory


def _scan_entries() -> list[dict[str, Any]]:
    """Index entries for the Anthropic cassettes, built by reading them.

    Used only while ``tests/fixtures/recorded/index.json`` does not list the Anthropic
    interactions yet; the entries match what the shared index says (provider, endpoint from the
    URI, streaming from the request's ``stream`` flag).
    """
    entries = []
    for path in sorted(cassettes.RECORDED.glob("*/anthropic/**/*.yaml")):
        rel = path.relative_to(cassettes.RECORDED).as_posix()
        doc = yaml.safe_load(path.read_bytes())
        for i, item in enumerate(doc["interactions"]):
            req = item["request"]
            uri = urlsplit(req["uri"])
            if uri.hostname != "api.anthropic.com":
                continue  # an auxiliary download recorded in the same cassette
            body = req.get("parsed_body")
            if body is None:
                raw = req.get("body")
                raw = raw.get("string") if isinstance(raw, dict) else raw
                body = json.loads(raw) if raw else {}
            entries.append(
                {
                    "file": rel,
                    "index": i,
                    "provider": PROVIDER,
                    "endpoint": uri.path.removeprefix("/v1/"),
                    "streaming": bool(body.get("stream")),
                    "features": [],
                }
            )
    return entries


def _interactions() -> list[cassettes.Interaction]:
    entries = [e for e in cassettes.index_entries() if e["provider"] == PROVIDER]
    if not entries:
        entries = _scan_entries()
    return [cassettes._load(e) for e in entries]


INTERACTIONS = _interactions()
SUCCESSES = [it for it in INTERACTIONS if it.status == 200]
FAILURES = [it for it in INTERACTIONS if it.status != 200]


def test_inventory() -> None:
    counts: dict[tuple[str, bool], int] = {}
    for it in INTERACTIONS:
        key = (it.endpoint, it.streaming)
        counts[key] = counts.get(key, 0) + 1
    assert counts == EXPECTED_COUNTS
    assert len({it.id for it in INTERACTIONS}) == len(INTERACTIONS)


# --------------------------------------------------------------------------- expectations

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "refusal": "content_filter",
}


def message_from_sse(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Fold stream events into the final message, as Anthropic's streaming docs describe."""
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for p in payloads:
        kind = p["type"]
        if kind == "message_start":
            message = copy.deepcopy(p["message"])
        elif kind == "content_block_start":
            blocks[p["index"]] = copy.deepcopy(p["content_block"])
        elif kind == "content_block_delta":
            block, delta = blocks[p["index"]], p["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] += delta["signature"]
            elif delta["type"] == "input_json_delta":
                partial[p["index"]] = partial.get(p["index"], "") + delta["partial_json"]
            elif delta["type"] == "citations_delta":
                block.setdefault("citations", []).append(delta["citation"])
            else:
                raise AssertionError(f"unexpected delta {delta['type']}")
        elif kind == "content_block_stop":
            if p["index"] in partial:
                text = partial.pop(p["index"])
                blocks[p["index"]]["input"] = json.loads(text) if text else {}
        elif kind == "message_delta":
            message.update(p["delta"])
            message["usage"].update(p["usage"])
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


def expected(message: dict[str, Any]) -> dict[str, Any]:
    content = message["content"]
    texts = [b["text"] for b in content if b["type"] == "text"]
    usage = message["usage"]
    prompt = (
        usage["input_tokens"]
        + (usage.get("cache_read_input_tokens") or 0)
        + (usage.get("cache_creation_input_tokens") or 0)
    )
    return {
        "content": "".join(texts) if texts else None,
        "tool_calls": [
            (b["id"], b["name"], b["input"]) for b in content if b["type"] == "tool_use"
        ],
        "thinking": [(b["thinking"], b["signature"]) for b in content if b["type"] == "thinking"],
        "redacted": [b["data"] for b in content if b["type"] == "redacted_thinking"],
        "urls": [
            (c["url"], c["title"])
            for b in content
            if b["type"] == "text"
            for c in b.get("citations") or ()
            if c["type"] == "web_search_result_location"
        ],
        "finish": FINISH[message["stop_reason"]],
        "native_finish": message["stop_reason"],
        "usage": (prompt, usage["output_tokens"], prompt + usage["output_tokens"]),
        "cached": usage.get("cache_read_input_tokens"),
    }


def recorded_message(it: cassettes.Interaction) -> dict[str, Any]:
    if it.streaming:
        return message_from_sse(it.sse_payloads())
    message: dict[str, Any] = it.response_json()
    return message


def _urls(annotations: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["url_citation"]["url"], a["url_citation"]["title"]) for a in annotations]


# --------------------------------------------------------------------------- decode


def _decode_stream(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    decoder = anthropic_messages.StreamDecoder()
    events = [e for e in (decoder.feed(p) for p in payloads) if e is not None]
    closing = decoder.finish()
    events += [closing] if closing else []
    content, reasoning, signature = "", "", ""
    calls: dict[int, list[Any]] = {}
    redacted: list[str] = []
    annotations: list[dict[str, Any]] = []
    finishes = []
    for event in events:
        if "redacted_thinking" in event.provider_specific_fields:
            redacted.append(event.provider_specific_fields["redacted_thinking"])
        for d in event.choices:
            content += d.content or ""
            reasoning += d.reasoning or ""
            signature += d.reasoning_signature or ""
            annotations += d.annotations
            for t in d.tool_calls:
                call = calls.setdefault(t.index, [None, None, ""])
                call[0] = call[0] or t.id
                call[1] = call[1] or t.name
                call[2] += t.arguments or ""
            if d.finish_reason:
                finishes.append((d.finish_reason, d.native_finish_reason, event.usage))
    assert len(finishes) == 1, "exactly one event finishes the choice"
    finish, native, usage = finishes[0]
    assert usage is not None, "the finish event carries the usage"
    return {
        "content": content,
        "tool_calls": [(c[0], c[1], json.loads(c[2])) for _, c in sorted(calls.items())],
        "reasoning": reasoning,
        "signature": signature,
        "redacted": redacted,
        "urls": _urls(annotations),
        "finish": finish,
        "native_finish": native,
        "usage": (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        "cached": usage.cached_tokens,
        "ids": (events[0].id, events[0].model),
    }


@pytest.mark.parametrize("it", SUCCESSES, ids=lambda it: it.id)
def test_decode(it: cassettes.Interaction) -> None:
    if it.endpoint == "messages/count_tokens":
        pytest.skip("count_tokens answers {'input_tokens': N}: not a chat response")
    message = recorded_message(it)
    want = expected(message)
    if it.streaming:
        got = _decode_stream(it.sse_payloads())
        assert got["content"] == (want["content"] or "")
        assert got["reasoning"] == "".join(t for t, _ in want["thinking"])
        assert got["signature"] == "".join(s for _, s in want["thinking"])
        assert got["ids"] == (message["id"], message["model"])
    else:
        result = anthropic_messages.decode(message)
        choice = result.choices[0]
        assert (result.id, result.model) == (message["id"], message["model"])
        got = {
            "content": choice.content,
            "tool_calls": [(c.id, c.name, json.loads(c.arguments)) for c in choice.tool_calls],
            "redacted": [r.redacted for r in choice.reasoning if r.redacted is not None],
            "urls": _urls(choice.annotations),
            "finish": choice.finish_reason,
            "native_finish": choice.native_finish_reason,
            "usage": (
                result.usage.prompt_tokens,
                result.usage.completion_tokens,
                result.usage.total_tokens,
            )
            if result.usage
            else None,
            "cached": result.usage.cached_tokens if result.usage else None,
        }
        thinking = [(r.text, r.signature) for r in choice.reasoning if r.redacted is None]
        assert thinking == want["thinking"]
        for arguments in (c.arguments for c in choice.tool_calls):
            assert isinstance(json.loads(arguments), dict)
    for key in ("content", "tool_calls", "redacted", "urls", "finish", "native_finish", "usage"):
        if key == "content" and it.streaming:
            continue
        assert got[key] == want[key], key
    assert got["cached"] == want["cached"]


# --------------------------------------------------------------------------- OpenAI-format input


class NotExpressible(Exception):
    """The recorded request uses an Anthropic-only feature the OpenAI format has no words for."""


TOP_LEVEL = {
    "model",
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "stop_sequences",
    "metadata",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "stream",
}


def _data_url(mime: str, data: str) -> str:
    return f"data:{mime};base64,{data}"


def _part(block: dict[str, Any]) -> dict[str, Any]:
    kind, source = block["type"], block.get("source") or {}
    if kind == "text":
        return {"type": "text", "text": block["text"]}
    if kind == "image" and source["type"] == "base64":
        return {
            "type": "image_url",
            "image_url": {"url": _data_url(source["media_type"], source["data"])},
        }
    if kind == "image" and source["type"] == "url":
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    if kind == "document":
        if source["type"] == "base64":
            file = {"file_data": _data_url(source["media_type"], source["data"])}
        elif source["type"] == "url":
            file = {"file_id": source["url"]}
        elif source["type"] == "text":
            encoded = base64.b64encode(source["data"].encode()).decode()
            file = {"file_data": _data_url("text/plain", encoded)}
        else:
            raise NotExpressible(f"document source {source['type']}")
        if "title" in block:
            file["filename"] = block["title"]
        return {"type": "file", "file": file}
    raise NotExpressible(f"content block {kind}")


def _user(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content:
        if block["type"] != "tool_result":
            parts.append(_part(block))
            continue
        if parts:
            out.append({"role": "user", "content": parts})
            parts = []
        if block.get("is_error"):
            raise NotExpressible("tool_result is_error")
        result = block.get("content", "")
        if not isinstance(result, str):
            result = [_part(b) for b in result]
        out.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": result})
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _assistant(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    parts, calls, thinking = [], [], []
    for block in content:
        if block["type"] == "thinking" or block["type"] == "redacted_thinking":
            thinking.append(block)
        elif block["type"] == "tool_use":
            calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": json.dumps(block["input"])},
                }
            )
        else:
            parts.append(_part(block))
    msg: dict[str, Any] = {"role": "assistant", "content": parts or None}
    if calls:
        msg["tool_calls"] = calls
    if thinking:
        msg["thinking_blocks"] = thinking
    return msg


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") not in (None, "custom"):
        return dict(tool)  # a server tool, passed through as a provider-native tool
    fn: dict[str, Any] = {"name": tool["name"], "parameters": tool["input_schema"]}
    if "description" in tool:
        fn["description"] = tool["description"]
    if "strict" in tool:
        fn["strict"] = tool["strict"]
    return {"type": "function", "function": fn}


def _split_cache_control(content: Any) -> tuple[Any, dict[str, Any] | None]:
    """A breakpoint on a message's last block is OpenAI format's message-level cache_control."""
    if isinstance(content, str):
        return content, None
    if any("cache_control" in b for b in content[:-1]):
        raise NotExpressible("cache_control before a message's last block")
    if not content or "cache_control" not in content[-1]:
        return content, None
    last = dict(content[-1])
    control = last.pop("cache_control")
    return [*content[:-1], last], control


def to_openai(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """The OpenAI-format call equivalent to a recorded Messages request."""
    unknown = set(body) - TOP_LEVEL
    if unknown:
        raise NotExpressible(f"top-level {sorted(unknown)}")
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if isinstance(system, str):
        messages.append({"role": "system", "content": system})
    elif system is not None:
        for block in system:
            msg = {"role": "system", "content": block["text"]}
            if "cache_control" in block:
                msg["cache_control"] = block["cache_control"]
            messages.append(msg)
    for m in body["messages"]:
        content, control = _split_cache_control(m["content"])
        if m["role"] == "user":
            converted = _user(content)
        elif m["role"] == "assistant":
            converted = [_assistant(content)]
        else:
            raise NotExpressible(f"role {m['role']} inside messages")
        if control is not None:
            converted[-1]["cache_control"] = control
        messages += converted
    params: dict[str, Any] = {"max_tokens": body["max_tokens"]}
    for key in ("temperature", "top_p", "thinking"):
        if key in body:
            params[key] = body[key]
    if "stop_sequences" in body:
        params["stop"] = body["stop_sequences"]
    if "metadata" in body:
        params["user"] = body["metadata"]["user_id"]
    if "tools" in body:
        params["tools"] = [_tool(t) for t in body["tools"]]
    choice = body.get("tool_choice")
    if choice is not None:
        if choice["type"] == "tool":
            params["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
        else:
            params["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[
                choice["type"]
            ]
        if choice.get("disable_parallel_tool_use"):
            params["parallel_tool_calls"] = False
    if "output_config" in body:
        config = body["output_config"]
        if set(config) != {"format"}:
            raise NotExpressible(f"output_config {sorted(set(config) - {'format'})}")
        schema = config["format"]["schema"]
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": True},
        }
    if body.get("stream"):
        params["stream"] = True
    return body["model"], messages, params


def normalise(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    if body.get("stream") is False:
        del body["stream"]
    merged: list[dict[str, Any]] = []
    for m in body["messages"]:
        for block in m["content"] if isinstance(m["content"], list) else ():
            if block.get("type") == "tool_result" and block.get("is_error") is False:
                del block["is_error"]
        if merged and merged[-1]["role"] == m["role"]:
            prev = merged[-1]
            as_list = [
                [{"type": "text", "text": c}] if isinstance(c, str) else c
                for c in (prev["content"], m["content"])
            ]
            prev["content"] = as_list[0] + as_list[1]
        else:
            merged.append(m)
    body["messages"] = merged
    return body


def openai_call(it: cassettes.Interaction) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    if it.endpoint != "messages":
        raise NotExpressible(f"endpoint {it.endpoint}")
    assert it.request_body is not None
    return to_openai(it.request_body)


def encoded(it: cassettes.Interaction) -> dict[str, Any]:
    model, messages, params = openai_call(it)
    return anthropic_messages.encode(parse_chat(model, messages, params))


@pytest.mark.parametrize("it", INTERACTIONS, ids=lambda it: it.id)
def test_encoder_matches_recorded_request(it: cassettes.Interaction) -> None:
    try:
        body = encoded(it)
    except NotExpressible as exc:
        pytest.skip(f"uses an Anthropic-only feature: {exc}")
    assert it.request_body is not None
    assert body == normalise(it.request_body)


def test_equivalence_coverage() -> None:
    """The skips above are exactly the documented Anthropic-only requests."""
    skipped = []
    for it in INTERACTIONS:
        try:
            openai_call(it)
        except NotExpressible:
            skipped.append(it.id)
    assert sorted(skipped) == sorted(
        [
            "pydantic-ai/test_inline_system_prompt_cache_prefix_is_reused#0",
            "pydantic-ai/test_inline_system_prompt_cache_prefix_is_reused#1",
            "pydantic-ai/test_anthropic_explicit_effort_xhigh_unsupported_model_errors#0",
            "pydantic-ai/test_anthropic_model_usage_limit_not_exceeded#0",
        ]
    )


# --------------------------------------------------------------------------- full path


def _replay(it: cassettes.Interaction, **call: Any) -> tuple[Any, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        ctype = "text/event-stream" if it.streaming and it.status == 200 else "application/json"
        return httpx.Response(it.status, content=it.response_body, headers={"content-type": ctype})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    try:
        model, messages, params = openai_call(it)
        if any(
            isinstance(p, dict) and p.get("type") == "file" and "file_id" in p["file"]
            for m in messages
            if isinstance(m.get("content"), list)
            for p in m["content"]
        ):
            raise NotExpressible("a PDF URL (polymodal would download it first)")
        exact = True
    except NotExpressible:
        assert it.request_body is not None
        model, exact = it.request_body["model"], False
        messages = [{"role": "user", "content": "hello"}]
        params = {"max_tokens": it.request_body.get("max_tokens", 1024)}
    params["stream"] = it.streaming
    result = polymodal.completion(
        f"anthropic/{model}",
        messages,
        client=client,
        api_key="test-key",
        max_retries=0,
        **params,
        **call,
    )
    if it.streaming:
        result = list(result)
    assert len(seen) == 1
    request = seen[0]
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "test-key"
    assert request.headers["anthropic-version"] == "2023-06-01"
    if exact:
        assert it.request_body is not None
        assert json.loads(request.content) == normalise(it.request_body)
    return result, seen


MESSAGES_OK = [it for it in SUCCESSES if it.endpoint == "messages"]


@pytest.mark.parametrize("it", MESSAGES_OK, ids=lambda it: it.id)
def test_completion_replay(it: cassettes.Interaction) -> None:
    want = expected(recorded_message(it))
    result, _ = _replay(it)
    thinking_blocks = [
        {"type": "thinking", "thinking": t, "signature": s} for t, s in want["thinking"]
    ] + [{"type": "redacted_thinking", "data": d} for d in want["redacted"]]
    if not it.streaming:
        message = result.choices[0].message
        assert message.content == want["content"]
        calls = [
            (c.id, c.function.name, json.loads(c.function.arguments))
            for c in message.tool_calls or ()
        ]
        assert calls == want["tool_calls"]
        assert message.reasoning_content == ("".join(t for t, _ in want["thinking"]) or None)
        assert sorted(message.thinking_blocks or (), key=json.dumps) == sorted(
            thinking_blocks, key=json.dumps
        )
        assert _urls(message.annotations or []) == want["urls"]
        assert result.choices[0].finish_reason == want["finish"]
        usage = result.usage
    else:
        content, reasoning = "", ""
        calls_by_index: dict[int, list[Any]] = {}
        for chunk in result:
            for choice in chunk.choices:
                content += choice.delta.content or ""
                reasoning += choice.delta.reasoning_content or ""
                for t in choice.delta.tool_calls or ():
                    call = calls_by_index.setdefault(t.index, [None, None, ""])
                    call[0] = call[0] or t.id
                    call[1] = call[1] or t.function.name
                    call[2] += t.function.arguments or ""
        assert content == (want["content"] or "")
        assert reasoning == "".join(t for t, _ in want["thinking"])
        got_calls = [(c[0], c[1], json.loads(c[2])) for _, c in sorted(calls_by_index.items())]
        assert got_calls == want["tool_calls"]
        last = result[-1]
        assert last.choices and last.choices[0].finish_reason == want["finish"]
        assert all(c.finish_reason is None for chunk in result[:-1] for c in chunk.choices)
        usage = last.usage
        assert {chunk.id for chunk in result} == {recorded_message(it)["id"]}
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == want["usage"]
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None
    assert cached == want["cached"]


ERROR_CLASSES = {
    "authentication_error": errors.AuthenticationError,
    "not_found_error": errors.NotFoundError,
    "invalid_request_error": errors.BadRequestError,
}


@pytest.mark.parametrize("it", FAILURES, ids=lambda it: it.id)
def test_error_replay(it: cassettes.Interaction) -> None:
    body = it.response_json()
    cls = ERROR_CLASSES[body["error"]["type"]]
    with pytest.raises(cls) as info:
        _replay(it)
    assert type(info.value) is cls
    assert info.value.status_code == it.status
    assert info.value.provider == PROVIDER
    assert body["error"]["message"] in str(info.value)


def test_recorded_fixtures_are_self_contained() -> None:
    """Every cassette this module reads lives under tests/fixtures, next to its licence."""
    for it in INTERACTIONS:
        path = cassettes.RECORDED / it.file
        assert path.is_file()
        source = Path(it.file).parts[0]
        assert any((cassettes.RECORDED / source).glob("LICENSE*")), source
