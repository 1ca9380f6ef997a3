"""The :class:`Emulator`: a scriptable, deterministic provider server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from .base import Context, Endpoint, RecordedRequest, WireFormat
from .replies import (
    DelayReply,
    DropReply,
    ErrorReply,
    Event,
    JsonReply,
    RawReply,
    Reply,
    Sendable,
    StreamReply,
    Wire,
    fixed_wire,
    play,
)
from .server import HTTPRequest, HTTPServer, Responder

__all__ = ["Emulator", "default_formats", "emulator"]


def default_formats() -> list[WireFormat]:
    """Every wire format the emulator speaks; the last one also answers unknown paths."""
    from .anthropic import AnthropicMessages
    from .gemini import GeminiAPI
    from .openai import OpenAIChat
    from .openai_media import OpenAIMedia
    from .vertex_media import VertexMedia

    # VertexMedia before GeminiAPI: it owns :predict / :embedContent / :batchEmbedContents.
    return [AnthropicMessages(), VertexMedia(), GeminiAPI(), OpenAIMedia(), OpenAIChat()]


@dataclass(frozen=True)
class _Entry:
    reply: Reply
    path_contains: str | None
    repeat: bool
    wire: Wire | None  # pre-rendered bytes when the reply does not depend on the request


class Emulator:
    """Provider endpoints over real HTTP/1.1 on ``host:port`` (0 = an ephemeral port).

    With an empty script every request gets the wire format's deterministic default answer.
    ``queue_*`` scripts the next matching request(s) first-in first-out; ``path_contains``
    restricts an entry to paths containing that text; ``repeat=True`` serves an entry forever
    (from pre-serialised bytes: a cheap benchmark target). If ``api_key`` is set, requests must
    carry it the way their wire format expects (``Authorization: Bearer`` or ``api-key`` for
    OpenAI/Azure) or they get that provider's 401. ``created`` fixes the ``created`` timestamp
    of default answers (``None``: the real clock). ``record=False`` stops recording requests.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        *,
        created: int | None = 1700000000,
        record: bool = True,
        formats: Sequence[WireFormat] | None = None,
    ) -> None:
        self.api_key = api_key
        self.record = record
        self._formats = list(formats) if formats is not None else default_formats()
        if not self._formats:
            raise ValueError("the emulator needs at least one wire format")
        self._context = Context(created)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._queue: list[_Entry] = []
        self._server = HTTPServer(self._handle, host, port)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Start serving (idempotent); returns self."""
        self._server.start()
        return self

    def close(self) -> None:
        """Stop serving and drop open connections (idempotent)."""
        self._server.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.url if self._server.running else "not running"
        return f"<Emulator {where}>"

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if not self._server.running:
            raise RuntimeError("the emulator is not running: call start() or use it in a with")
        host = self._server.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self._server.port}"

    @property
    def openai_base(self) -> str:
        """``base_url`` for OpenAI clients (and OpenAI-compatible ``api_base``)."""
        return f"{self.url}/v1"

    @property
    def azure_endpoint(self) -> str:
        """``azure_endpoint`` for Azure OpenAI clients."""
        return self.url

    @property
    def connections(self) -> int:
        """How many TCP connections the server has accepted."""
        return self._server.connections

    # -- recording -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued (repeating ones included)."""
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        """Forget recorded requests and queued replies and restart the id counters."""
        with self._lock:
            self._requests.clear()
            self._queue.clear()
            self._context.reset()

    # -- scripting -------------------------------------------------------------------------

    def queue(
        self, reply: Reply, *, path_contains: str | None = None, repeat: bool = False
    ) -> None:
        """Queue any reply object (see :mod:`polymodal.testing.replies`)."""
        entry = _Entry(reply, path_contains, repeat, fixed_wire(reply))
        with self._lock:
            self._queue.append(entry)

    def queue_json(
        self,
        body: Any,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        path_contains: str | None = None,
        repeat: bool = False,
    ) -> None:
        """Answer with ``body`` as JSON."""
        self.queue(JsonReply(body, status, headers), path_contains=path_contains, repeat=repeat)

    def queue_stream(
        self,
        events: Sequence[Event],
        *,
        done: bool = True,
        event_name: str | None = None,
        delay: float = 0.0,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        path_contains: str | None = None,
        repeat: bool = False,
    ) -> None:
        """Answer with server-sent events: dicts as ``data: <json>``, strings verbatim."""
        reply = StreamReply(list(events), done, event_name, delay, status, headers)
        self.queue(reply, path_contains=path_contains, repeat=repeat)

    def queue_error(
        self,
        status: int,
        body: Mapping[str, Any] | str,
        headers: Mapping[str, str] | None = None,
        *,
        path_contains: str | None = None,
        repeat: bool = False,
    ) -> None:
        """Answer with an error; a string ``body`` is wrapped in the provider's error envelope."""
        self.queue(ErrorReply(status, body, headers), path_contains=path_contains, repeat=repeat)

    def queue_raw(
        self,
        status: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        path_contains: str | None = None,
        repeat: bool = False,
    ) -> None:
        """Answer with these bytes exactly (content type ``application/json`` unless given)."""
        merged = {"content-type": "application/json", **(headers or {})}
        self.queue(RawReply(status, body, merged), path_contains=path_contains, repeat=repeat)

    def queue_drop(
        self,
        after_bytes: int | None = None,
        stream_events: Sequence[Event] | None = None,
        *,
        path_contains: str | None = None,
        repeat: bool = False,
    ) -> None:
        """Close the connection mid-response (see :class:`~.replies.DropReply`)."""
        events = None if stream_events is None else list(stream_events)
        self.queue(DropReply(after_bytes, events), path_contains=path_contains, repeat=repeat)

    def queue_delay(
        self,
        seconds: float,
        then: Reply | None = None,
        *,
        path_contains: str | None = None,
        repeat: bool = False,
    ) -> None:
        """Wait ``seconds``, then send ``then`` (default: the emulator's normal answer)."""
        self.queue(DelayReply(seconds, then), path_contains=path_contains, repeat=repeat)

    def _take(self, path: str) -> _Entry | None:
        with self._lock:
            for i, entry in enumerate(self._queue):
                if entry.path_contains is None or entry.path_contains in path:
                    if not entry.repeat:
                        del self._queue[i]
                    return entry
        return None

    # -- serving ---------------------------------------------------------------------------

    def _route(self, request: RecordedRequest) -> tuple[WireFormat, Endpoint | None]:
        for fmt in self._formats:
            endpoint = fmt.match(request)
            if endpoint is not None:
                return fmt, endpoint
        return self._formats[-1], None

    async def _handle(self, http_request: HTTPRequest, responder: Responder) -> None:
        path, _, query = http_request.target.partition("?")
        request = RecordedRequest(
            http_request.method,
            path,
            dict(parse_qsl(query, keep_blank_values=True)) if query else {},
            http_request.headers,
            http_request.body,
            http_request.connection,
        )
        if self.record:
            with self._lock:
                self._requests.append(request)
        fmt, endpoint = self._route(request)
        context = self._context

        def envelope(status: int, message: str) -> Any:
            return fmt.error_body(request, status, message)

        def default() -> Sendable:
            if endpoint is None:
                return fmt.not_found(request)
            return endpoint(request, context)

        if self.api_key is not None:
            denial = fmt.authorize(request, self.api_key)
            if denial is not None:
                await play(denial, responder, envelope, default)
                return
        entry = self._take(path)
        if entry is None:
            await play(default(), responder, envelope, default)
        else:
            await play(entry.reply, responder, envelope, default, entry.wire)


@contextmanager
def emulator(
    api_key: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    created: int | None = 1700000000,
    record: bool = True,
) -> Iterator[Emulator]:
    """A started :class:`Emulator`, closed on exit. In a pytest fixture::

    @pytest.fixture
    def emu():
        with polymodal.testing.emulator() as e:
            yield e
    """
    emu = Emulator(host, port, api_key, created=created, record=record)
    with emu:
        yield emu
