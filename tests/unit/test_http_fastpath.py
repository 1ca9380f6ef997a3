"""The async fast path of ``polymodal.http``: one aiohttp session per event loop, no httpx models.

Everything runs against the emulator over loopback, so what is checked is what went over the
wire: retries and Retry-After, error mapping (status, timeouts, refused and dropped connections),
SSE streams, the auth header hook, and when the httpx path is used instead (a caller's client, an
``httpx.Auth`` without the hook, proxy environment variables).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
from collections.abc import Generator, Iterator, Mapping
from typing import Any

import httpx
import pytest

import polymodal
from polymodal import http
from polymodal.auth.google import GoogleAuth, clear_cache, resolve_credentials
from polymodal.errors import PolymodalError
from polymodal.testing import Emulator
from polymodal.testing.google_oauth import authorized_user_credentials, service_account_info

MESSAGES = [{"role": "user", "content": "Hello"}]
OK_BODY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3},
}
CHUNKS = [
    {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
    {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
     "choices": [{"index": 0, "delta": {"content": "lo"}}]},
    {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
]  # fmt: skip
SERVER_ERROR = {"error": {"message": "The server had an error", "type": "server_error"}}


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setattr(http, "BACKOFF_BASE", 0.01)
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    with Emulator() as e:
        yield e


async def _call(emu: Emulator, **kw: Any) -> Any:
    params: dict[str, Any] = {"api_base": emu.openai_base, "api_key": "test-key", **kw}
    return await polymodal.acompletion("openai/gpt-4o", MESSAGES, **params)


def _used_fast_path() -> bool:
    """True when this loop has the aiohttp session and never needed the httpx client."""
    loop = asyncio.get_running_loop()
    aio = http.default_pool._aio.get(loop)
    return aio is not None and aio[0] is not None and http.default_pool._async.get(loop) is None


# --------------------------------------------------------------------------- answers, retries


async def test_call_goes_through_aiohttp(emu: Emulator) -> None:
    result = await _call(emu)
    assert result.choices[0].message.content == 'Emulator reply to: "Hello"'
    assert _used_fast_path()
    sent = emu.requests[0]
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json["messages"] == MESSAGES


async def test_connections_are_reused(emu: Emulator) -> None:
    for _ in range(5):
        await _call(emu)
    assert emu.connections == 1


async def test_429_retry_after_is_honoured(emu: Emulator) -> None:
    emu.queue_error(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "0.3"})
    emu.queue_json(OK_BODY)
    start = time.monotonic()
    result = await _call(emu, max_retries=2)
    assert time.monotonic() - start >= 0.3
    assert result.choices[0].message.content == "fine"
    assert len(emu.requests) == 2


async def test_error_keeps_status_hint_and_request_id(emu: Emulator) -> None:
    emu.queue_error(
        429,
        {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}},
        headers={"Retry-After": "7", "x-request-id": "req_123"},
    )
    with pytest.raises(polymodal.RateLimitError, match="Rate limit reached") as info:
        await _call(emu, max_retries=0)
    assert info.value.status_code == 429
    assert info.value.retry_after == 7.0
    assert info.value.headers["x-request-id"] == "req_123"
    assert len(emu.requests) == 1


async def test_5xx_retried_up_to_max_retries(emu: Emulator) -> None:
    emu.queue_error(500, SERVER_ERROR)
    emu.queue_error(503, SERVER_ERROR)
    emu.queue_json(OK_BODY)
    assert (await _call(emu, max_retries=2)).choices[0].message.content == "fine"
    assert len(emu.requests) == 3
    emu.clear()
    emu.queue_error(500, SERVER_ERROR, repeat=True)
    with pytest.raises(polymodal.InternalServerError) as info:
        await _call(emu, max_retries=2)
    assert info.value.status_code == 500
    assert len(emu.requests) == 3


async def test_other_4xx_not_retried(emu: Emulator) -> None:
    emu.queue_error(400, {"error": {"message": "bad thing", "type": "invalid_request_error"}})
    with pytest.raises(polymodal.BadRequestError, match="bad thing"):
        await _call(emu, max_retries=3)
    assert len(emu.requests) == 1


async def test_malformed_json_body(emu: Emulator) -> None:
    emu.queue_raw(200, b'{"id": "chatcmpl-1", "choices": [')
    with pytest.raises(polymodal.InternalServerError, match="not JSON"):
        await _call(emu, max_retries=2)
    assert len(emu.requests) == 1


async def test_timeout_then_retry(emu: Emulator) -> None:
    emu.queue_delay(1.0)
    emu.queue_json(OK_BODY)
    start = time.monotonic()
    result = await _call(emu, timeout=0.3, max_retries=1)
    assert result.choices[0].message.content == "fine"
    assert time.monotonic() - start < 1.0
    assert len(emu.requests) == 2


async def test_timeout_error(emu: Emulator) -> None:
    emu.queue_delay(1.0, repeat=True)
    with pytest.raises(polymodal.TimeoutError, match="timed out"):
        await _call(emu, timeout=0.2, max_retries=0)
    assert _used_fast_path()


async def test_refused_connection(emu: Emulator) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(polymodal.APIConnectionError, match=r"connection to 127\.0\.0\.1 failed"):
        await polymodal.acompletion(
            "openai/gpt-4o", MESSAGES, api_base=f"http://127.0.0.1:{port}/v1", api_key="k",
            max_retries=0,
        )  # fmt: skip


async def test_dropped_before_answer_is_retried(emu: Emulator) -> None:
    emu.queue_drop()
    emu.queue_json(OK_BODY)
    assert (await _call(emu, max_retries=1)).choices[0].message.content == "fine"
    assert len(emu.requests) == 2


# --------------------------------------------------------------------------- streams


async def test_stream(emu: Emulator) -> None:
    emu.queue_stream(CHUNKS)
    stream = await _call(emu, stream=True)
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert _used_fast_path()


async def test_stream_error_before_first_byte_is_retried(emu: Emulator) -> None:
    emu.queue_error(503, SERVER_ERROR)
    emu.queue_stream(CHUNKS)
    stream = await _call(emu, stream=True, max_retries=1)
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "Hello"
    assert len(emu.requests) == 2


async def test_stream_dropped_mid_way(emu: Emulator) -> None:
    emu.queue_drop(stream_events=CHUNKS[:2])
    stream = await _call(emu, stream=True, max_retries=2)
    got: list[str] = []
    with pytest.raises(polymodal.APIConnectionError, match="mid-stream"):
        async for chunk in stream:
            got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "Hello"
    assert len(emu.requests) == 1


async def test_stream_answered_with_json(emu: Emulator) -> None:
    emu.queue_raw(200, b"{}")
    stream = await _call(emu, stream=True)
    with pytest.raises(polymodal.APIConnectionError, match="text/event-stream"):
        async for _ in stream:
            pass


async def test_stream_given_up_early_releases_the_connection(emu: Emulator) -> None:
    emu.queue_stream(CHUNKS, delay=0.05)
    stream = await _call(emu, stream=True)
    async for _ in stream:
        break
    await stream.aclose()
    assert (await _call(emu)).choices[0].message.content == 'Emulator reply to: "Hello"'
    assert len(emu.requests) == 2


# --------------------------------------------------------------------------- the raw layer


async def test_asend_returns_an_httpx_response(emu: Emulator) -> None:
    emu.queue_raw(200, b"RIFF....", headers={"content-type": "audio/wav", "x-request-id": "r1"})
    req = http.HTTPRequest("POST", f"{emu.openai_base}/audio/speech", {"input": "hi"})
    resp = await http.asend(req, timeout=5, max_retries=0)
    assert isinstance(resp, httpx.Response)
    assert resp.content == b"RIFF...."
    assert resp.headers["Content-Type"] == "audio/wav"
    assert resp.headers["x-request-id"] == "r1"


async def test_compressed_answers_are_decoded(emu: Emulator) -> None:
    body = json.dumps(OK_BODY).encode()
    emu.queue_raw(200, gzip.compress(body), headers={"content-encoding": "gzip"})
    req = http.HTTPRequest("POST", f"{emu.openai_base}/audio/speech", {"input": "hi"})
    resp = await http.asend(req, timeout=5, max_retries=0)
    assert resp.content == body
    assert "content-encoding" not in resp.headers
    emu.queue_raw(200, gzip.compress(body), headers={"content-encoding": "gzip"})
    assert (await _call(emu)).choices[0].message.content == "fine"


async def test_raw_content_gets_no_content_type(emu: Emulator) -> None:
    emu.queue_json({"ok": True})
    req = http.HTTPRequest("POST", f"{emu.openai_base}/anything", content=b"\x00\x01")
    resp = await http.arequest(req, timeout=5, max_retries=0)
    assert http.parse_json(resp, req) == {"ok": True}
    assert resp.headers["content-type"] == "application/json"  # case-insensitive
    sent = emu.requests[0]
    assert sent.body == b"\x00\x01"
    assert "content-type" not in sent.headers


def test_timeouts_map_to_aiohttp() -> None:
    t = http._aio_timeout(600)
    assert (t.total, t.connect, t.sock_connect, t.sock_read) == (None, 600, 10.0, 600)
    t = http._aio_timeout(2.5)
    assert (t.total, t.connect, t.sock_connect, t.sock_read) == (None, 2.5, 2.5, 2.5)
    assert http._aio_timeout(2.5) is t
    assert http._timeout(2.5) is http._timeout(2.5)
    assert http._timeout(30).connect == 10.0 and http._timeout(30).read == 30


# --------------------------------------------------------------------------- auth


class HookAuth:
    """The async header hook the fast path takes (what GoogleAuth offers)."""

    def __init__(self, first: str, renewed: str | None) -> None:
        self.first, self.renewed = first, renewed
        self.calls: list[tuple[dict[str, str], bool]] = []

    async def aheaders(
        self, headers: Mapping[str, str], *, rejected: bool = False
    ) -> Mapping[str, str] | None:
        self.calls.append((dict(headers), rejected))
        if not rejected:
            return {"Authorization": f"Bearer {self.first}"}
        return None if self.renewed is None else {"Authorization": f"Bearer {self.renewed}"}


def _hook_request(emu: Emulator, auth: Any) -> http.HTTPRequest:
    return http.HTTPRequest(
        "POST",
        f"{emu.openai_base}/chat/completions",
        {"model": "gpt-4o", "messages": MESSAGES},
        {"authorization": "Bearer placeholder", "x-extra": "1"},
        auth,
        provider="openai",
        model="gpt-4o",
    )


async def test_auth_hook_sets_headers_and_renews_once_after_401() -> None:
    with Emulator(api_key="good") as emu:
        auth = HookAuth("stale", "good")
        body = await http.asend_json(_hook_request(emu, auth), timeout=5, max_retries=0)
        assert body["choices"][0]["message"]["content"]
        assert [r.headers["authorization"] for r in emu.requests] == ["Bearer stale", "Bearer good"]
        assert emu.requests[1].headers["x-extra"] == "1"
        assert [rejected for _, rejected in auth.calls] == [False, True]
        assert auth.calls[1][0]["Authorization"] == "Bearer stale"
        assert "authorization" not in auth.calls[1][0]  # replaced, case-insensitively
        assert _used_fast_path()


async def test_auth_hook_without_renewal_lets_the_401_stand() -> None:
    with Emulator(api_key="good") as emu:
        with pytest.raises(polymodal.AuthenticationError):
            await http.asend_json(
                _hook_request(emu, HookAuth("stale", None)), timeout=5, max_retries=2
            )
        assert len(emu.requests) == 1


class FlowAuth(httpx.Auth):
    def __init__(self) -> None:
        self.flows = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.flows += 1
        request.headers["Authorization"] = "Bearer good"
        yield request


async def test_httpx_auth_without_the_hook_takes_the_httpx_path() -> None:
    with Emulator(api_key="good") as emu:
        auth = FlowAuth()
        body = await http.asend_json(_hook_request(emu, auth), timeout=5, max_retries=0)
        assert body["choices"][0]["message"]["content"]
        assert auth.flows == 1
        assert http.default_pool._async.get(asyncio.get_running_loop()) is not None


async def test_a_callers_client_is_used_as_given() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OK_BODY)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await polymodal.acompletion(
            "openai/gpt-4o", MESSAGES, api_base="http://example.test/v1", api_key="k",
            client=client,
        )  # fmt: skip
    assert result.choices[0].message.content == "fine"
    assert len(seen) == 1
    assert http.default_pool._aio.get(asyncio.get_running_loop()) is None


# --------------------------------------------------------------------------- lifecycle


def test_session_closes_with_its_loop(emu: Emulator) -> None:
    sessions: list[Any] = []

    async def main() -> None:
        await _call(emu)
        sessions.append(http.default_pool.aiohttp_session())

    asyncio.run(main())
    asyncio.run(main())
    assert len(sessions) == 2 and sessions[0] is not sessions[1]
    assert all(s.closed for s in sessions)


def test_proxy_environment_keeps_the_httpx_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")

    async def main() -> Any:
        return http.default_pool.aiohttp_session()

    assert asyncio.run(main()) is None


# --------------------------------------------------------------------------- GoogleAuth's hook


class HookedGoogleAuth(GoogleAuth):
    """``GoogleAuth`` with the fast-path hook proposed for ``polymodal/auth/google.py`` (the
    method below, verbatim); until it lands there, Vertex requests take the httpx path."""

    async def aheaders(
        self, headers: Mapping[str, str], *, rejected: bool = False
    ) -> dict[str, str] | None:
        """Headers for ``polymodal.http``'s aiohttp fast path: what ``async_auth_flow`` does."""
        try:
            if not rejected:
                token = await self.credentials.atoken()
            else:
                sent = headers.get("Authorization", "").removeprefix("Bearer ")
                token = await self.credentials.arenew(sent)
                if token == sent:
                    return None
        except PolymodalError as err:
            if rejected:
                return None  # cannot renew (e.g. a bare token): the 401 stands
            raise self._attribute(err) from None
        out = {"Authorization": f"Bearer {token}"}
        quota = self.credentials.quota_project
        if quota and not any(k.lower() == "x-goog-user-project" for k in headers):
            out["x-goog-user-project"] = quota
        return out


@pytest.fixture
def google_emu() -> Iterator[Emulator]:
    clear_cache()
    with Emulator() as e:
        yield e
    clear_cache()


async def test_google_auth_hook_sets_token_and_quota_project(google_emu: Emulator) -> None:
    creds = resolve_credentials(
        authorized_user_credentials(google_emu.url, quota_project_id="bill-me")
    )
    auth = HookedGoogleAuth(creds)
    await http.asend_json(_hook_request(google_emu, auth), timeout=5, max_retries=0)
    sent = [r for r in google_emu.requests if r.path != "/token"]
    assert sent[0].headers["authorization"] == f"Bearer {creds.token()}"
    assert sent[0].headers["x-goog-user-project"] == "bill-me"
    assert _used_fast_path()


async def test_google_auth_hook_renews_once_after_401(google_emu: Emulator) -> None:
    creds = resolve_credentials(service_account_info(google_emu.url, project_id="renew"))
    stale = creds.token()
    google_emu.queue_error(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}},
                           path_contains="/chat")  # fmt: skip
    auth = HookedGoogleAuth(creds)
    await http.asend_json(_hook_request(google_emu, auth), timeout=5, max_retries=0)
    sent = [r.headers["authorization"] for r in google_emu.requests if r.path != "/token"]
    assert sent == [f"Bearer {stale}", f"Bearer {creds.token()}"]
    assert creds.token() != stale
