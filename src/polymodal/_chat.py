"""The chat request flow: parse -> route -> resolve media -> encode -> send -> decode -> render.

``prepare_chat`` does everything that can fail before I/O; the sync and async paths then differ
only in how they fetch media and send. ``run_chat`` / ``arun_chat`` return IR results so the
LangChain layer can skip the OpenAI-object rendering.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from polymodal import http, routing
from polymodal.capabilities import check_chat
from polymodal.errors import BadRequestError, JSONSchemaValidationError, PolymodalError
from polymodal.openai_format import parse_chat
from polymodal.options import CallOptions, pop_options
from polymodal.providers import ChatTarget, chat_target, param_defaults
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


@contextmanager
def _attributed(route: routing.Route) -> Iterator[None]:
    """Errors raised while preparing or decoding name the provider and the provider's model."""
    try:
        yield
    except PolymodalError as err:
        err.provider = err.provider or route.provider
        if err.model in (None, route.model_string):
            err.model = route.model
        raise


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
        return self.target.endpoint.post(body, self.route)

    def decode(self, body: Any) -> ChatResult:
        with _attributed(self.route):
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
    provider_defaults = param_defaults(route)
    if provider_defaults:
        params = {**provider_defaults, **params}
    try:  # what ``_attributed`` does, without a context manager on the hot path
        req = parse_chat(
            route.model,
            messages,
            params,
            drop_params=opts.drop_params,
            model_label=route.model_string,
        )
        check_chat(route, req, drop_params=opts.drop_params)
        target = chat_target(route, opts, req.stream)
    except PolymodalError as err:
        err.provider = err.provider or route.provider
        if err.model in (None, route.model_string):
            err.model = route.model
        raise
    if target.body_model is not None:
        req.model = target.body_model
    if req.stream and req.stream_options is None and _takes_stream_options(target, opts):
        # Ask for usage so the stream's last chunk carries it, as every other provider's does.
        req.stream_options = {"include_usage": True}
    return PreparedChat(route, opts, req, target)


def _takes_stream_options(target: ChatTarget, opts: CallOptions) -> bool:
    if target.dialect == "openai":
        return True
    if target.dialect == "azure":
        # Azure takes stream_options from api-version 2024-09-01-preview on (and on /openai/v1).
        from polymodal.providers.azure import DEFAULT_API_VERSION

        version = opts.api_version or DEFAULT_API_VERSION
        return version >= "2024-09-01"
    return False


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
    with _attributed(prepared.route):
        resolve_media(prepared)
        req = prepared.http_request()
    body = http.send_json(req, timeout=prepared.timeout, max_retries=prepared.max_retries,
                          client=prepared.options.client)  # fmt: skip
    result = prepared.decode(body)
    _enforce(prepared, result)
    return result


async def arun_chat(prepared: PreparedChat) -> ChatResult:
    with _attributed(prepared.route):
        await aresolve_media(prepared)
        req = prepared.http_request()
    body = await http.asend_json(req, timeout=prepared.timeout,
                                 max_retries=prepared.max_retries,
                                 client=prepared.options.client)  # fmt: skip
    result = prepared.decode(body)
    _enforce(prepared, result)
    return result


# The JSON scanner ``json.loads`` ends in, called directly: a stream event is one JSON value and
# nothing else, so ``loads``' whitespace handling around it is skipped (~1.3 µs of ~3.2 per
# event). Anything else (whitespace around the value, an error to report) goes to ``loads``.
_scan: Any = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _parse_event(data: str, req: http.HTTPRequest) -> dict[str, Any]:
    try:
        try:
            parsed, end = _scan(data, 0)
            if end != len(data):
                raise StopIteration(end)
        except StopIteration:
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


def _is_empty(event: StreamEvent) -> bool:
    """No text, reasoning, tool call, refusal, annotation or finish in any choice."""
    return not any(
        c.content or c.reasoning or c.tool_calls or c.finish_reason or c.refusal or c.annotations
        for c in event.choices
    )


class _StreamState:
    """Decoded events -> the stream users see.

    The chunk that carries a finish reason is held back; empty chunks that follow it (usage-only,
    moderation results, role-only) are folded into it, so the LAST chunk carries both
    ``finish_reason`` and ``usage`` whatever the provider's order. Every chunk has at least one
    choice, and id/model/created are filled in from the first chunk that had them.
    """

    __slots__ = ("created", "decoder", "held", "id", "model")

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.held: StreamEvent | None = None
        self.id, self.model, self.created = "", "", 0

    def _fill(self, event: StreamEvent) -> StreamEvent:
        self.id = self.id or event.id
        self.model = self.model or event.model
        self.created = self.created or event.created
        event.id, event.model = event.id or self.id, event.model or self.model
        event.created = event.created or self.created
        if not event.choices:
            event.choices = [ChoiceDelta(index=0)]
        return event

    def push(self, event: StreamEvent | None) -> list[StreamEvent]:
        if event is None:
            return []
        held = self.held
        if held is not None and _is_empty(event):
            if event.usage is not None:
                held.usage = event.usage
            held.provider_specific_fields.update(event.provider_specific_fields)
            return []
        out = [] if held is None else [self._fill(held)]
        if any(c.finish_reason for c in event.choices):
            self.held = event
        else:
            self.held = None
            out.append(self._fill(event))
        return out

    def close(self) -> list[StreamEvent]:
        out = self.push(self.decoder.finish())
        if self.held is not None:
            out.append(self._fill(self.held))
            self.held = None
        return out


def _events(
    prepared: PreparedChat,
    resp: Any,
    req: http.HTTPRequest,
    render: Callable[[StreamEvent], Any] | None = None,
) -> Iterator[Any]:
    """The stream's events, or ``render(event)`` for each when ``render`` is given (one
    generator for both saves a layer per chunk)."""
    state = _StreamState(prepared.decoder())
    decode, fill, push = state.decoder.feed, state._fill, state.push
    for events in http.iter_sse_chunks(resp, req):
        for _name, data in events:
            event = decode(_parse_event(data, req))
            if (
                state.held is None
                and event is not None
                and len(event.choices) == 1
                and not event.choices[0].finish_reason
            ):
                # The common chunk: what ``push`` would do, without its lists.
                yield fill(event) if render is None else render(fill(event))
                continue
            for out in push(event):
                yield out if render is None else render(out)
    for out in state.close():
        yield out if render is None else render(out)


async def _aevents(
    prepared: PreparedChat,
    resp: Any,
    req: http.HTTPRequest,
    render: Callable[[StreamEvent], Any] | None = None,
) -> AsyncIterator[Any]:
    state = _StreamState(prepared.decoder())
    decode, fill, push = state.decoder.feed, state._fill, state.push
    chunks = http.aiter_sse_chunks(resp, req)
    try:
        async for events in chunks:
            for _name, data in events:
                event = decode(_parse_event(data, req))
                if (
                    state.held is None
                    and event is not None
                    and len(event.choices) == 1
                    and not event.choices[0].finish_reason
                ):
                    yield fill(event) if render is None else render(fill(event))
                    continue
                for out in push(event):
                    yield out if render is None else render(out)
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
    for out in state.close():
        yield out if render is None else render(out)


def stream_chat(
    prepared: PreparedChat, render: Callable[[StreamEvent], Any] | None = None
) -> Iterator[Any]:
    """Resolve media, encode and open the stream NOW (errors surface at the call), then iterate
    (over ``render(event)`` for each event when ``render`` is given)."""
    with _attributed(prepared.route):
        resolve_media(prepared)
        req = prepared.http_request()
    resp = http.open_stream(req, timeout=prepared.timeout, max_retries=prepared.max_retries,
                            client=prepared.options.client)  # fmt: skip
    return _events(prepared, resp, req, render)


async def aopen_stream_chat(
    prepared: PreparedChat, render: Callable[[StreamEvent], Any] | None = None
) -> AsyncIterator[Any]:
    """The async twin of :func:`stream_chat`: opens eagerly, returns the event iterator."""
    with _attributed(prepared.route):
        await aresolve_media(prepared)
        req = prepared.http_request()
    resp = await http.aopen_stream(req, timeout=prepared.timeout, max_retries=prepared.max_retries,
                                   client=prepared.options.client)  # fmt: skip
    return _aevents(prepared, resp, req, render)


async def astream_chat(prepared: PreparedChat) -> AsyncIterator[StreamEvent]:
    """Async generator form of :func:`aopen_stream_chat` (opens on first iteration)."""
    events = await aopen_stream_chat(prepared)
    async for event in events:
        yield event


__all__ = [
    "PreparedChat",
    "aopen_stream_chat",
    "arun_chat",
    "astream_chat",
    "prepare_chat",
    "run_chat",
    "stream_chat",
]
