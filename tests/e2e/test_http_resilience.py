"""Retries, timeouts and error mapping against a loopback server that misbehaves.

The emulator (``polymodal.testing``) plays the provider: 429 with Retry-After, 500s, a connection
dropped mid-stream, a malformed JSON body, a slow response. Backoff is shortened so the suite
stays fast; Retry-After is honoured as sent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import polymodal
from polymodal import http
from polymodal.testing import Emulator

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
RATE_LIMITED = {
    "error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}
}
SERVER_ERROR = {"error": {"message": "The server had an error", "type": "server_error"}}


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setattr(http, "BACKOFF_BASE", 0.01)
    with Emulator() as e:
        yield e


def _call(emu: Emulator, **kw: object) -> polymodal.objects.ChatCompletion:
    params: dict[str, object] = {"api_base": emu.openai_base, "api_key": "test-key", **kw}
    return polymodal.completion("openai/gpt-4o", MESSAGES, **params)  # type: ignore[arg-type]


def test_429_retry_after_is_honoured(emu: Emulator) -> None:
    emu.queue_error(429, RATE_LIMITED, headers={"Retry-After": "0.3"})
    emu.queue_json(OK_BODY)
    start = time.monotonic()
    result = _call(emu, max_retries=2)
    assert time.monotonic() - start >= 0.3
    assert result.choices[0].message.content == "fine"
    assert len(emu.requests) == 2


def test_429_without_retries_raises_with_hint(emu: Emulator) -> None:
    emu.queue_error(429, RATE_LIMITED, headers={"Retry-After": "7"})
    with pytest.raises(polymodal.RateLimitError) as info:
        _call(emu, max_retries=0)
    assert info.value.status_code == 429
    assert info.value.retry_after == 7.0
    assert "Rate limit reached" in str(info.value)
    assert len(emu.requests) == 1


def test_retry_after_longer_than_cap_is_not_waited(emu: Emulator) -> None:
    emu.queue_error(429, RATE_LIMITED, headers={"Retry-After": "3600"})
    with pytest.raises(polymodal.RateLimitError):
        _call(emu, max_retries=3)
    assert len(emu.requests) == 1


def test_500s_are_retried_up_to_max_retries(emu: Emulator) -> None:
    emu.queue_error(500, SERVER_ERROR)
    emu.queue_error(503, SERVER_ERROR)
    emu.queue_json(OK_BODY)
    assert _call(emu, max_retries=2).choices[0].message.content == "fine"
    assert len(emu.requests) == 3


def test_500s_exhaust_retries(emu: Emulator) -> None:
    emu.queue_error(500, SERVER_ERROR, repeat=True)
    with pytest.raises(polymodal.InternalServerError) as info:
        _call(emu, max_retries=2)
    assert info.value.status_code == 500
    assert len(emu.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_are_not_retried(emu: Emulator, status: int) -> None:
    emu.queue_error(
        status, {"error": {"message": f"nope {status}", "type": "invalid_request_error"}}
    )
    with pytest.raises(polymodal.PolymodalError) as info:
        _call(emu, max_retries=3)
    assert info.value.status_code == status
    assert len(emu.requests) == 1


def test_malformed_json_body(emu: Emulator) -> None:
    emu.queue_raw(200, b'{"id": "chatcmpl-1", "choices": [')
    with pytest.raises(polymodal.InternalServerError, match="not JSON"):
        _call(emu, max_retries=2)
    assert len(emu.requests) == 1


def test_slow_response_times_out_then_retries(emu: Emulator) -> None:
    emu.queue_delay(1.0)
    emu.queue_json(OK_BODY)
    start = time.monotonic()
    result = _call(emu, timeout=0.3, max_retries=1)
    assert result.choices[0].message.content == "fine"
    assert time.monotonic() - start < 1.0
    assert len(emu.requests) == 2


def test_slow_response_timeout_error(emu: Emulator) -> None:
    emu.queue_delay(1.0, repeat=True)
    with pytest.raises(polymodal.TimeoutError, match="timed out"):
        _call(emu, timeout=0.2, max_retries=0)


CHUNKS = [
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}],
    },
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"content": "lo"}}],
    },
]


def test_connection_dropped_mid_stream(emu: Emulator) -> None:
    emu.queue_drop(stream_events=CHUNKS)
    stream = _call(emu, stream=True, max_retries=2)
    got: list[str] = []
    with pytest.raises(polymodal.APIConnectionError, match="mid-stream"):
        for chunk in stream:  # type: ignore[attr-defined]
            got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "Hello"
    assert len(emu.requests) == 1  # a stream already under way is not replayed


def test_stream_429_before_first_byte_is_retried(emu: Emulator) -> None:
    emu.queue_error(429, RATE_LIMITED, headers={"Retry-After": "0"})
    emu.queue_stream(
        [*CHUNKS, {**CHUNKS[1], "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
    )
    text = "".join(
        c.choices[0].delta.content or ""
        for c in _call(emu, stream=True, max_retries=1)  # type: ignore[attr-defined]
    )
    assert text == "Hello"
    assert len(emu.requests) == 2


async def test_async_retry_and_errors(emu: Emulator) -> None:
    emu.queue_error(503, SERVER_ERROR)
    emu.queue_json(OK_BODY)
    result = await polymodal.acompletion(
        "openai/gpt-4o", MESSAGES, api_base=emu.openai_base, api_key="k", max_retries=1
    )
    assert result.choices[0].message.content == "fine"
    emu.queue_error(400, {"error": {"message": "bad thing", "type": "invalid_request_error"}})
    with pytest.raises(polymodal.BadRequestError, match="bad thing"):
        await polymodal.acompletion(
            "openai/gpt-4o", MESSAGES, api_base=emu.openai_base, api_key="k", max_retries=3
        )
    assert len(emu.requests) == 3


async def test_async_drop_mid_stream(emu: Emulator) -> None:
    emu.queue_drop(stream_events=CHUNKS)
    stream = await polymodal.acompletion(
        "openai/gpt-4o", MESSAGES, api_base=emu.openai_base, api_key="k", stream=True
    )
    with pytest.raises(polymodal.APIConnectionError):
        async for _ in stream:
            pass


async def test_async_timeout(emu: Emulator) -> None:
    emu.queue_delay(1.0, repeat=True)
    with pytest.raises(polymodal.TimeoutError):
        await polymodal.acompletion(
            "openai/gpt-4o",
            MESSAGES,
            api_base=emu.openai_base,
            api_key="k",
            timeout=0.2,
            max_retries=0,
        )
