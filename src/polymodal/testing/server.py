"""A minimal HTTP/1.1 server on asyncio, running its own event loop in a daemon thread.

Stdlib only. It knows nothing about providers: it parses requests (request line, headers,
``Content-Length`` or chunked bodies, ``Expect: 100-continue``), keeps connections alive, and hands
each request to an async *app* together with a :class:`Responder` that writes the answer, either
whole (``Content-Length``) or as a chunked stream, or cuts the connection on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

__all__ = ["HTTPRequest", "HTTPServer", "Responder", "build_head"]

_HEAD_LIMIT = 1 << 20  # request line + headers; also the StreamReader buffer limit
_CHUNK_END = b"0\r\n\r\n"


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """One parsed request. Header names are lower-cased; repeated headers are joined by ", "."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes
    connection: int


App = Callable[[HTTPRequest, "Responder"], Awaitable[None]]


def build_head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    """Status line and header lines, each ending in CRLF, without the blank line."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in headers)
    return "".join(lines).encode("latin-1")


class Responder:
    """Writes the response to one request. ``head`` always comes from :func:`build_head`."""

    __slots__ = ("_writer", "close_after", "keep_alive", "started")

    def __init__(self, writer: asyncio.StreamWriter, keep_alive: bool) -> None:
        self._writer = writer
        self.keep_alive = keep_alive
        self.started = False
        self.close_after = not keep_alive

    def _end_of_head(self) -> bytes:
        self.started = True
        return b"connection: close\r\n\r\n" if self.close_after else b"\r\n"

    def send(self, head: bytes, body: bytes) -> None:
        """A whole response; ``head`` must carry ``content-length``."""
        self._writer.write(b"".join((head, self._end_of_head(), body)))

    def start_stream(self, head: bytes) -> None:
        """Begin a chunked response; ``head`` must carry ``transfer-encoding: chunked``."""
        self._writer.write(head + self._end_of_head())

    def write_chunk(self, data: bytes) -> None:
        if data:
            self._writer.write(b"%x\r\n%b\r\n" % (len(data), data))

    def end_stream(self) -> None:
        self._writer.write(_CHUNK_END)

    def write_raw(self, data: bytes) -> None:
        """Bytes as they are (already framed, or deliberately broken)."""
        if data:
            self._writer.write(data)

    def hang_up(self) -> None:
        """Close the connection once what was written is flushed, whatever the response said."""
        self.started = True
        self.close_after = True

    async def drain(self) -> None:
        await self._writer.drain()


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _parse_head(raw: bytes) -> tuple[str, str, str, dict[str, str]]:
    try:
        text = raw.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes every byte
        raise _BadRequest(400, "undecodable request head") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(400, f"bad request line: {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _BadRequest(400, f"bad header line: {line[:100]!r}")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return parts[0], parts[1], parts[2], headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    pieces: list[bytes] = []
    while True:
        line = await reader.readuntil(b"\r\n")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise _BadRequest(400, "bad chunk size") from exc
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, ignored
                pass
            return b"".join(pieces)
        pieces.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise _BadRequest(400, "bad chunk terminator")


class HTTPServer:
    """Serves ``app`` on ``host:port`` (0 = an ephemeral port) from a private event loop thread."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._connections = 0

    @property
    def connections(self) -> int:
        """How many connections were accepted so far."""
        return self._connections

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="polymodal-emulator", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self.port = asyncio.run_coroutine_threadsafe(self._open(), loop).result(timeout=30)
        except BaseException:
            self._stop_loop()
            raise

    async def _open(self) -> int:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=_HEAD_LIMIT, backlog=1024
        )
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def close(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
        self._stop_loop()

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections += 1
        conn_id = self._connections
        self._writers.add(writer)
        try:
            while True:
                request = await self._read_request(reader, writer, conn_id)
                if request is None:
                    break
                responder = Responder(writer, self._keep_alive(request))
                try:
                    await self._app(request, responder)
                except (ConnectionError, asyncio.CancelledError):
                    raise
                except Exception as exc:  # a bug in the app must not kill the server
                    if responder.started:
                        break
                    self._reject(writer, 500, f"emulator error: {type(exc).__name__}: {exc}")
                    responder.hang_up()
                if not responder.started:
                    self._reject(writer, 500, "emulator error: no response was written")
                    responder.hang_up()
                await writer.drain()
                if responder.close_after:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Only close() cancels; ending quietly keeps asyncio's stream callback from
            # reporting the cancellation as an error (it calls task.exception()).
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    @staticmethod
    def _keep_alive(request: HTTPRequest) -> bool:
        tokens = {t.strip().lower() for t in request.headers.get("connection", "").split(",")}
        if request.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens

    async def _read_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn_id: int
    ) -> HTTPRequest | None:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None  # the client closed the connection between requests
        except asyncio.LimitOverrunError:
            self._reject(writer, 431, "request head too large")
            return None
        try:
            method, target, version, headers = _parse_head(raw[:-4].lstrip(b"\r\n"))
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = await _read_chunked(reader)
            else:
                length_text = headers.get("content-length", "0") or "0"
                if not length_text.isdigit():
                    raise _BadRequest(400, "bad content-length")
                length = int(length_text)
                body = await reader.readexactly(length) if length else b""
        except _BadRequest as exc:
            self._reject(writer, exc.status, str(exc))
            return None
        except asyncio.LimitOverrunError:
            self._reject(writer, 400, "chunk line too long")
            return None
        return HTTPRequest(method, target, version, headers, body, conn_id)

    @staticmethod
    def _reject(writer: asyncio.StreamWriter, status: int, message: str) -> None:
        body = message.encode()
        head = build_head(
            status, [("content-type", "text/plain"), ("content-length", str(len(body)))]
        )
        writer.write(head + b"connection: close\r\n\r\n" + body)
