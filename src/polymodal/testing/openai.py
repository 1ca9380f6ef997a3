"""OpenAI Chat Completions, as served by OpenAI, Azure OpenAI and OpenAI-compatible servers.

Paths: ``{any prefix}/chat/completions`` (OpenAI ``/v1/...``, a compatible server's
``{base}/v1/...``) and ``{any prefix}/openai/deployments/{deployment}/chat/completions``
(Azure, which requires ``?api-version=``). The default answer is deterministic:

* the last message is from the user and usable tools are given → a call to the named tool (or the
  first one) with arguments synthesized from its JSON Schema;
* the last message is a tool result → ``The tool returned: <content>``;
* otherwise ``Emulator reply to: "<last user text>" (received N image(s), ...)``;
* ``response_format`` json_schema → an instance of the schema; json_object → ``{"answer": ...}``;
* ``n``, ``stop``, ``max_tokens``/``max_completion_tokens`` (finish_reason ``length``), and
  ``stream`` (with ``stream_options.include_usage``) behave like the real API.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .answers import Conversation, ToolSpec, decide
from .base import Context, Endpoint, RecordedRequest
from .openai_checks import check_chat_request, invalid
from .replies import ErrorReply, JsonReply, Sendable, StreamReply
from .text import count_tokens, split_tokens, split_words, truncate_tokens

__all__ = ["OpenAIChat"]

_CHAT_SUFFIXES = ("/chat/completions", "/chat/completions/")
_AZURE = re.compile(r"/openai/deployments/([^/]+)/chat/completions/?$")
_FINGERPRINT = "fp_emulator"
_COMPACT: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": False}
_IMAGE_TOKENS = 85
_PARSE_ERROR = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent "
    "was not valid JSON. If you have trouble figuring out how to fix this, please contact us "
    "through our help center at help.openai.com.)"
)
_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with "
    "blank username) if you're accessing the API from your browser and are prompted for a "
    "username and password. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)
_AZURE_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)
_SAFE = {"filtered": False, "severity": "safe"}
_CONTENT_FILTER = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
_PROMPT_FILTER = [
    {
        "prompt_index": 0,
        "content_filter_results": {
            **_CONTENT_FILTER,
            "jailbreak": {"filtered": False, "detected": False},
        },
    }
]
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    401: ("invalid_request_error", "invalid_api_key"),
    429: ("requests", "rate_limit_exceeded"),
}


def _is_azure(request: RecordedRequest) -> bool:
    return "/openai/deployments/" in request.path


def _mask(key: str) -> str:
    if len(key) < 12:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


class OpenAIChat:
    """The OpenAI family's Chat Completions endpoint (a :class:`~.base.WireFormat`)."""

    name = "openai"

    def match(self, request: RecordedRequest) -> Endpoint | None:
        if not request.path.endswith(_CHAT_SUFFIXES):
            return None
        azure = _AZURE.search(request.path)
        if azure is None:
            return _chat
        deployment = unquote(azure.group(1))

        def azure_chat(req: RecordedRequest, ctx: Context) -> Sendable:
            if "api-version" not in req.query:
                return ErrorReply(404, {"error": {"code": "404", "message": "Resource not found"}})
            return _chat(req, ctx, deployment)

        return azure_chat

    def authorize(self, request: RecordedRequest, api_key: str) -> Sendable | None:
        offered: list[str] = []
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            offered.append(token.strip())
        if request.headers.get("api-key", "").strip():
            offered.append(request.headers["api-key"].strip())
        expected = api_key.encode()
        if any(hmac.compare_digest(o.encode(), expected) for o in offered):
            return None
        if _is_azure(request):
            return ErrorReply(401, {"error": {"code": "401", "message": _AZURE_DENIED}})
        if not offered:
            return ErrorReply(401, self.error_body(request, 400, _NO_KEY))
        message = (
            f"Incorrect API key provided: {_mask(offered[0])}. "
            "You can find your API key at https://platform.openai.com/account/api-keys."
        )
        return ErrorReply(401, self.error_body(request, 401, message))

    def error_body(self, request: RecordedRequest, status: int, message: str) -> Any:
        if _is_azure(request) and (status in (401, 403, 404, 408, 429) or status >= 500):
            return {"error": {"code": str(status), "message": message}}
        kind, code = _ERROR_KINDS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None)
        )
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def not_found(self, request: RecordedRequest) -> Sendable:
        message = f"Invalid URL ({request.method} {request.path})"
        return ErrorReply(404, self.error_body(request, 400, message))


# -- the default answer ----------------------------------------------------------------------


@dataclass
class _Answer:
    content: str | None
    finish_reason: str
    tool_calls: list[tuple[str, str, str]] = field(default_factory=list)  # id, name, arguments


def _chat(request: RecordedRequest, ctx: Context, deployment: str | None = None) -> Sendable:
    if request.method != "POST":
        message = f"Invalid method for URL ({request.method} {request.path})"
        return invalid(message, status=405)
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return invalid(_PARSE_ERROR)
    if not isinstance(body, dict):
        return invalid(_PARSE_ERROR)
    problem = check_chat_request(body, needs_model=deployment is None)
    if problem is not None:
        return problem
    answers = _answers(body, ctx)
    usage = _usage(body, answers)
    n = ctx.next("chatcmpl")
    head = {
        "id": f"chatcmpl-emu-{n}",
        "object": "chat.completion",
        "created": ctx.created,
        "model": body.get("model") or deployment,
    }
    headers = {"x-request-id": f"req_emu_{n}"}
    azure = deployment is not None
    if body.get("stream"):
        options = body.get("stream_options") or {}
        include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
        events = _chunks(head, answers, usage if include_usage else None, azure)
        return StreamReply(events, headers=headers)
    completion: dict[str, Any] = {
        **head,
        "choices": [_choice(i, a, azure) for i, a in enumerate(answers)],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }
    if azure:
        completion["prompt_filter_results"] = _PROMPT_FILTER
    return JsonReply(completion, headers=headers)


def _parts(content: Any) -> tuple[list[str], dict[str, int]]:
    """Text pieces and media counts of one message's content."""
    counts = {"image": 0, "file": 0, "audio clip": 0}
    if isinstance(content, str):
        return [content], counts
    texts: list[str] = []
    for part in content if isinstance(content, list) else []:
        kind = part.get("type")
        if kind in ("text", "refusal"):
            texts.append(str(part.get(kind, "")))
        elif kind == "image_url":
            counts["image"] += 1
        elif kind == "file":
            counts["file"] += 1
        elif kind == "input_audio":
            counts["audio clip"] += 1
    return texts, counts


def _conversation(body: Mapping[str, Any]) -> Conversation:
    messages = body["messages"]
    results: list[str] = []
    for msg in reversed(messages):
        if msg.get("role") != "tool":
            break
        results.insert(0, " ".join(_parts(msg.get("content"))[0]))
    media = {"image": 0, "file": 0, "audio clip": 0}
    for msg in messages:
        if msg.get("role") == "user":
            for kind, n in _parts(msg.get("content"))[1].items():
                media[kind] += n
    users = [m for m in messages if m.get("role") == "user"] or messages
    tools = tuple(
        ToolSpec(t["function"]["name"], t["function"].get("parameters"))
        for t in body.get("tools") or []
        if t.get("type") == "function"
    )
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping):
        fn = choice.get("function")
        choice = fn.get("name") if isinstance(fn, Mapping) else "auto"
    fmt = body.get("response_format") or {}
    schema = None
    if fmt.get("type") == "json_schema":
        schema = fmt["json_schema"].get("schema") or {}
    return Conversation(
        last_role=str(messages[-1].get("role")),
        user_text=" ".join(_parts(users[-1].get("content"))[0]),
        media=media,
        tool_results=tuple(results),
        tools=tools,
        tool_choice=choice if isinstance(choice, str) else "auto",
        response_schema=schema,
        json_mode=fmt.get("type") == "json_object",
    )


def _answers(body: Mapping[str, Any], ctx: Context) -> list[_Answer]:
    count = body.get("n") or 1
    answer = decide(_conversation(body))
    if answer.tool is not None:
        args = json.dumps(answer.arguments, **_COMPACT)
        return [
            _Answer(None, "tool_calls", [(f"call_emu_{ctx.next('call')}", answer.tool, args)])
            for _ in range(count)
        ]
    content, finish = _limit(answer.text or "", body)
    return [_Answer(content, finish) for _ in range(count)]


def _limit(text: str, body: Mapping[str, Any]) -> tuple[str, str]:
    stop = body.get("stop")
    for s in [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []:
        if isinstance(s, str) and s and s in text:
            text = text[: text.index(s)]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int):
        text, cut = truncate_tokens(text, limit)
        if cut:
            return text, "length"
    return text, "stop"


def _usage(body: Mapping[str, Any], answers: list[_Answer]) -> dict[str, Any]:
    prompt = 3
    for msg in body["messages"]:
        texts, counts = _parts(msg.get("content"))
        prompt += 3 + sum(count_tokens(t) for t in texts) + _IMAGE_TOKENS * counts["image"]
        for call in msg.get("tool_calls") or []:
            fn = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(fn, Mapping):
                prompt += count_tokens(f"{fn.get('name', '')} {fn.get('arguments', '')}")
    if body.get("tools"):
        prompt += count_tokens(json.dumps(body["tools"]))
    completion = 0
    for a in answers:
        completion += count_tokens(a.content or "")
        completion += sum(count_tokens(name) + count_tokens(args) for _, name, args in a.tool_calls)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _choice(index: int, answer: _Answer, azure: bool) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.content,
        "refusal": None,
        "annotations": [],
    }
    if answer.tool_calls:
        message["tool_calls"] = [_tool_call(*call) for call in answer.tool_calls]
    choice: dict[str, Any] = {
        "index": index,
        "message": message,
        "logprobs": None,
        "finish_reason": answer.finish_reason,
    }
    if azure:
        choice["content_filter_results"] = _CONTENT_FILTER
    return choice


def _deltas(answer: _Answer) -> list[dict[str, Any]]:
    if not answer.tool_calls:
        pieces = split_words(answer.content) if answer.content else []
        return [{"role": "assistant", "content": "", "refusal": None}] + [
            {"content": p} for p in pieces
        ]
    deltas: list[dict[str, Any]] = []
    for k, (call_id, name, arguments) in enumerate(answer.tool_calls):
        first = {"index": k, **_tool_call(call_id, name, "")}
        if k == 0:
            deltas.append(
                {"role": "assistant", "content": None, "tool_calls": [first], "refusal": None}
            )
        else:
            deltas.append({"tool_calls": [first]})
        deltas.extend(
            {"tool_calls": [{"index": k, "function": {"arguments": piece}}]}
            for piece in split_tokens(arguments)
        )
    return deltas


def _chunks(
    head: Mapping[str, Any],
    answers: list[_Answer],
    usage: dict[str, Any] | None,
    azure: bool,
) -> list[dict[str, Any]]:
    base = {
        **head,
        "object": "chat.completion.chunk",
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }
    chunks: list[dict[str, Any]] = []
    if azure:
        chunks.append(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": _PROMPT_FILTER,
            }
        )

    def chunk(index: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        out: dict[str, Any] = {**base, "choices": [choice]}
        if usage is not None:
            out["usage"] = None
        return out

    for i, answer in enumerate(answers):
        chunks.extend(chunk(i, delta, None) for delta in _deltas(answer))
        chunks.append(chunk(i, {}, answer.finish_reason))
    if usage is not None:
        chunks.append({**base, "choices": [], "usage": usage})
    return chunks
