"""No credential appears in any repr, log line or exception text."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

import polymodal
from polymodal import _chat
from polymodal.options import pop_options

KEY = "sk-live-SECRET0123456789abcdef"
AZURE_TOKEN = "eyJ0eXAiOiJKV1Qi-SECRET-TOKEN-abcdef"


def _echo_key_401(request: httpx.Request) -> httpx.Response:
    # A provider that (wrongly) echoes the key back: our error text must still not carry it.
    sent = request.headers.get("authorization", "") or request.headers.get("api-key", "")
    body = {"error": {"message": f"Incorrect API key provided: {sent}", "code": "invalid_api_key"}}
    return httpx.Response(401, json=body)


def test_key_not_in_reprs() -> None:
    opts = pop_options({"api_key": KEY, "azure_ad_token": AZURE_TOKEN})
    prepared = _chat.prepare_chat(
        "openai/gpt-4o", [{"role": "user", "content": "hi"}], {"api_key": KEY}
    )
    request = prepared.http_request()
    for obj in (opts, prepared, prepared.options, prepared.target, request):
        text = repr(obj)
        assert KEY not in text and AZURE_TOKEN not in text, type(obj).__name__
    # ... while the key does go where it belongs.
    assert request.headers["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        ("openai/gpt-4o", {}),
        ("azure/dep", {"api_base": "https://res.openai.azure.com", "api_version": "2024-10-21"}),
    ],
)
def test_key_not_in_errors_or_logs(
    model: str, extra: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    client = httpx.Client(transport=httpx.MockTransport(_echo_key_401))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(polymodal.AuthenticationError) as info:
        polymodal.completion(
            model,
            [{"role": "user", "content": "hi"}],
            api_key=KEY,
            client=client,
            max_retries=0,
            **extra,
        )
    err = info.value
    for text in (str(err), repr(err), err.message, json.dumps(err.headers), caplog.text):
        assert KEY not in text
    assert err.status_code == 401


def test_missing_key_error_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    with pytest.raises(polymodal.AuthenticationError, match="OPENAI_API_KEY"):
        polymodal.completion("openai/gpt-4o", [{"role": "user", "content": "hi"}])
