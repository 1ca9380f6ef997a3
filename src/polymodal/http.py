"""HTTP for every provider: pooled clients, timeouts, retries, SSE framing, error mapping.

- One pooled ``httpx.Client`` per process and one ``httpx.AsyncClient`` per event loop, reused
  across calls (``default_pool``, the documented module default); a caller may pass its own client.
- Retries (tenacity) on connection errors, 408, 409, 429 and 5xx, with exponential backoff and
  full jitter, honouring ``Retry-After`` / ``retry-after-ms`` / Google ``RetryInfo``; never on
  other 4xx; bounded by ``max_retries``. The first attempt runs outside tenacity so a successful
  call pays nothing for the retry machinery.
- Non-2xx responses become :mod:`polymodal.errors` exceptions built from the structured body.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import random
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from polymodal import errors

logger = logging.getLogger("polymodal")

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
MAX_RETRY_AFTER = 60.0
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=30.0)


@dataclass(slots=True)
class HTTPRequest:
    """A request ready to send. ``headers`` and ``auth`` may hold credentials: never in ``repr``."""

    method: str
    url: str
    body: Any = None  # JSON-serialisable; serialised compactly
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    auth: Any = field(default=None, repr=False)
    provider: str = ""
    model: str = ""
    content: bytes | None = field(default=None, repr=False)  # raw body instead of JSON


class ClientPool:
    """Pooled clients: one sync client per process, one async client per running event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        # loop -> (client, the async generator that closes it when the loop shuts down, its task)
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, ...]] = (
            weakref.WeakKeyDictionary()
        )

    def sync_client(self) -> httpx.Client:
        client = self._sync
        if client is None or client.is_closed:
            with self._lock:
                client = self._sync
                if client is None or client.is_closed:
                    client = self._sync = httpx.Client(limits=_LIMITS, timeout=None)
                    atexit.register(client.close)
        return client

    def async_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is not None and not entry[0].is_closed:
            client: httpx.AsyncClient = entry[0]
            return client
        client = httpx.AsyncClient(limits=_LIMITS, timeout=None, transport=_async_transport())
        # An async generator parked at its ``yield`` is finalised by the loop's
        # ``shutdown_asyncgens()`` (asyncio.run and asyncio.Runner call it), which closes the
        # client inside its own loop: no "unclosed session" warnings, no leaked sockets.
        closer = _close_with_loop(client)
        task: asyncio.Task[None] = loop.create_task(closer.__anext__())  # type: ignore[arg-type]
        self._async[loop] = (client, closer, task)
        return client

    def close(self) -> None:
        with self._lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None


async def _close_with_loop(client: httpx.AsyncClient) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await client.aclose()


def _async_transport() -> httpx.AsyncBaseTransport | None:
    """aiohttp under the httpx API when available: measured ~6x the calls/s of httpx's own
    async pool at concurrency 50 on loopback (bench/RESULTS.md)."""
    try:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport
    except ImportError:  # pragma: no cover - both are dependencies; plain httpx still works
        return None

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=_LIMITS.max_connections or 0, keepalive_timeout=30.0)
        return aiohttp.ClientSession(connector=connector)

    return AiohttpTransport(client=session)


default_pool = ClientPool()


# --------------------------------------------------------------------------- helpers


def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


def _content(req: HTTPRequest) -> bytes | None:
    if req.content is not None:
        return req.content
    if req.body is None:
        return None
    return json.dumps(req.body, separators=(",", ":"), ensure_ascii=False).encode()


def _headers(req: HTTPRequest, has_body: bool) -> dict[str, str]:
    if not has_body or req.content is not None:
        return req.headers
    return {"Content-Type": "application/json", **req.headers}


def _status_error(resp: httpx.Response, body: bytes, req: HTTPRequest) -> errors.PolymodalError:
    return errors.error_from_response(
        resp.status_code, body, provider=req.provider, model=req.model, headers=resp.headers
    )


def _transport_error(
    exc: Exception, req: HTTPRequest, *, mid_stream: bool = False
) -> errors.PolymodalError:
    where = " mid-stream" if mid_stream else ""
    host = httpx.URL(req.url).host
    if isinstance(exc, httpx.TimeoutException):
        return errors.TimeoutError(
            f"request to {host} timed out{where} ({type(exc).__name__})",
            provider=req.provider,
            model=req.model,
        )
    return errors.APIConnectionError(
        f"connection to {host} failed{where}: {type(exc).__name__}: {exc}",
        provider=req.provider,
        model=req.model,
    )


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, errors.TimeoutError | errors.APIConnectionError):
        return True
    if isinstance(exc, errors.PolymodalError) and exc.status_code in RETRY_STATUSES:
        hint = exc.retry_after
        return hint is None or hint <= MAX_RETRY_AFTER
    return False


def backoff_seconds(attempt: int, exc: BaseException | None) -> float:
    """Seconds before retry number ``attempt`` (1-based): the server's hint, else jittered backoff."""
    if isinstance(exc, errors.PolymodalError):
        hint = exc.retry_after
        if hint is not None:
            return min(hint, MAX_RETRY_AFTER)
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * (2 ** (attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


def _wait(retry_state: Any) -> float:
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None else None
    # The first attempt ran outside tenacity, so tenacity's attempt n is our retry n + 1.
    return backoff_seconds(retry_state.attempt_number + 1, exc)


def _retrying(max_retries: int) -> Any:
    import tenacity

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max_retries),
        wait=_wait,
        retry=tenacity.retry_if_exception(is_retryable),
        reraise=True,
    )


def _async_retrying(max_retries: int) -> Any:
    import tenacity

    return tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(max_retries),
        wait=_wait,
        retry=tenacity.retry_if_exception(is_retryable),
        reraise=True,
    )


# --------------------------------------------------------------------------- sync


def _send_once(
    client: httpx.Client, req: HTTPRequest, content: bytes | None, timeout: float
) -> httpx.Response:
    try:
        resp = client.request(
            req.method,
            req.url,
            content=content,
            headers=_headers(req, content is not None),
            auth=req.auth if req.auth is not None else httpx.USE_CLIENT_DEFAULT,
            timeout=_timeout(timeout),
        )
    except httpx.TransportError as exc:
        raise _transport_error(exc, req) from None
    if resp.status_code >= 400:
        raise _status_error(resp, resp.content, req)
    return resp


def _retry_after_first(first: errors.PolymodalError, max_retries: int) -> None:
    if max_retries <= 0 or not is_retryable(first):
        raise first
    logger.info("polymodal: retrying after %s (%s retries left)", type(first).__name__, max_retries)


def send(
    req: HTTPRequest, *, timeout: float, max_retries: int, client: httpx.Client | None = None
) -> httpx.Response:
    """Send with retries; return the 2xx response or raise a mapped error."""
    client = client or default_pool.sync_client()
    content = _content(req)
    try:
        return _send_once(client, req, content, timeout)
    except errors.PolymodalError as first:
        _retry_after_first(first, max_retries)
        import time

        time.sleep(backoff_seconds(1, first))
    result: httpx.Response = _retrying(max_retries)(_send_once, client, req, content, timeout)
    return result


def send_json(
    req: HTTPRequest, *, timeout: float, max_retries: int, client: httpx.Client | None = None
) -> Any:
    resp = send(req, timeout=timeout, max_retries=max_retries, client=client)
    return parse_json(resp, req)


def parse_json(resp: httpx.Response, req: HTTPRequest) -> Any:
    """The response's JSON body; a body that isn't JSON is the provider's fault, so 5xx-family."""
    try:
        return json.loads(resp.content)
    except ValueError:
        snippet = resp.content[:200].decode("utf-8", "replace")
        raise errors.InternalServerError(
            f"{req.provider or 'provider'} answered HTTP {resp.status_code} with a body that is "
            f"not JSON: {snippet!r}",
            status_code=resp.status_code,
            provider=req.provider,
            model=req.model,
        ) from None


def _open_stream_once(
    client: httpx.Client, req: HTTPRequest, content: bytes | None, timeout: float
) -> httpx.Response:
    request = client.build_request(
        req.method,
        req.url,
        content=content,
        headers=_headers(req, content is not None),
        timeout=_timeout(timeout),
    )
    try:
        resp = client.send(
            request,
            stream=True,
            auth=req.auth if req.auth is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.TransportError as exc:
        raise _transport_error(exc, req) from None
    if resp.status_code >= 400:
        try:
            body = resp.read()
        except httpx.TransportError:
            body = b""
        finally:
            resp.close()
        raise _status_error(resp, body, req)
    return resp


def open_stream(
    req: HTTPRequest, *, timeout: float, max_retries: int, client: httpx.Client | None = None
) -> httpx.Response:
    """Open a streaming response (retrying until the first byte); the caller closes it."""
    client = client or default_pool.sync_client()
    content = _content(req)
    try:
        return _open_stream_once(client, req, content, timeout)
    except errors.PolymodalError as first:
        _retry_after_first(first, max_retries)
        import time

        time.sleep(backoff_seconds(1, first))
    result: httpx.Response = _retrying(max_retries)(
        _open_stream_once, client, req, content, timeout
    )
    return result


def iter_sse_data(resp: httpx.Response, req: HTTPRequest) -> Iterator[tuple[str, str]]:
    """(event name, data) for each SSE event; stops at ``[DONE]``; maps broken connections."""
    from httpx_sse import EventSource

    try:
        for sse in EventSource(resp).iter_sse():
            if sse.data == "[DONE]":
                return
            if sse.data or sse.event != "message":
                yield sse.event, sse.data
    except httpx.TransportError as exc:
        raise _transport_error(exc, req, mid_stream=True) from None
    finally:
        resp.close()


# --------------------------------------------------------------------------- async


async def _asend_once(
    client: httpx.AsyncClient, req: HTTPRequest, content: bytes | None, timeout: float
) -> httpx.Response:
    try:
        resp = await client.request(
            req.method,
            req.url,
            content=content,
            headers=_headers(req, content is not None),
            auth=req.auth if req.auth is not None else httpx.USE_CLIENT_DEFAULT,
            timeout=_timeout(timeout),
        )
    except httpx.TransportError as exc:
        raise _transport_error(exc, req) from None
    if resp.status_code >= 400:
        raise _status_error(resp, resp.content, req)
    return resp


async def asend(
    req: HTTPRequest, *, timeout: float, max_retries: int, client: httpx.AsyncClient | None = None
) -> httpx.Response:
    client = client or default_pool.async_client()
    content = _content(req)
    try:
        return await _asend_once(client, req, content, timeout)
    except errors.PolymodalError as first:
        _retry_after_first(first, max_retries)
        await asyncio.sleep(backoff_seconds(1, first))
    result: httpx.Response = await _async_retrying(max_retries)(
        _asend_once, client, req, content, timeout
    )
    return result


async def _aopen_stream_once(
    client: httpx.AsyncClient, req: HTTPRequest, content: bytes | None, timeout: float
) -> httpx.Response:
    request = client.build_request(
        req.method,
        req.url,
        content=content,
        headers=_headers(req, content is not None),
        timeout=_timeout(timeout),
    )
    try:
        resp = await client.send(
            request,
            stream=True,
            auth=req.auth if req.auth is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.TransportError as exc:
        raise _transport_error(exc, req) from None
    if resp.status_code >= 400:
        try:
            body = await resp.aread()
        except httpx.TransportError:
            body = b""
        finally:
            await resp.aclose()
        raise _status_error(resp, body, req)
    return resp


async def aopen_stream(
    req: HTTPRequest, *, timeout: float, max_retries: int, client: httpx.AsyncClient | None = None
) -> httpx.Response:
    client = client or default_pool.async_client()
    content = _content(req)
    try:
        return await _aopen_stream_once(client, req, content, timeout)
    except errors.PolymodalError as first:
        _retry_after_first(first, max_retries)
        await asyncio.sleep(backoff_seconds(1, first))
    result: httpx.Response = await _async_retrying(max_retries)(
        _aopen_stream_once, client, req, content, timeout
    )
    return result


async def aiter_sse_data(resp: httpx.Response, req: HTTPRequest) -> AsyncIterator[tuple[str, str]]:
    from httpx_sse import EventSource

    try:
        async for sse in EventSource(resp).aiter_sse():
            if sse.data == "[DONE]":
                return
            if sse.data or sse.event != "message":
                yield sse.event, sse.data
    except httpx.TransportError as exc:
        raise _transport_error(exc, req, mid_stream=True) from None
    finally:
        await resp.aclose()
