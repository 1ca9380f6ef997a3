"""HTTP for every provider: pooled clients, timeouts, retries, SSE framing, error mapping.

- One pooled ``httpx.Client`` per process, reused across calls (``default_pool``, the documented
  module default); a caller may pass its own client.
- Async calls without a caller's client go straight through one ``aiohttp.ClientSession`` per
  event loop (the *fast path*: httpx's request/response models cost ~3x aiohttp's own client
  CPU per call, bench/RESULTS.md). They fall back to one ``httpx.AsyncClient`` per event loop (on
  the httpx-aiohttp transport) when the request's ``auth`` is an ``httpx.Auth`` without the
  async header hook described at :func:`arequest`, or when proxy environment variables are set
  (httpx honours them; this path leaves proxies to httpx). Caller-supplied clients are used as
  given.
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
import os
import random
import threading
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from polymodal import errors
from polymodal._sse import SSEDecoder

if TYPE_CHECKING:
    import aiohttp

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


class Response(Protocol):
    """What callers read of an answer: an ``httpx.Response`` or the fast path's :class:`AioResponse`."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...  # case-insensitive
    @property
    def content(self) -> bytes: ...


class AioResponse:
    """A whole answer read on the aiohttp fast path (headers: a case-insensitive multidict)."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    def to_httpx(self) -> httpx.Response:
        """The same answer as an ``httpx.Response``. The body is already decoded, so a
        ``Content-Encoding`` (and the ``Content-Length`` of the encoded body) is left out."""
        headers = list(self.headers.items())
        if "content-encoding" in self.headers:
            drop = ("content-encoding", "content-length")
            headers = [(k, v) for k, v in headers if k.lower() not in drop]
        return httpx.Response(self.status_code, headers=headers, content=self.content)


class ClientPool:
    """Pooled clients: one sync client per process; per running event loop one async client and
    one aiohttp session (the fast path)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        # loop -> (client, the async generator that closes it when the loop shuts down, its task)
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, ...]] = (
            weakref.WeakKeyDictionary()
        )
        # loop -> (session or None when the fast path is off for this loop, closer, task)
        self._aio: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, ...]] = (
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
        closer = _close_with_loop(client.aclose)
        task: asyncio.Task[None] = loop.create_task(closer.__anext__())  # type: ignore[arg-type]
        self._async[loop] = (client, closer, task)
        return client

    def aiohttp_session(self) -> aiohttp.ClientSession | None:
        """This loop's aiohttp session, or None when the fast path is off (no aiohttp, or proxy
        environment variables, which only httpx honours here)."""
        loop = asyncio.get_running_loop()
        entry = self._aio.get(loop)
        if entry is not None and (entry[0] is None or not entry[0].closed):
            session: aiohttp.ClientSession | None = entry[0]
            return session
        session = _aiohttp_session()
        if session is None:
            self._aio[loop] = (None,)
            return None
        closer = _close_with_loop(session.close)
        task: asyncio.Task[None] = loop.create_task(closer.__anext__())  # type: ignore[arg-type]
        self._aio[loop] = (session, closer, task)
        return session

    def close(self) -> None:
        with self._lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None


async def _close_with_loop(close: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await close()


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


_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


def _aiohttp_session() -> aiohttp.ClientSession | None:
    if any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARS):
        return None
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - a dependency; the httpx path still works
        return None
    connector = aiohttp.TCPConnector(limit=_LIMITS.max_connections or 0, keepalive_timeout=30.0)
    # No automatic Content-Type (httpx sends none for a raw body without one either).
    return aiohttp.ClientSession(connector=connector, skip_auto_headers=("Content-Type",))


default_pool = ClientPool()


# --------------------------------------------------------------------------- helpers


_TIMEOUTS: dict[float, Any] = {}
_AIO_TIMEOUTS: dict[float, Any] = {}


def _timeout(seconds: float) -> httpx.Timeout:
    """``seconds`` for each read, write and pool wait; at most 10 s to connect (cached)."""
    found: httpx.Timeout | None = _TIMEOUTS.get(seconds)
    if found is None:
        if len(_TIMEOUTS) > 64:
            _TIMEOUTS.clear()
        found = _TIMEOUTS[seconds] = httpx.Timeout(seconds, connect=min(seconds, 10.0))
    return found


def _aio_timeout(seconds: float) -> Any:
    """The same limits as :func:`_timeout` for aiohttp: no total, ``seconds`` per socket read and
    for a pooled connection, at most 10 s for the TCP/TLS connect."""
    found = _AIO_TIMEOUTS.get(seconds)
    if found is None:
        from aiohttp import ClientTimeout

        if len(_AIO_TIMEOUTS) > 64:
            _AIO_TIMEOUTS.clear()
        found = _AIO_TIMEOUTS[seconds] = ClientTimeout(
            total=None, connect=seconds, sock_connect=min(seconds, 10.0), sock_read=seconds
        )
    return found


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


def _not_sse(content_type: str, req: HTTPRequest) -> errors.PolymodalError:
    host = httpx.URL(req.url).host
    return errors.APIConnectionError(
        f"connection to {host} failed mid-stream: SSEError: Expected response header "
        f"Content-Type to contain 'text/event-stream', got {content_type!r}",
        provider=req.provider,
        model=req.model,
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


def _aio_error(
    exc: BaseException, req: HTTPRequest, *, mid_stream: bool = False
) -> errors.PolymodalError:
    """An aiohttp / socket failure as :mod:`polymodal.errors` (the httpx path's wording)."""
    where = " mid-stream" if mid_stream else ""
    host = httpx.URL(req.url).host
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's ServerTimeoutError is one too
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


def parse_json(resp: Response, req: HTTPRequest) -> Any:
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


def _check_sse(headers: Mapping[str, str], req: HTTPRequest) -> None:
    content_type = headers.get("content-type", "").partition(";")[0]
    if "text/event-stream" not in content_type:
        raise _not_sse(content_type, req)


def _body_chunks(resp: httpx.Response) -> Iterable[bytes]:
    """The body as it arrives. Without a Content-Encoding to undo, straight from the transport's
    stream (what ``iter_raw`` iterates, minus its per-chunk bookkeeping: ~1 µs a chunk, measured
    on the benchmark's 2,000-chunk stream); else through httpx's decoders."""
    encoding = resp.headers.get("content-encoding")
    stream = resp.stream
    if (
        resp.is_stream_consumed
        or resp.is_closed
        or (encoding and encoding != "identity")
        or not isinstance(stream, httpx.SyncByteStream)
    ):
        return resp.iter_bytes()
    return stream


def iter_sse_chunks(resp: httpx.Response, req: HTTPRequest) -> Iterator[list[tuple[str, str]]]:
    """The SSE events of a streaming response, a list per network chunk (often one event):
    ``(event name, data)``, without ``data: [DONE]`` and what follows it, and without unnamed
    events whose data is empty. Maps broken connections; closes the response."""
    try:
        _check_sse(resp.headers, req)
        feed = SSEDecoder().feed
        for chunk in _body_chunks(resp):
            events = feed(chunk)
            if not events:
                continue
            if len(events) == 1 and events[0][1] and events[0][1] != "[DONE]":
                yield events  # the common chunk: one event with data
                continue
            done = _filter_events(events)
            if events:
                yield events
            if done:
                return
    except httpx.TransportError as exc:
        raise _transport_error(exc, req, mid_stream=True) from None
    finally:
        resp.close()


def _filter_events(events: list[tuple[str, str]]) -> bool:
    """Drop what callers never see, in place; True when ``[DONE]`` ended the stream."""
    if len(events) == 1:
        name, data = events[0]
        if data == "[DONE]":
            events.clear()
            return True
        if not data and name == "message":
            events.clear()
        return False
    kept = []
    done = False
    for name, data in events:
        if data == "[DONE]":
            done = True
            break
        if data or name != "message":
            kept.append((name, data))
    events[:] = kept
    return done


def iter_sse_data(resp: httpx.Response, req: HTTPRequest) -> Iterator[tuple[str, str]]:
    """(event name, data) for each SSE event; stops at ``[DONE]``; maps broken connections."""
    for events in iter_sse_chunks(resp, req):
        yield from events


# --------------------------------------------------------------------------- async


def _fast_path(req: HTTPRequest, client: httpx.AsyncClient | None) -> aiohttp.ClientSession | None:
    """This loop's aiohttp session when the request may take the fast path, else None."""
    if client is not None:
        return None
    auth = req.auth
    if auth is not None and getattr(auth, "aheaders", None) is None:
        return None  # an httpx.Auth flow: only httpx can run it
    return default_pool.aiohttp_session()


def _merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``base`` with ``extra`` set over it, header names compared case-insensitively."""
    replaced = {k.lower() for k in extra}
    merged = {k: v for k, v in base.items() if k.lower() not in replaced}
    merged.update(extra)
    return merged


_AIOHTTP_ERROR: Any = None


def _aiohttp_error() -> type[Exception]:
    """``aiohttp.ClientError`` (imported on the first failure)."""
    global _AIOHTTP_ERROR
    if _AIOHTTP_ERROR is None:
        from aiohttp import ClientError

        _AIOHTTP_ERROR = ClientError
    error: type[Exception] = _AIOHTTP_ERROR
    return error


async def _aio_open(
    session: aiohttp.ClientSession,
    req: HTTPRequest,
    content: bytes | None,
    timeout: float,
    *,
    stream: bool,
) -> Any:
    """One attempt on the fast path: the answer (:class:`AioResponse`) or, for ``stream``, the
    open ``aiohttp.ClientResponse``; a non-2xx answer raises the mapped error."""
    headers = _headers(req, content is not None)
    auth = req.auth
    if auth is not None:
        headers = _merge_headers(headers, await auth.aheaders(headers) or {})
    while True:
        try:
            resp = await session.request(
                req.method,
                req.url,
                data=content,
                headers=headers,
                timeout=_aio_timeout(timeout),
                allow_redirects=False,
            )
        except (OSError, asyncio.TimeoutError, _aiohttp_error()) as exc:
            raise _aio_error(exc, req) from None
        status = resp.status
        if status < 400 and stream:
            return resp
        try:
            body = await resp.read()
        except (OSError, asyncio.TimeoutError, _aiohttp_error()) as exc:
            if status < 400:
                raise _aio_error(exc, req) from None
            body = b""
        finally:
            resp.release()
        if status == 401 and auth is not None:
            # As an httpx.Auth flow would: the credential may renew once and send again.
            renewed = await auth.aheaders(headers, rejected=True)
            if renewed:
                headers = _merge_headers(headers, renewed)
                auth = None
                continue
        if status >= 400:
            raise errors.error_from_response(
                status, body, provider=req.provider, model=req.model, headers=resp.headers
            )
        return AioResponse(status, resp.headers, body)


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


async def _aretry(max_retries: int, once: Any, *args: Any, **kwargs: Any) -> Any:
    """``once(*args)``; on a retryable error, again up to ``max_retries`` times (the first attempt
    runs outside tenacity, so a call that succeeds pays nothing for the retry machinery)."""
    try:
        return await once(*args, **kwargs)
    except errors.PolymodalError as first:
        _retry_after_first(first, max_retries)
        await asyncio.sleep(backoff_seconds(1, first))
    return await _async_retrying(max_retries)(once, *args, **kwargs)


async def arequest(
    req: HTTPRequest, *, timeout: float, max_retries: int, client: httpx.AsyncClient | None = None
) -> Response:
    """Send with retries; return the 2xx answer (an ``httpx.Response``, or on the fast path an
    :class:`AioResponse`) or raise a mapped error.

    The fast path takes a request whose ``auth`` is None or has this async header hook::

        async def aheaders(
            self, headers: Mapping[str, str], *, rejected: bool = False
        ) -> Mapping[str, str] | None: ...

    called with the outgoing headers before sending (it returns the headers to set), and after
    a 401 with the headers that were refused and ``rejected=True`` (it returns the headers to
    send once more with, or None to let the 401 stand).
    """
    content = _content(req)
    session = _fast_path(req, client)
    if session is not None:
        answer: Response = await _aretry(
            max_retries, _aio_open, session, req, content, timeout, stream=False
        )
        return answer
    http_client = client or default_pool.async_client()
    result: httpx.Response = await _aretry(
        max_retries, _asend_once, http_client, req, content, timeout
    )
    return result


async def asend(
    req: HTTPRequest, *, timeout: float, max_retries: int, client: httpx.AsyncClient | None = None
) -> httpx.Response:
    """:func:`arequest` as an ``httpx.Response`` (built from the fast path's answer)."""
    resp = await arequest(req, timeout=timeout, max_retries=max_retries, client=client)
    if isinstance(resp, AioResponse):
        return resp.to_httpx()
    assert isinstance(resp, httpx.Response)
    return resp


async def asend_json(
    req: HTTPRequest, *, timeout: float, max_retries: int, client: httpx.AsyncClient | None = None
) -> Any:
    resp = await arequest(req, timeout=timeout, max_retries=max_retries, client=client)
    return parse_json(resp, req)


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
) -> Any:
    """Open a streaming response (retrying until the first byte) for :func:`aiter_sse_chunks`,
    which closes it: an ``httpx.Response``, or on the fast path an ``aiohttp.ClientResponse``."""
    content = _content(req)
    session = _fast_path(req, client)
    if session is not None:
        return await _aretry(max_retries, _aio_open, session, req, content, timeout, stream=True)
    http_client = client or default_pool.async_client()
    return await _aretry(max_retries, _aopen_stream_once, http_client, req, content, timeout)


async def aiter_sse_chunks(resp: Any, req: HTTPRequest) -> AsyncIterator[list[tuple[str, str]]]:
    """The async twin of :func:`iter_sse_chunks`, over what :func:`aopen_stream` returned."""
    if isinstance(resp, httpx.Response):
        try:
            _check_sse(resp.headers, req)
            decoder = SSEDecoder()
            async for chunk in resp.aiter_bytes():
                events = decoder.feed(chunk)
                if events:
                    done = _filter_events(events)
                    if events:
                        yield events
                    if done:
                        return
        except httpx.TransportError as exc:
            raise _transport_error(exc, req, mid_stream=True) from None
        finally:
            await resp.aclose()
        return
    try:
        _check_sse(resp.headers, req)
        feed = SSEDecoder().feed
        async for chunk in resp.content.iter_any():
            events = feed(chunk)
            if not events:
                continue
            if len(events) == 1 and events[0][1] and events[0][1] != "[DONE]":
                yield events
                continue
            done = _filter_events(events)
            if events:
                yield events
            if done:
                return
    except (OSError, asyncio.TimeoutError, _aiohttp_error()) as exc:
        raise _aio_error(exc, req, mid_stream=True) from None
    finally:
        resp.release()


async def aiter_sse_data(resp: Any, req: HTTPRequest) -> AsyncIterator[tuple[str, str]]:
    """(event name, data) for each SSE event; stops at ``[DONE]``; maps broken connections."""
    chunks = aiter_sse_chunks(resp, req)
    try:
        async for events in chunks:
            for event in events:
                yield event
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
