"""Scripted replies: what the emulator sends back, independent of any provider.

A reply is plain data (a frozen dataclass). :func:`render` turns the sendable ones into wire bytes
once (so a reply served forever costs almost nothing per request) and :func:`play` sends a reply
through a :class:`~polymodal.testing.server.Responder`, including the deliberate failures:
dropped connections and slow answers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .server import Responder, build_head

__all__ = [
    "DelayReply",
    "DropReply",
    "ErrorReply",
    "Event",
    "JsonReply",
    "RawReply",
    "Reply",
    "StreamReply",
    "Wire",
    "fixed_wire",
    "play",
    "render",
    "sse_frame",
]

Event = Mapping[str, Any] | str
"""A stream event: a dict is sent as ``data: <json>``; a string is sent verbatim."""


@dataclass(frozen=True)
class JsonReply:
    """A JSON body with ``Content-Length``."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class StreamReply:
    """A ``text/event-stream`` response sent with chunked transfer encoding, one chunk per event.

    ``event_name`` adds an ``event:`` line to every dict event; ``done`` appends
    ``data: [DONE]``; ``delay`` sleeps between events (seconds).
    """

    events: Sequence[Event]
    done: bool = True
    event_name: str | None = None
    delay: float = 0.0
    status: int = 200
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ErrorReply:
    """An error status. A string body is wrapped in the wire format's own error envelope."""

    status: int
    body: Mapping[str, Any] | str
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class RawReply:
    """Bytes exactly as given (malformed JSON, odd content types, ...)."""

    status: int
    body: bytes
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class DropReply:
    """Close the connection without completing a response.

    With neither argument the connection is closed before anything is sent. With
    ``stream_events`` the headers of an SSE response and those events are sent (no ``[DONE]``,
    no final chunk) before the close. ``after_bytes`` cuts the body after that many payload bytes:
    of ``stream_events`` if given, otherwise of the answer the emulator would have sent.
    """

    after_bytes: int | None = None
    stream_events: Sequence[Event] | None = None


@dataclass(frozen=True)
class DelayReply:
    """Wait ``seconds``, then send ``then`` (``None``: the emulator's default answer)."""

    seconds: float
    then: Reply | None = None


Reply = JsonReply | StreamReply | ErrorReply | RawReply | DropReply | DelayReply
Sendable = JsonReply | StreamReply | ErrorReply | RawReply
ErrorEnvelope = Callable[[int, str], Any]
"""``(status, message) -> JSON body`` in the wire format of the request being answered."""


@dataclass(frozen=True, slots=True)
class Wire:
    """A rendered response: ``head`` (no blank line) plus either ``body`` or SSE ``frames``."""

    head: bytes
    body: bytes = b""
    frames: tuple[bytes, ...] | None = None
    delay: float = 0.0
    framed: bytes = b""  # every frame chunk-encoded plus the last chunk, when delay == 0


_SERVER = ("server", "polymodal-emulator")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def sse_frame(event: Event, event_name: str | None = None) -> bytes:
    if isinstance(event, str):
        return event.encode()
    prefix = f"event: {event_name}\n" if event_name else ""
    return b"%bdata: %b\n\n" % (prefix.encode(), _dumps(event))


def _headers(
    defaults: list[tuple[str, str]], extra: Mapping[str, str] | None
) -> list[tuple[str, str]]:
    """Defaults overridden by ``extra`` (case-insensitively); framing headers are ours."""
    merged = {name: (name, value) for name, value in defaults}
    for name, value in (extra or {}).items():
        key = name.lower()
        if key not in ("content-length", "transfer-encoding", "connection"):
            merged[key] = (name, value)
    return list(merged.values())


def _whole(status: int, body: bytes, ctype: str, extra: Mapping[str, str] | None) -> Wire:
    headers = _headers([("content-type", ctype), _SERVER], extra)
    headers.append(("content-length", str(len(body))))
    return Wire(build_head(status, headers), body=body)


def stream_wire(
    events: Sequence[Event],
    *,
    done: bool = True,
    event_name: str | None = None,
    delay: float = 0.0,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Wire:
    frames = [sse_frame(e, event_name) for e in events]
    if done:
        frames.append(b"data: [DONE]\n\n")
    merged = _headers([("content-type", "text/event-stream; charset=utf-8"), _SERVER], headers)
    merged.extend([("cache-control", "no-cache"), ("transfer-encoding", "chunked")])
    framed = b""
    if delay <= 0:
        framed = b"".join(b"%x\r\n%b\r\n" % (len(f), f) for f in frames if f) + b"0\r\n\r\n"
    return Wire(build_head(status, merged), frames=tuple(frames), delay=delay, framed=framed)


def render(reply: Sendable, error_envelope: ErrorEnvelope) -> Wire:
    if isinstance(reply, JsonReply):
        return _whole(reply.status, _dumps(reply.body), "application/json", reply.headers)
    if isinstance(reply, StreamReply):
        return stream_wire(
            reply.events,
            done=reply.done,
            event_name=reply.event_name,
            delay=reply.delay,
            status=reply.status,
            headers=reply.headers,
        )
    if isinstance(reply, ErrorReply):
        body = reply.body
        payload = error_envelope(reply.status, body) if isinstance(body, str) else body
        return _whole(reply.status, _dumps(payload), "application/json", reply.headers)
    return _whole(reply.status, reply.body, "application/octet-stream", reply.headers)


async def send_wire(wire: Wire, responder: Responder) -> None:
    if wire.frames is None:
        responder.send(wire.head, wire.body)
        return
    if wire.delay <= 0:
        responder.start_stream(wire.head)
        responder.write_raw(wire.framed)
        return
    responder.start_stream(wire.head)
    for i, frame in enumerate(wire.frames):
        if i:
            await asyncio.sleep(wire.delay)
        responder.write_chunk(frame)
        await responder.drain()
    responder.end_stream()


async def _send_cut(wire: Wire, limit: int | None, responder: Responder) -> None:
    """Headers, then at most ``limit`` payload bytes (all if None), then hang up."""
    responder.hang_up()
    if wire.frames is None:
        responder.send(wire.head, wire.body if limit is None else wire.body[:limit])
        return
    responder.start_stream(wire.head)
    left = limit
    for i, frame in enumerate(wire.frames):
        if left is not None and left <= 0:
            break
        if i and wire.delay > 0:
            await asyncio.sleep(wire.delay)
        piece = frame if left is None else frame[:left]
        responder.write_chunk(piece)
        await responder.drain()
        if left is not None:
            left -= len(piece)


def fixed_wire(reply: Reply) -> Wire | None:
    """The rendered bytes of a reply that does not depend on the request, else None."""
    if isinstance(reply, (JsonReply, StreamReply, RawReply)) or (
        isinstance(reply, ErrorReply) and not isinstance(reply.body, str)
    ):
        return render(reply, _no_envelope)
    return None


def _no_envelope(status: int, message: str) -> Any:  # pragma: no cover - never called
    raise AssertionError("string error bodies are rendered per request")


async def play(
    reply: Reply,
    responder: Responder,
    error_envelope: ErrorEnvelope,
    default: Callable[[], Sendable],
    wire: Wire | None = None,
) -> None:
    """Send ``reply`` (pre-rendered as ``wire`` if given); ``default`` is the emulator's answer."""
    if wire is not None:
        await send_wire(wire, responder)
        return
    while isinstance(reply, DelayReply):
        await asyncio.sleep(reply.seconds)
        reply = default() if reply.then is None else reply.then
    if isinstance(reply, DropReply):
        if reply.stream_events is not None:
            inner: Sendable = StreamReply(reply.stream_events, done=False)
        elif reply.after_bytes is None:
            responder.hang_up()
            return
        else:
            inner = default()
        await _send_cut(render(inner, error_envelope), reply.after_bytes, responder)
        return
    await send_wire(render(reply, error_envelope), responder)
