"""The benchmark's client side: one scenario per process, results as one JSON object on stdout.

    python bench/client.py {ceiling,sequential,async,stream,embeddings} --json-url URL
                           --stream-url URL [--embed-url URL] [--server-pid PID] [--cpus 0]
                           [--scale 1.0]

``bench/run.py`` starts it (pinned to the CPU the server is not on) and reads the JSON. Every
scenario interleaves the floor and the subjects round by round (the order rotates each round) and
reports per-round numbers; ``run.py`` takes medians. The server process's CPU time over each
timed segment is reported too, so a result near the server's own ceiling can be flagged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    API_KEY,
    EMBED_DIMS,
    EMBED_MODEL,
    EMBED_TEXTS,
    MESSAGES,
    MODEL,
    REQUEST_BODY,
    STREAM_CHUNKS,
    EmbedPool,
    dumps,
    embed_body,
    embed_texts,
    parse_cpus,
    pin,
    process_cpu_seconds,
)

AUTH = {"Authorization": f"Bearer {API_KEY}"}
PROMPT = MESSAGES[0]["content"]
EXPECTED = "Hello! It is nice to meet you; how can I help today?"

Result = dict[str, Any]


class Meter:
    """Wall time, the client's own CPU time and the server's CPU time of one timed segment.

    The client CPU time (user + system, all threads) does not grow while other work on the
    machine holds the CPU, so it is a cross-check for wall-time ratios on a busy machine.
    """

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.wall = 0.0
        self.client_cpu = 0.0
        self.server_cpu = 0.0

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        cpu0 = process_cpu_seconds(self.server_pid) if self.server_pid else 0.0
        own0 = time.process_time()
        t0 = time.perf_counter()
        yield
        self.wall = time.perf_counter() - t0
        self.client_cpu = time.process_time() - own0
        if self.server_pid:
            self.server_cpu = process_cpu_seconds(self.server_pid) - cpu0

    @property
    def server_util(self) -> float:
        return self.server_cpu / self.wall if self.wall else 0.0


def chat_polymodal() -> Any:
    """``ChatPolymodal`` if the LangChain layer is importable yet, else None."""
    import importlib

    try:
        return importlib.import_module("langchain_polymodal").ChatPolymodal
    except (ImportError, AttributeError):
        return None


def _rotate(names: list[str], r: int) -> list[str]:
    k = r % len(names)
    return names[k:] + names[:k]


def _record(
    out: dict[str, dict[str, list[float]]],
    name: str,
    value: float,
    meter: Meter,
    cpu_per_unit: float,
) -> None:
    """One round's ``value`` plus the client CPU per unit (same unit as latency values: µs per
    call, ms per stream; µs per call for throughput) and the server's CPU share."""
    cell = out.setdefault(name, {"values": [], "server_util": [], "client_cpu": []})
    cell["values"].append(value)
    cell["server_util"].append(meter.server_util)
    cell["client_cpu"].append(cpu_per_unit)


def _errors_to_cells(subjects: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {name: {"error": msg} for name, msg in errors.items() if name not in subjects}


# --------------------------------------------------------------------------- the server ceiling


def _http_request(path: str, port: int) -> bytes:
    body = dumps(REQUEST_BODY)
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer {API_KEY}\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _probe_length(port: int, request: bytes, end_marker: bytes | None) -> int:
    """The byte length of the server's (fixed) answer, read once over a blocking socket."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        data = b""
        while True:
            data += sock.recv(1 << 20)
            head_end = data.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            if end_marker is None:
                head = data[:head_end].lower()
                at = head.find(b"content-length:")
                length = int(head[at + 15 :].split(b"\r\n", 1)[0])
                total = head_end + 4 + length
                if len(data) >= total:
                    return total
            elif data.endswith(end_marker):
                return len(data)


class _LoadConn(asyncio.Protocol):
    """One keep-alive connection that sends ``request`` again as soon as a full answer is in."""

    def __init__(self, request: bytes, size: int, state: dict[str, Any]) -> None:
        self.request, self.size, self.state = request, size, state
        self.got = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._next()

    def _next(self) -> None:
        state = self.state
        if state["left"] <= 0:
            state["active"] -= 1
            if state["active"] == 0:
                state["done"].set_result(None)
            return
        state["left"] -= 1
        assert self.transport is not None
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.got += len(data)
        while self.got >= self.size:
            self.got -= self.size
            self.state["count"] += 1
            self._next()


async def _load(port: int, request: bytes, size: int, conc: int, n: int) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {"left": n, "active": conc, "count": 0, "done": loop.create_future()}
    t0 = time.perf_counter()
    transports = []
    for _ in range(conc):
        t, _p = await loop.create_connection(
            lambda: _LoadConn(request, size, state), "127.0.0.1", port
        )
        transports.append(t)
    await state["done"]
    elapsed = time.perf_counter() - t0
    for t in transports:
        t.close()
    return elapsed, state["count"]


def scenario_ceiling(args: argparse.Namespace) -> Result:
    """What the server itself can do, driven by the cheapest client we can write."""
    jport = int(args.json_url.rsplit(":", 1)[1].split("/", 1)[0])
    sport = int(args.stream_url.rsplit(":", 1)[1].split("/", 1)[0])
    jreq = _http_request("/v1/chat/completions", jport)
    sreq = _http_request("/v1/chat/completions", sport)
    jsize = _probe_length(jport, jreq, None)
    ssize = _probe_length(sport, sreq, b"0\r\n\r\n")
    meter = Meter(args.server_pid)
    out: Result = {"json_response_bytes": jsize, "stream_response_bytes": ssize}

    # Sequential round trip over one blocking keep-alive socket.
    n = max(200, int(3000 * args.scale))
    rtts: list[float] = []
    utils: list[float] = []
    with socket.create_connection(("127.0.0.1", jport)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for r in range(4):
            with meter.measure():
                for _ in range(n if r else 200):
                    sock.sendall(jreq)
                    got = 0
                    while got < jsize:
                        got += len(sock.recv(65536))
            if r:
                rtts.append(meter.wall / n * 1e6)
                utils.append(meter.server_util)
    out["sequential_us"] = {"values": rtts, "server_util": utils}

    for conc in (50, 200):
        rates: list[float] = []
        utils = []
        n = max(2000, int(20000 * args.scale))
        for r in range(4):
            with meter.measure():
                elapsed, count = asyncio.run(_load(jport, jreq, jsize, conc, n if r else conc * 4))
            if r:
                rates.append(count / elapsed)
                utils.append(meter.server_util)
        out[f"async_c{conc}_rps"] = {"values": rates, "server_util": utils}

    per_stream: list[float] = []
    utils = []
    with socket.create_connection(("127.0.0.1", sport)) as sock:
        for r in range(4):
            k = 3 if r == 0 else max(5, int(20 * args.scale))
            with meter.measure():
                for _ in range(k):
                    sock.sendall(sreq)
                    got = 0
                    while got < ssize:
                        got += len(sock.recv(1 << 20))
            if r:
                per_stream.append(meter.wall / k * 1e3)
                utils.append(meter.server_util)
    out["stream_ms"] = {"values": per_stream, "server_util": utils}
    return out


# --------------------------------------------------------------------------- sequential calls


def _sequential_subjects(
    url: str, base: str
) -> tuple[dict[str, Callable[[], Any]], dict[str, str]]:
    import httpx

    import polymodal

    client = httpx.Client()

    def floor() -> Any:
        return json.loads(client.post(url, json=REQUEST_BODY, headers=AUTH).content)

    def core() -> Any:
        return polymodal.completion(model=MODEL, messages=MESSAGES, api_base=base, api_key=API_KEY)

    subjects: dict[str, Callable[[], Any]] = {"floor": floor, "core": core}
    errors: dict[str, str] = {}
    chat_cls = chat_polymodal()
    if chat_cls is None:
        errors["langchain"] = "langchain_polymodal.ChatPolymodal is not importable"
    else:
        model = chat_cls(model=MODEL, api_base=base, api_key=API_KEY)

        def langchain() -> Any:
            return model.invoke(PROMPT)

        subjects["langchain"] = langchain
    return subjects, errors


def _check_sequential(name: str, result: Any) -> None:
    if name == "floor":
        text = result["choices"][0]["message"]["content"]
    elif name == "core":
        text = result.choices[0].message.content
    else:
        text = result.content
    if text != EXPECTED:
        raise AssertionError(f"{name} returned {text!r}")


def scenario_sequential(args: argparse.Namespace) -> Result:
    base = args.json_url
    url = f"{base}/chat/completions"
    subjects, errors = _sequential_subjects(url, base)
    for name, call in list(subjects.items()):
        try:
            _check_sequential(name, call())
            for _ in range(max(50, int(300 * args.scale))):
                call()
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            del subjects[name]
    rounds = 10
    per_round = max(50, int(2000 * args.scale) // rounds)
    out: dict[str, Any] = {}
    meter = Meter(args.server_pid)
    for r in range(rounds):
        for name in _rotate(list(subjects), r):
            call = subjects[name]
            with meter.measure():
                for _ in range(per_round):
                    call()
            _record(
                out, name, meter.wall / per_round * 1e6, meter, meter.client_cpu / per_round * 1e6
            )
    out.update(_errors_to_cells(subjects, errors))
    out["_meta"] = {"calls_per_subject": rounds * per_round, "rounds": rounds, "unit": "us/call"}
    return out


# --------------------------------------------------------------------------- async throughput

AsyncCall = Callable[[], Awaitable[Any]]
AsyncFactory = Callable[[], contextlib.AbstractAsyncContextManager[AsyncCall]]


def _async_subjects(url: str, base: str) -> tuple[dict[str, AsyncFactory], dict[str, str]]:
    import aiohttp
    import httpx

    import polymodal

    @contextlib.asynccontextmanager
    async def floor() -> AsyncIterator[AsyncCall]:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        async with httpx.AsyncClient(limits=limits) as client:

            async def call() -> Any:
                resp = await client.post(url, json=REQUEST_BODY, headers=AUTH)
                return json.loads(resp.content)

            yield call

    @contextlib.asynccontextmanager
    async def aiohttp_ref() -> AsyncIterator[AsyncCall]:
        connector = aiohttp.TCPConnector(limit=1000)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def call() -> Any:
                async with session.post(url, json=REQUEST_BODY, headers=AUTH) as resp:
                    return json.loads(await resp.read())

            yield call

    @contextlib.asynccontextmanager
    async def httpx_aiohttp_ref() -> AsyncIterator[AsyncCall]:
        # httpx's API on the httpx-aiohttp transport, set up as polymodal.http does: the
        # transport cost polymodal pays before any of its own work.
        from httpx_aiohttp import AiohttpTransport

        def session() -> aiohttp.ClientSession:
            return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))

        transport = AiohttpTransport(client=session)
        async with httpx.AsyncClient(transport=transport) as client:

            async def call() -> Any:
                resp = await client.post(url, json=REQUEST_BODY, headers=AUTH)
                return json.loads(resp.content)

            yield call

    @contextlib.asynccontextmanager
    async def core() -> AsyncIterator[AsyncCall]:
        async def call() -> Any:
            return await polymodal.acompletion(
                model=MODEL, messages=MESSAGES, api_base=base, api_key=API_KEY
            )

        yield call

    subjects: dict[str, AsyncFactory] = {
        "floor": floor,
        "aiohttp": aiohttp_ref,
        "httpx_aiohttp": httpx_aiohttp_ref,
        "core": core,
    }
    errors: dict[str, str] = {}
    chat_cls = chat_polymodal()
    if chat_cls is None:
        errors["langchain"] = "langchain_polymodal.ChatPolymodal is not importable"
    else:
        model = chat_cls(model=MODEL, api_base=base, api_key=API_KEY)

        @contextlib.asynccontextmanager
        async def langchain() -> AsyncIterator[AsyncCall]:
            async def call() -> Any:
                return await model.ainvoke(PROMPT)

            yield call

        subjects["langchain"] = langchain
    return subjects, errors


async def _drive(call: AsyncCall, conc: int, n: int) -> None:
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(conc)))


async def _async_trial(
    factory: AsyncFactory, conc: int, target_s: float, max_n: int, meter: Meter
) -> tuple[float, int]:
    async with factory() as call:
        first = await call()
        if not first:
            raise AssertionError("empty answer")
        warm = conc  # every worker opens its connection
        t0 = time.perf_counter()
        await _drive(call, conc, warm)
        rate = warm / (time.perf_counter() - t0)
        # Size the timed run to about target_s seconds (slow subjects get fewer requests).
        n = int(min(max_n, max(conc * 2, rate * target_s)))
        with meter.measure():
            await _drive(call, conc, n)
    return n / meter.wall, n


def scenario_async(args: argparse.Namespace) -> Result:
    base = args.json_url
    url = f"{base}/chat/completions"
    subjects, errors = _async_subjects(url, base)
    meter = Meter(args.server_pid)
    rounds = 3
    max_n = max(500, int(4000 * args.scale))
    target_s = 1.2 * args.scale
    out: dict[str, Any] = {}
    for conc in (50, 200):
        cells: dict[str, Any] = {}
        active = dict(subjects)
        for r in range(rounds):
            for name in _rotate(list(active), r):
                if name not in active:
                    continue
                try:
                    rate, n = asyncio.run(_async_trial(active[name], conc, target_s, max_n, meter))
                except Exception as exc:
                    cells[name] = {"error": f"{type(exc).__name__}: {exc}"}
                    del active[name]
                    continue
                _record(cells, name, rate, meter, meter.client_cpu / n * 1e6)
                cells[name].setdefault("n", []).append(n)
        cells.update(_errors_to_cells(subjects, errors))
        out[f"c{conc}"] = cells
    out["_meta"] = {"rounds": rounds, "max_requests": max_n, "unit": "calls/s"}
    return out


# --------------------------------------------------------------------------- SSE stream


def _stream_subjects(url: str, base: str) -> tuple[dict[str, Callable[[], int]], dict[str, str]]:
    import httpx

    import polymodal

    client = httpx.Client()

    def floor() -> int:
        count = 0
        with client.stream("POST", url, json={**REQUEST_BODY, "stream": True}, headers=AUTH) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    event = json.loads(data)
                    if event["choices"]:
                        count += 1
        return count

    def core() -> int:
        count = 0
        for chunk in polymodal.completion(
            model=MODEL, messages=MESSAGES, api_base=base, api_key=API_KEY, stream=True
        ):
            if chunk.choices:
                count += 1
        return count

    subjects: dict[str, Callable[[], int]] = {"floor": floor, "core": core}
    errors: dict[str, str] = {}
    chat_cls = chat_polymodal()
    if chat_cls is None:
        errors["langchain"] = "langchain_polymodal.ChatPolymodal is not importable"
    else:
        model = chat_cls(model=MODEL, api_base=base, api_key=API_KEY)

        def langchain() -> int:
            return sum(1 for _ in model.stream(PROMPT))

        subjects["langchain"] = langchain
    return subjects, errors


def scenario_stream(args: argparse.Namespace) -> Result:
    base = args.stream_url
    url = f"{base}/chat/completions"
    subjects, errors = _stream_subjects(url, base)
    counts: dict[str, int] = {}
    for name, call in list(subjects.items()):
        try:
            counts[name] = call()
            for _ in range(2):
                call()
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            del subjects[name]
    rounds = 8
    per_round = max(2, int(3 * args.scale))
    out: dict[str, Any] = {}
    meter = Meter(args.server_pid)
    for r in range(rounds):
        for name in _rotate(list(subjects), r):
            call = subjects[name]
            with meter.measure():
                for _ in range(per_round):
                    call()
            _record(
                out, name, meter.wall / per_round * 1e3, meter, meter.client_cpu / per_round * 1e3
            )
    for name, count in counts.items():
        if name in out:
            out[name]["chunks"] = count
    out.update(_errors_to_cells(subjects, errors))
    out["_meta"] = {
        "streams_per_subject": rounds * per_round,
        "rounds": rounds,
        "events": STREAM_CHUNKS,
        "unit": "ms/stream",
    }
    return out


# --------------------------------------------------------------------------- embeddings


def polymodal_embeddings() -> Any:
    """``PolymodalEmbeddings`` if the LangChain layer has it yet, else None."""
    import importlib

    try:
        return importlib.import_module("langchain_polymodal").PolymodalEmbeddings
    except (ImportError, AttributeError):
        return None


def _floats_from_base64(data: str) -> list[float]:
    from array import array
    from binascii import a2b_base64

    values = array("f")
    values.frombytes(a2b_base64(data))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def _embed_subjects(
    base: str, *, profiling: bool = False
) -> tuple[dict[str, Callable[[], list[list[float]]]], dict[str, str]]:
    """Every subject embeds the same 2,000 texts and returns their vectors as lists of floats.

    ``floor`` is raw httpx sending what polymodal sends (``encoding_format: "base64"``), then
    ``json.loads`` and each base64 vector decoded to floats (``array('f')``), the least work any
    client that returns vectors does; ``float_json`` asks for float JSON instead (reference).

    ``profiling``: ``PolymodalEmbeddings`` sends its batches one after another
    (``max_concurrency=1``) so that cProfile, which sees only the calling thread, sees them.
    """
    import httpx

    import polymodal

    url = f"{base}/embeddings"
    texts = embed_texts()
    client = httpx.Client(timeout=60)
    b64_body, float_body = embed_body("base64", texts), embed_body("float", texts)

    def floor() -> list[list[float]]:
        data = json.loads(client.post(url, json=b64_body, headers=AUTH).content)["data"]
        return [_floats_from_base64(item["embedding"]) for item in data]

    def float_json() -> list[list[float]]:
        data = json.loads(client.post(url, json=float_body, headers=AUTH).content)["data"]
        return [item["embedding"] for item in data]

    def core() -> list[list[float]]:
        resp = polymodal.embedding(model=EMBED_MODEL, input=texts, api_base=base, api_key=API_KEY)
        return [item.embedding for item in resp.data]

    subjects: dict[str, Callable[[], list[list[float]]]] = {
        "floor": floor,
        "float_json": float_json,
        "core": core,
    }
    errors: dict[str, str] = {}
    emb_cls = polymodal_embeddings()
    if emb_cls is None:
        errors["langchain"] = "langchain_polymodal.PolymodalEmbeddings is not importable"
    else:
        extra = {"max_concurrency": 1} if profiling else {}
        model = emb_cls(model=EMBED_MODEL, api_base=base, api_key=API_KEY, **extra)

        def langchain() -> list[list[float]]:
            vectors: list[list[float]] = model.embed_documents(texts)
            return vectors

        subjects["langchain"] = langchain
    return subjects, errors


def _check_vectors(name: str, vectors: list[list[float]], pool: EmbedPool) -> None:
    """Every vector present, in input order, with the server's values (float32 exactly; the
    float-JSON reference to float32 precision)."""
    if len(vectors) != EMBED_TEXTS:
        raise AssertionError(f"{name}: {len(vectors)} vectors, expected {EMBED_TEXTS}")
    import struct

    for i, vector in enumerate(vectors):
        if type(vector) is not list or len(vector) != EMBED_DIMS:
            raise AssertionError(f"{name}: vector {i} is not {EMBED_DIMS} floats")
        if name == "float_json":
            vector = list(struct.unpack(f"<{EMBED_DIMS}f", struct.pack(f"<{EMBED_DIMS}f", *vector)))
        if vector != pool.vector(i):
            raise AssertionError(f"{name}: vector {i} differs from what the server sent")


def _embed_request(port: int, encoding_format: str) -> bytes:
    body = dumps(embed_body(encoding_format))
    head = (
        f"POST /v1/embeddings HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\nauthorization: Bearer {API_KEY}\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _read_answer(sock: socket.socket, buf: bytearray) -> int:
    """Read one ``content-length`` answer off ``sock`` (the body only counted); its size."""
    data = b""
    while (end := data.find(b"\r\n\r\n")) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    head = data[:end].lower()
    at = head.find(b"content-length:")
    total = end + 4 + int(head[at + 15 :].split(b"\r\n", 1)[0])
    got = len(data)
    while got < total:
        n = sock.recv_into(buf, min(len(buf), total - got))
        if not n:
            raise ConnectionError("the server closed the connection")
        got += n
    return total


def _socket_ceiling(port: int, reps: int) -> tuple[list[float], dict[str, int]]:
    """Seconds per answer for the cheapest client: one blocking keep-alive socket sending the
    floor's request bytes and counting the answer's bytes (no parsing): the server's ceiling.
    Also the answers' sizes in both encodings."""
    buf = bytearray(1 << 22)
    sizes = {}
    times = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for fmt in ("float", "base64"):
            sizes[fmt] = _read_answer_after(sock, _embed_request(port, fmt), buf)
        request = _embed_request(port, "base64")
        for _ in range(reps):
            t0 = time.perf_counter()
            _read_answer_after(sock, request, buf)
            times.append(time.perf_counter() - t0)
    return times, sizes


def _read_answer_after(sock: socket.socket, request: bytes, buf: bytearray) -> int:
    sock.sendall(request)
    return _read_answer(sock, buf)


def scenario_embeddings(args: argparse.Namespace) -> Result:
    base = args.embed_url
    if not base:
        raise SystemExit("the embeddings scenario needs --embed-url")
    subjects, errors = _embed_subjects(base)
    pool = EmbedPool()
    for name, call in list(subjects.items()):
        try:
            _check_vectors(name, call(), pool)
            if name != "float_json":  # the slow reference: its checked call is its warm-up
                call()
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            del subjects[name]
    # The targets' rounds first; the float-JSON reference (4x slower, and its 39 MB answers
    # churn memory, which slows whatever runs next) afterwards in rounds of its own, paired
    # with a floor call of the same round ("ref_floor").
    rounds = max(4, round(12 * args.scale))
    ref_rounds = 4 if "float_json" in subjects and "floor" in subjects else 0
    out: dict[str, Any] = {}
    meter = Meter(args.server_pid)
    port = int(base.rsplit(":", 1)[1].split("/", 1)[0])
    ceiling: list[float] = []
    sizes: dict[str, int] = {}
    main = [n for n in subjects if n != "float_json"]
    for r in range(rounds + ref_rounds):
        names = main if r < rounds else ["floor", "float_json"]
        for name in _rotate(names, r):
            call = subjects[name]
            with meter.measure():
                call()
            cell = "ref_floor" if r >= rounds and name == "floor" else name
            _record(out, cell, EMBED_TEXTS / meter.wall, meter, meter.client_cpu * 1e3)
        if r < rounds:
            times, sizes = _socket_ceiling(port, 2)
            ceiling += times
    out.update(_errors_to_cells(subjects, errors))
    out["_meta"] = {
        "texts": EMBED_TEXTS,
        "dims": EMBED_DIMS,
        "calls_per_subject": rounds,
        "rounds": rounds,
        "float_json_rounds": ref_rounds,
        "unit": "texts/s",
        "client_cpu_unit": "ms/call",
        "socket_ms": [t * 1e3 for t in ceiling],
        "response_bytes": sizes,
    }
    return out


# --------------------------------------------------------------------------- profiles


def _package_of(filename: str, func: str) -> str:
    """A coarse owner for a profiled function: the package, the stdlib module, or C code."""
    if filename == "~":
        low = func.lower()
        if any(w in low for w in ("recv", "send", "select", "poll", "socket", "connect")):
            return "socket/select (C: syscalls and waiting for the server)"
        if "json" in low or "scanner" in low or "encoder" in low:
            return "json (C)"
        if "pydantic" in low or "validate" in low:
            return "pydantic-core (C)"
        return "other C builtins"
    path = filename.replace("\\", "/")
    for marker, name in (
        ("/integrations/langchain_polymodal/", "langchain_polymodal"),
        ("/src/polymodal/", "polymodal"),
    ):
        if marker in path:
            return name
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    match = path.split("/lib/python3", 1)
    if len(match) == 2 and "/" in match[1]:
        return "stdlib " + match[1].split("/", 2)[1].removesuffix(".py")
    return "other"


def _short(filename: str, line: int, func: str) -> str:
    if filename == "~":
        return func
    path = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/src/", "/integrations/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line}({func})"


def scenario_profile(args: argparse.Namespace) -> Result:
    """cProfile one subject of one scenario; self time grouped by package, and the top
    functions. cProfile inflates Python-heavy code, so read the shares, not the totals."""
    import cProfile
    import pstats

    kind, name = args.target.split(":", 1)
    if kind == "sequential":
        seq, _ = _sequential_subjects(f"{args.json_url}/chat/completions", args.json_url)
        call = seq[name]
        n = max(100, int(1000 * args.scale))
        for _ in range(100):
            call()

        def work() -> None:
            for _ in range(n):
                call()

    elif kind == "embeddings":
        embeds, _ = _embed_subjects(args.embed_url, profiling=True)
        ecall = embeds[name]
        n = max(3, int(8 * args.scale))
        ecall()

        def work() -> None:
            for _ in range(n):
                ecall()

    elif kind == "stream":
        streams, _ = _stream_subjects(f"{args.stream_url}/chat/completions", args.stream_url)
        scall = streams[name]
        n = max(2, int(8 * args.scale))
        scall()

        def work() -> None:
            for _ in range(n):
                scall()

    else:
        conc = int(kind.removeprefix("async"))
        factories, _ = _async_subjects(f"{args.json_url}/chat/completions", args.json_url)
        factory = factories[name]
        n = max(500, int(2000 * args.scale))

        async def trial() -> None:
            async with factory() as acall:
                await _drive(acall, conc, conc * 2)
                profiler.enable()
                await _drive(acall, conc, n)
                profiler.disable()

        def work() -> None:
            asyncio.run(trial())

    # CPU time, not wall time: waiting for the server is not work, and the harness compares
    # profiles to the client CPU time it measured.
    profiler = cProfile.Profile(time.process_time)
    t0 = time.perf_counter()
    if kind.startswith("async"):
        work()
    else:
        profiler.runcall(work)
    wall = time.perf_counter() - t0
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_pkg: dict[str, float] = {}
    funcs: dict[str, float] = {}
    total = 0.0
    for (filename, line, func), (_cc, _nc, tt, _ct, _callers) in raw.items():
        total += tt
        pkg = _package_of(filename, func)
        by_pkg[pkg] = by_pkg.get(pkg, 0.0) + tt
        key = _short(filename, line, func)
        funcs[key] = funcs.get(key, 0.0) + tt
    top = sorted(funcs.items(), key=lambda kv: -kv[1])[:60]
    return {
        "target": args.target,
        "iterations": n,
        "wall_s": wall,
        "profiled_s": total,
        # seconds of (profiled) self time per iteration, by owner and by function
        "per_iter_by_package": {k: v / n for k, v in by_pkg.items()},
        "per_iter_by_function": {k: v / n for k, v in top},
    }


SCENARIOS: dict[str, Callable[[argparse.Namespace], Result]] = {
    "profile": scenario_profile,
    "ceiling": scenario_ceiling,
    "sequential": scenario_sequential,
    "async": scenario_async,
    "stream": scenario_stream,
    "embeddings": scenario_embeddings,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--json-url", required=True)
    parser.add_argument("--stream-url", required=True)
    parser.add_argument("--embed-url", default="", help="the server's embeddings base URL")
    parser.add_argument("--server-pid", type=int, default=0)
    parser.add_argument("--cpus", default="")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--target", default="", help="profile only: e.g. stream:core, async50:core, embeddings:core"
    )
    args = parser.parse_args()
    for url in (args.json_url, args.stream_url, args.embed_url or "http://127.0.0.1:"):
        if not url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"refusing to send traffic anywhere but 127.0.0.1: {url}")
    pin(parse_cpus(args.cpus))
    result = SCENARIOS[args.scenario](args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
