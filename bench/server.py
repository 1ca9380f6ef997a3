"""The benchmark's local server, run as a separate process (its own GIL, pinned to its own CPU).

    python bench/server.py --kind raw|emulator [--cpus 1]

It listens on three loopback ports, one answering every request with the same pre-serialised
``chat.completion`` JSON, one with the same pre-serialised 2,000-chunk SSE stream and one with
pre-serialised OpenAI ``/v1/embeddings`` answers, prints
``{"json": port, "stream": port, "embed": port, "pid": pid, "kind": kind}`` on one line, and
serves until its stdin closes (so it never outlives the harness).

The embeddings port reads each request's JSON body for ``encoding_format`` (``"base64"`` or
float, OpenAI's default), the number of inputs and the position of the first one (the bench's
texts are numbered), and answers with the pre-built bytes for that key: 2,000 x 1,536 float32
values as base64 strings (16 MB) or as float JSON (39 MB). Each answer is built once, on the
first request that asks for it (the warm-up calls), and then only written. This port is the
raw server in both kinds: the emulator computes its vectors per request, which would measure
the emulator.

* ``emulator`` is ``polymodal.testing.Emulator`` with ``queue_json``/``queue_stream(repeat=True)``
  (asyncio streams, HTTP parsing, request recording off).
* ``raw`` is a minimal ``asyncio.Protocol`` that finds the end of each request (head +
  ``Content-Length``) and writes the pre-built response bytes: the cheapest server we can write
  in Python, for when the emulator's own cost would show up in the ratios.

Both send the stream with chunked transfer encoding, one HTTP chunk per SSE event, like real
servers, but write the whole pre-framed body at once so the server costs nearly nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    CHAT_RESPONSE,
    HOST,
    EmbedPool,
    dumps,
    embed_index,
    parse_cpus,
    pin,
    stream_events,
)


def _head(status_line: bytes, headers: list[tuple[str, str]]) -> bytes:
    lines = [status_line] + [f"{k}: {v}\r\n".encode() for k, v in headers]
    return b"".join(lines) + b"\r\n"


def raw_responses() -> tuple[bytes, bytes]:
    body = dumps(CHAT_RESPONSE)
    json_resp = (
        _head(
            b"HTTP/1.1 200 OK\r\n",
            [
                ("content-type", "application/json"),
                ("server", "polymodal-bench"),
                ("content-length", str(len(body))),
            ],
        )
        + body
    )
    frames = [b"data: " + dumps(e) + b"\n\n" for e in stream_events()] + [b"data: [DONE]\n\n"]
    framed = b"".join(b"%x\r\n%b\r\n" % (len(f), f) for f in frames) + b"0\r\n\r\n"
    stream_resp = (
        _head(
            b"HTTP/1.1 200 OK\r\n",
            [
                ("content-type", "text/event-stream; charset=utf-8"),
                ("server", "polymodal-bench"),
                ("cache-control", "no-cache"),
                ("transfer-encoding", "chunked"),
            ],
        )
        + framed
    )
    return json_resp, stream_resp


class _Fixed(asyncio.Protocol):
    """Answers every complete request on the connection with ``response``."""

    __slots__ = ("buf", "response", "transport")

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].lower()
            at = head.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else None])
            total = end + 4 + length
            if len(buf) < total:
                break
            buf = buf[total:]
            assert self.transport is not None
            self.transport.write(self.response)
        self.buf = buf


class _Embeddings(asyncio.Protocol):
    """Answers each ``/v1/embeddings`` request with the pre-built answer for its body's
    ``encoding_format``, input count and first input (see the module docstring)."""

    def __init__(self, answers: _EmbedAnswers) -> None:
        self.answers = answers
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].lower()
            at = head.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else None])
            total = end + 4 + length
            if len(buf) < total:
                break
            body = buf[end + 4 : total]
            buf = buf[total:]
            assert self.transport is not None
            self.transport.write(self.answers.get(body))
        self.buf = buf


class _EmbedAnswers:
    """Full HTTP responses by (encoding_format, first input, input count), built on demand."""

    def __init__(self) -> None:
        self.pool = EmbedPool()
        self.cache: dict[tuple[str, int, int], bytes] = {}

    def get(self, body: bytes) -> bytes:
        try:
            request = json.loads(body)
            inputs = request["input"]
            inputs = [inputs] if isinstance(inputs, str) else list(inputs)
            fmt = "base64" if request.get("encoding_format") == "base64" else "float"
            key = (fmt, embed_index(inputs[0]) if inputs and isinstance(inputs[0], str) else 0)
        except (ValueError, KeyError, TypeError) as exc:
            payload = dumps({"error": {"message": f"bench server: {exc}", "type": "invalid"}})
            return _response(b"HTTP/1.1 400 Bad Request\r\n", payload)
        full = (*key, len(inputs))
        answer = self.cache.get(full)
        if answer is None:
            answer = _response(b"HTTP/1.1 200 OK\r\n", self.pool.response(*full))
            self.cache[full] = answer
        return answer


def _response(status: bytes, body: bytes) -> bytes:
    headers = [
        ("content-type", "application/json"),
        ("server", "polymodal-bench"),
        ("content-length", str(len(body))),
    ]
    return _head(status, headers) + body


async def _serve_embeddings(ready: dict[str, int]) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    answers = _EmbedAnswers()
    server = await loop.create_server(
        lambda: _Embeddings(answers), HOST, 0, backlog=256, reuse_address=True
    )
    ready["embed"] = server.sockets[0].getsockname()[1]
    return server


async def _serve_raw(ready: dict[str, int], stop: asyncio.Event) -> None:
    json_resp, stream_resp = raw_responses()
    loop = asyncio.get_running_loop()
    servers = []
    for name, resp in (("json", json_resp), ("stream", stream_resp)):
        server = await loop.create_server(
            functools.partial(_Fixed, resp), HOST, 0, backlog=2048, reuse_address=True
        )
        ready[name] = server.sockets[0].getsockname()[1]
        servers.append(server)
    servers.append(await _serve_embeddings(ready))
    _announce(ready)
    await stop.wait()
    for server in servers:
        server.close()


def _announce(ready: dict[str, int]) -> None:
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()


def run_raw(ready: dict[str, int]) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wait_stdin() -> None:
            sys.stdin.read()
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_stdin, daemon=True).start()
        await _serve_raw(ready, stop)

    asyncio.run(main())


def run_emulator(ready: dict[str, int]) -> None:
    from polymodal.testing import Emulator

    # The embeddings port stays the raw responder (module docstring), on its own thread.
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(_serve_embeddings(ready), loop).result()

    emulators = []
    for name in ("json", "stream"):
        emu = Emulator(HOST, 0, record=False).start()
        if name == "json":
            emu.queue_json(CHAT_RESPONSE, repeat=True)
        else:
            emu.queue_stream(stream_events(), repeat=True)
        ready[name] = int(emu.url.rsplit(":", 1)[1])
        emulators.append(emu)
    _announce(ready)
    sys.stdin.read()
    for emu in emulators:
        emu.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=("raw", "emulator"), default="raw")
    parser.add_argument("--cpus", default="")
    args = parser.parse_args()
    pin(parse_cpus(args.cpus))
    ready: dict[str, int] = {"pid": os.getpid()}
    {"raw": run_raw, "emulator": run_emulator}[args.kind](ready)


if __name__ == "__main__":
    main()
