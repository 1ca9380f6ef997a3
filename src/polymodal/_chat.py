"""The chat request flow: parse -> route -> resolve media -> encode -> send -> decode -> render.

``prepare_chat`` does everything that can fail before I/O; the sync and async paths then differ
only in how they fetch media and send. ``run_chat`` / ``arun_chat`` return IR results so the
LangChain layer can skip the OpenAI-object rendering.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from polymodal import http, routing
from polymodal.capabilities import check_chat
from polymodal.errors import BadRequestError, JSONSchemaValidationError
from polymodal.options import CallOptions, pop_options
from polymodal.providers import ChatTarget, chat_target
from polymodal.types import (
    ChatRequest,
    ChatResult,
    ChoiceDelta,
    MediaPart,
    MediaSource,
    Message,
    StreamEvent,
    TextPart,
)


@dataclass(slots=True)
class PreparedChat:
    route: routing.Route
    options: CallOptions
    request: ChatRequest
    target: ChatTarget

    @property
    def timeout(self) -> float:
        return self.options.effective_timeout

    @property
    def max_retries(self) -> int:
        return self.options.effective_max_retries

    def http_request(self) -> http.HTTPRequest:
        body = self.target.api.encode(
            self.request, dialect=self.target.dialect, drop_params=self.options.drop_params
        )
        endpoint = self.target.endpoint
        return http.HTTPRequest(
            "POST",
            endpoint.url,
            body,
            endpoint.headers,
            endpoint.auth,
            provider=self.route.provider,
            model=self.route.model,
        )

    def decode(self, body: Any) -> ChatResult:
        result: ChatResult = self.target.api.decode(body, provider=self.route.provider)
        return result

    def decoder(self) -> Any:
        return self.target.api.StreamDecoder(self.route.provider)


def prepare_chat(
    model: str,
    messages: Any,
    params: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any] | None = None,
) -> PreparedChat:
    """Validate, route and build everything for a chat call; raises before any I/O."""
    params = dict(params)
    opts = pop_options(params, defaults)
    route = routing.resolve(model, custom_llm_provider=opts.custom_llm_provider)
    from polymodal.openai_format import parse_chat

    req = parse_chat(
        route.model, messages, params, drop_params=opts.drop_params, model_label=route.model_string
    )
    check_chat(route, req, drop_params=opts.drop_params)
    target = chat_target(route, opts, req.stream)
    if req.stream and req.stream_options is None and target.dialect in ("openai", "azure"):
        # Ask for usage so the stream's last chunk carries it, as every other provider's does.
        req.stream_options = {"include_usage": True}
    return PreparedChat(route, opts, req, target)


# --------------------------------------------------------------------------- media


def _media_jobs(prepared: PreparedChat) -> list[tuple[Message, int, MediaPart]]:
    """The parts whose bytes the target needs but cannot fetch itself (the wire format decides)."""
    needs_bytes = prepared.target.api.needs_bytes
    dialect = prepared.target.dialect
    jobs = []
    for msg in prepared.request.messages:
        if isinstance(msg.content, list):
            for i, part in enumerate(msg.content):
                if not isinstance(part, TextPart) and needs_bytes(part, dialect):
                    jobs.append((msg, i, part))
    return jobs


def _with_bytes(part: MediaPart, got: Any) -> MediaPart:
    src = part.source
    new = MediaSource(
        data=got.b64(), mime_type=src.mime_type or got.mime_type, filename=src.filename
    )
    return replace(part, source=new)


def _policy(opts: CallOptions) -> Any:
    from polymodal.media import FetchPolicy

    return FetchPolicy(allow_private_hosts=opts.allow_private_media_hosts)


def resolve_media(prepared: PreparedChat) -> None:
    """Download, sync, what the target needs as bytes (explicit, bounded, SSRF-guarded)."""
    jobs = _media_jobs(prepared)
    if not jobs:
        return
    from polymodal.media import fetch

    policy = _policy(prepared.options)
    for msg, i, part in jobs:
        assert isinstance(msg.content, list) and part.source.url is not None
        got = fetch(part.source.url, mime_type=part.source.mime_type, policy=policy)
        msg.content[i] = _with_bytes(part, got)


async def aresolve_media(prepared: PreparedChat) -> None:
    """The async twin of :func:`resolve_media`: downloads run concurrently."""
    jobs = _media_jobs(prepared)
    if not jobs:
        return
    import asyncio

    from polymodal.media import afetch

    policy = _policy(prepared.options)
    results = await asyncio.gather(
        *(
            afetch(p.source.url or "", mime_type=p.source.mime_type, policy=policy)
            for _, _, p in jobs
        )
    )
    for (msg, i, part), got in zip(jobs, results, strict=True):
        assert isinstance(msg.content, list)
        msg.content[i] = _with_bytes(part, got)


# --------------------------------------------------------------------------- results


def _enforce(prepared: PreparedChat, result: ChatResult) -> None:
    rf = prepared.request.response_format
    if rf is None or not rf.enforce_validation or rf.schema is None:
        return
    import jsonschema

    for choice in result.choices:
        raw = choice.content or ""
        try:
            jsonschema.validate(json.loads(raw), rf.schema)
        except (ValueError, jsonschema.ValidationError) as exc:
            reason = (
                exc.message if isinstance(exc, jsonschema.ValidationError) else "not valid JSON"
            )
            raise JSONSchemaValidationError(
                f"the answer of {prepared.route.model_string!r} does not match response_schema: {reason}",
                raw_response=raw,
                provider=prepared.route.provider,
                model=prepared.route.model,
            ) from None


def run_chat(prepared: PreparedChat) -> ChatResult:
    resolve_media(prepared)
    req = prepared.http_request()
    body = http.send_json(req, timeout=prepared.timeout, max_retries=prepared.max_retries,
                          client=prepared.options.client)  # fmt: skip
    result = prepared.decode(body)
    _enforce(prepared, result)
    return result


async def arun_chat(prepared: PreparedChat) -> ChatResult:
    await aresolve_media(prepared)
    req = prepared.http_request()
    resp = await http.asend(req, timeout=prepared.timeout, max_retries=prepared.max_retries,
                            client=prepared.options.client)  # fmt: skip
    result = prepared.decode(http.parse_json(resp, req))
    _enforce(prepared, result)
    return result


def _parse_event(data: str, req: http.HTTPRequest) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except ValueError:
        raise BadRequestError(
            f"{req.provider} sent a stream event that is not JSON: {data[:200]!r}",
            provider=req.provider,
            model=req.model,
        ) from None
    if not isinstance(parsed, dict):
        raise BadRequestError(f"{req.provider} sent a stream event that is not an object",
                              provider=req.provider, model=req.model)  # fmt: skip
    return parsed


class _UsageMerger:
    """Hold finish chunks until the usage chunk, so the last chunk carries both."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held: list[StreamEvent] = []

    def push(self, event: StreamEvent) -> list[StreamEvent]:
        if event.usage is not None and not event.choices and self.held:
            last = self.held[-1]
            last.usage = event.usage
            out, self.held = self.held, []
            return out
        if any(c.finish_reason for c in event.choices):
            self.held.append(event)
            return []
        if self.held:
            out, self.held = [*self.held, event], []
            return out
        if not event.choices:
            # A usage-only chunk with nothing to merge into still gets a (empty) choice, so
            # ``chunk.choices[0].delta.content`` works on every chunk, as users' loops expect.
            event.choices = [ChoiceDelta(index=0)]
        return [event]

    def flush(self) -> list[StreamEvent]:
        out, self.held = self.held, []
        return out


def _fill(event: StreamEvent, first: StreamEvent | None) -> StreamEvent:
    if first is not None:
        event.id = event.id or first.id
        event.model = event.model or first.model
        event.created = event.created or first.created
    return event


def stream_chat(prepared: PreparedChat) -> Iterator[StreamEvent]:
    resolve_media(prepared)
    req = prepared.http_request()
    resp = http.open_stream(req, timeout=prepared.timeout, max_retries=prepared.max_retries,
                            client=prepared.options.client)  # fmt: skip
    decoder = prepared.decoder()
    merger = _UsageMerger()
    first: StreamEvent | None = None
    for _event, data in http.iter_sse_data(resp, req):
        event = decoder.feed(_parse_event(data, req))
        if event is None:
            continue
        first = first or event
        for out in merger.push(event):
            yield _fill(out, first)
    closing = decoder.finish()
    for out in [*merger.flush(), *([closing] if closing else [])]:
        yield _fill(out, first)


async def astream_chat(prepared: PreparedChat) -> AsyncIterator[StreamEvent]:
    await aresolve_media(prepared)
    req = prepared.http_request()
    resp = await http.aopen_stream(req, timeout=prepared.timeout, max_retries=prepared.max_retries,
                                   client=prepared.options.client)  # fmt: skip
    decoder = prepared.decoder()
    merger = _UsageMerger()
    first: StreamEvent | None = None
    async for _event, data in http.aiter_sse_data(resp, req):
        event = decoder.feed(_parse_event(data, req))
        if event is None:
            continue
        first = first or event
        for out in merger.push(event):
            yield _fill(out, first)
    closing = decoder.finish()
    for out in [*merger.flush(), *([closing] if closing else [])]:
        yield _fill(out, first)


__all__ = [
    "ChoiceDelta",
    "PreparedChat",
    "arun_chat",
    "astream_chat",
    "prepare_chat",
    "run_chat",
    "stream_chat",
]
