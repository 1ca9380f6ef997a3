"""Google credentials for Vertex AI: sources, the shared token cache, project/location order,
and that no token or key ever shows. Tokens come from the emulator's OAuth2 endpoint (a real
google-auth JWT-bearer / refresh-token / token-exchange flow over loopback HTTP)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import polymodal
from polymodal.auth import google as gauth
from polymodal.errors import APIConnectionError, AuthenticationError, BadRequestError
from polymodal.testing import Emulator
from polymodal.testing.gemini import GeminiAPI
from polymodal.testing.google_oauth import (
    authorized_user_credentials,
    external_account_info,
    service_account_info,
    service_account_json,
)
from polymodal.testing.openai import OpenAIChat

ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "VERTEXAI_PROJECT",
    "GOOGLE_CLOUD_PROJECT",
    "VERTEXAI_LOCATION",
    "GOOGLE_CLOUD_LOCATION",
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(polymodal, "vertex_project", None)
    monkeypatch.setattr(polymodal, "vertex_location", None)
    gauth.clear_cache()
    yield
    gauth.clear_cache()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(formats=[GeminiAPI(), OpenAIChat()]) as e:
        yield e


def token_requests(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.path == "/token")


class Clock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        import time

        self._time = time.time
        self.offset = 0.0

    def __call__(self) -> float:
        return self._time() + self.offset


# --------------------------------------------------------------------------- sources


def test_service_account_json_string_dict_and_path_share_one_entry(
    emu: Emulator, tmp_path: Path
) -> None:
    info = service_account_info(emu.url, project_id="sa-project")
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    from_json = gauth.resolve_credentials(json.dumps(info))
    assert from_json.kind == "service_account"
    assert from_json.project == "sa-project"
    assert from_json.label == info["client_email"]
    assert gauth.resolve_credentials(info) is from_json
    assert gauth.resolve_credentials(str(path)) is from_json
    assert gauth.resolve_credentials(path) is from_json
    assert gauth.resolve_credentials(json.dumps(info).encode()) is from_json
    before = token_requests(emu)
    token = from_json.token()
    assert token.startswith("emu-token-")
    assert token_requests(emu) == before + 1
    # The JWT-bearer grant went to the file's own token_uri (the emulator).
    sent = [r for r in emu.requests if r.path == "/token"][-1]
    assert b"grant-type%3Ajwt-bearer" in sent.body


def test_google_application_credentials(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "key.json"
    path.write_text(service_account_json(emu.url, project_id="from-file"))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    creds = gauth.resolve_credentials(None)
    assert creds.kind == "service_account" and creds.project == "from-file"
    assert creds.token().startswith("emu-token-")


def test_credentials_object(emu: Emulator) -> None:
    from google.oauth2 import service_account

    load: Any = service_account.Credentials.from_service_account_info
    obj = load(service_account_info(emu.url, project_id="obj-project"))
    creds = gauth.resolve_credentials(obj)
    assert creds.source is obj
    assert creds.project == "obj-project"
    assert gauth.resolve_credentials(obj) is creds  # one cache entry per object
    assert creds.token().startswith("emu-token-")
    # google-auth scoped a copy for cloud-platform; the caller's object is untouched.
    assert creds.credentials is not obj
    assert tuple(creds.credentials.scopes or ()) == gauth.SCOPES  # type: ignore[attr-defined]


def test_credentials_object_with_bare_token_is_used_as_is() -> None:
    from google.oauth2.credentials import Credentials

    make: Any = Credentials
    creds = gauth.resolve_credentials(make(token="ya29.a-token-I-minted"))
    assert creds.token() == "ya29.a-token-I-minted"
    assert creds.refreshes == 0


def test_authorized_user_json(monkeypatch: pytest.MonkeyPatch) -> None:
    info = {
        "type": "authorized_user",
        "client_id": "id.apps.googleusercontent.com",
        "client_secret": "a-client-secret",
        "refresh_token": "a-refresh-token",
        "quota_project_id": "billing-project",
    }
    creds = gauth.resolve_credentials(json.dumps(info))
    assert creds.kind == "authorized_user"
    assert creds.quota_project == "billing-project"
    assert creds.project is not None and creds.project == "billing-project"  # the last resort


def test_authorized_user_object_with_quota_project(emu: Emulator) -> None:
    creds = gauth.resolve_credentials(authorized_user_credentials(emu.url, quota_project_id="qp"))
    assert creds.quota_project == "qp"
    assert creds.token().startswith("emu-token-")
    sent = [r for r in emu.requests if r.path == "/token"][-1]
    assert b"grant_type=refresh_token" in sent.body


def test_external_account(emu: Emulator, tmp_path: Path) -> None:
    subject = tmp_path / "subject-token"
    subject.write_text("an-oidc-token-from-my-workload")
    creds = gauth.resolve_credentials(external_account_info(emu.url, str(subject)))
    assert creds.kind == "external_account"
    assert creds.token().startswith("emu-token-")
    sent = [r for r in emu.requests if r.path == "/token"][-1]
    assert b"token-exchange" in sent.body and b"an-oidc-token-from-my-workload" in sent.body


def test_application_default_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.oauth2.credentials import Credentials

    seen: dict[str, Any] = {}

    make: Any = Credentials

    def fake_default(scopes: Any = None, **kwargs: Any) -> tuple[Any, str]:
        seen["scopes"] = scopes
        return make(token="adc-token"), "adc-project"

    monkeypatch.setattr(google.auth, "default", fake_default)
    creds = gauth.resolve_credentials(None)
    assert seen["scopes"] == list(gauth.SCOPES)
    assert creds.kind == "application_default" and creds.project == "adc-project"
    assert gauth.resolve_credentials(None) is creds
    assert creds.token() == "adc-token"


def test_no_credentials_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    error: Any = DefaultCredentialsError

    def no_default(*args: Any, **kwargs: Any) -> Any:
        raise error("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", no_default)
    with pytest.raises(AuthenticationError) as info:
        gauth.resolve_credentials(None)
    text = str(info.value)
    assert "vertex_credentials" in text and "GOOGLE_APPLICATION_CREDENTIALS" in text
    assert "gcloud auth application-default login" in text


def test_bad_sources(tmp_path: Path, emu: Emulator) -> None:
    info = service_account_info(emu.url)
    broken = json.dumps(info)[:-5]  # a key file with a typo: must not be echoed
    with pytest.raises(AuthenticationError) as err:
        gauth.resolve_credentials(broken)
    assert "PRIVATE KEY" not in str(err.value) and info["private_key_id"] not in str(err.value)
    with pytest.raises(AuthenticationError, match="cannot read"):
        gauth.resolve_credentials(str(tmp_path / "missing.json"))
    (tmp_path / "not.json").write_text("hello")
    with pytest.raises(AuthenticationError, match="not a JSON credentials file"):
        gauth.resolve_credentials(str(tmp_path / "not.json"))
    with pytest.raises(AuthenticationError, match="unsupported credential type"):
        # The seed page's config example: not a credential at all.
        gauth.resolve_credentials({"project_id": "p", "location": "l", "project_key": "k"})
    with pytest.raises(BadRequestError, match="must be a JSON string"):
        gauth.resolve_credentials(42)
    with pytest.raises(BadRequestError, match="empty"):
        gauth.resolve_credentials("   ")


@pytest.mark.parametrize("where", ["body", "header"])
def test_corrupt_private_key_error_shows_no_key_material(emu: Emulator, where: str) -> None:
    info = service_account_info(emu.url)
    lines = info["private_key"].splitlines()
    if where == "body":
        lines[5] = lines[5][::-1]
    else:
        lines[0] = lines[0].replace("PRIVATE", "PRIVTAE")
    info["private_key"] = "\n".join(lines) + "\n"
    with pytest.raises(AuthenticationError) as err:
        gauth.resolve_credentials(info).token()
    text = str(err.value) + repr(err.value)
    assert "could not be loaded" in text or "did not issue" in text
    for line in lines[1:-1]:
        assert line[:20] not in text and line[::-1][:20] not in text


def test_token_endpoint_rejection_is_an_authentication_error(emu: Emulator) -> None:
    emu.queue_json(
        {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
        status=400,
        path_contains="/token",
    )
    creds = gauth.resolve_credentials(service_account_info(emu.url))
    with pytest.raises(AuthenticationError, match="invalid_grant"):
        creds.token()


def test_unreachable_token_endpoint_is_a_connection_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    creds = gauth.resolve_credentials(service_account_info(f"http://127.0.0.1:{port}"))
    with pytest.raises(APIConnectionError, match="token endpoint"):
        creds.token()


# --------------------------------------------------------------------------- caching


def test_one_token_for_many_sync_calls(emu: Emulator) -> None:
    before = token_requests(emu)
    tokens = {gauth.resolve_credentials(service_account_info(emu.url)).token() for _ in range(25)}
    assert len(tokens) == 1
    assert token_requests(emu) == before + 1


def test_threads_share_one_refresh(emu: Emulator) -> None:
    creds = gauth.resolve_credentials(service_account_info(emu.url, project_id="threads"))
    before = token_requests(emu)
    barrier = threading.Barrier(8)
    got: list[str] = []

    def worker() -> None:
        barrier.wait()
        got.append(creds.token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1 and len(got) == 8
    assert token_requests(emu) == before + 1
    assert creds.refreshes == 1


async def test_concurrent_coroutines_share_one_refresh(emu: Emulator) -> None:
    creds = gauth.resolve_credentials(service_account_info(emu.url, project_id="coroutines"))
    before = token_requests(emu)
    tokens = await asyncio.gather(*(creds.atoken() for _ in range(30)))
    assert len(set(tokens)) == 1
    assert token_requests(emu) == before + 1
    # ... and the sync path sees the same cached token.
    assert creds.token() == tokens[0]
    assert token_requests(emu) == before + 1


def test_sync_and_several_event_loops_share_the_token(emu: Emulator) -> None:
    creds = gauth.resolve_credentials(service_account_info(emu.url, project_id="loops"))
    first = creds.token()
    before = token_requests(emu)
    assert asyncio.run(creds.atoken()) == first
    assert asyncio.run(creds.atoken()) == first
    assert token_requests(emu) == before


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A clock that moves google-auth's idea of "now" (token expiry) along with ours."""
    from datetime import datetime, timezone

    from google.auth import _helpers

    fake = Clock()

    def utcnow() -> datetime:
        return datetime.fromtimestamp(fake(), tz=timezone.utc).replace(tzinfo=None)

    monkeypatch.setattr(_helpers, "utcnow", utcnow)
    return fake


def test_refresh_before_expiry(emu: Emulator, clock: Clock) -> None:
    creds = gauth.resolve_credentials(
        service_account_info(emu.url, project_id="clock"), clock=clock
    )
    first = creds.token()
    clock.offset = 3600 - gauth.REFRESH_MARGIN - 30  # 30 s before the refresh point
    assert creds.token() == first
    clock.offset = 3600 - gauth.REFRESH_MARGIN + 30  # inside the margin: replaced
    second = creds.token()
    assert second != first and second.startswith("emu-token-")
    assert creds.refreshes == 2
    assert creds.token() == second


async def test_async_refresh_before_expiry(emu: Emulator, clock: Clock) -> None:
    creds = gauth.resolve_credentials(
        service_account_info(emu.url, project_id="aclock"), clock=clock
    )
    first = await creds.atoken()
    clock.offset = 3600
    renewed = await asyncio.gather(*(creds.atoken() for _ in range(10)))
    assert len(set(renewed)) == 1 and renewed[0] != first
    assert creds.refreshes == 2


def test_cache_is_bounded_lru(emu: Emulator) -> None:
    infos = [
        service_account_info(emu.url, project_id=f"p{i}")
        for i in range(gauth.MAX_CACHED_CREDENTIALS + 5)
    ]
    first = gauth.resolve_credentials(infos[0])
    for info in infos[1:]:
        gauth.resolve_credentials(info)
        gauth.resolve_credentials(infos[0])  # keep the first one recently used
    entries = gauth.cached_credentials()
    assert len(entries) == gauth.MAX_CACHED_CREDENTIALS
    assert first in entries
    assert gauth.resolve_credentials(infos[1]) is not None  # evicted ones are simply rebuilt


# --------------------------------------------------------------------------- httpx.Auth


def _echo(request: httpx.Request) -> httpx.Response:
    seen = {
        "authorization": request.headers.get("authorization"),
        "user_project": request.headers.get("x-goog-user-project"),
    }
    return httpx.Response(200, json=seen)


def test_auth_sets_bearer_and_quota_project(emu: Emulator) -> None:
    creds = gauth.resolve_credentials(
        authorized_user_credentials(emu.url, quota_project_id="bill-me")
    )
    auth = gauth.GoogleAuth(creds)
    with httpx.Client(transport=httpx.MockTransport(_echo)) as client:
        seen = client.get("https://example.test/", auth=auth).json()
    assert seen["authorization"] == f"Bearer {creds.token()}"
    assert seen["user_project"] == "bill-me"


def test_auth_renews_once_after_401(emu: Emulator) -> None:
    creds = gauth.resolve_credentials(service_account_info(emu.url, project_id="renew"))
    stale = creds.token()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        if request.headers["authorization"] == f"Bearer {stale}":
            return httpx.Response(401, json={"error": {"code": 401, "status": "UNAUTHENTICATED"}})
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        resp = client.post("https://example.test/", content=b"{}", auth=gauth.GoogleAuth(creds))
    assert resp.status_code == 200
    assert calls[0] == f"Bearer {stale}" and calls[1] != calls[0] and len(calls) == 2


def test_auth_gives_up_after_one_renewal(emu: Emulator) -> None:
    creds = gauth.resolve_credentials(service_account_info(emu.url, project_id="giveup"))
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        return httpx.Response(401, json={})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        resp = client.get("https://example.test/", auth=gauth.GoogleAuth(creds))
    assert resp.status_code == 401 and len(calls) == 2


async def test_async_auth_flow(emu: Emulator) -> None:
    creds = gauth.resolve_credentials(service_account_info(emu.url, project_id="asyncflow"))
    auth = gauth.GoogleAuth(creds)
    async with httpx.AsyncClient(transport=httpx.MockTransport(_echo)) as client:
        results = await asyncio.gather(
            *(client.get("https://example.test/", auth=auth) for _ in range(10))
        )
    values = {r.json()["authorization"] for r in results}
    assert values == {f"Bearer {creds.token()}"}
    assert creds.refreshes == 1


def test_auth_errors_name_provider_and_model(emu: Emulator) -> None:
    body = {"error": "invalid_grant", "error_description": "Account disabled."}
    emu.queue_json(body, status=400, path_contains="/token")
    creds = gauth.resolve_credentials(service_account_info(emu.url, project_id="named"))
    auth = gauth.GoogleAuth(creds, provider="vertex_ai", model="gemini-2.5-flash")
    with (
        httpx.Client(transport=httpx.MockTransport(_echo)) as client,
        pytest.raises(AuthenticationError) as err,
    ):
        client.get("https://example.test/", auth=auth)
    assert err.value.provider == "vertex_ai" and err.value.model == "gemini-2.5-flash"


# --------------------------------------------------------------------------- project, location


def test_project_order(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    creds = gauth.resolve_credentials(service_account_info(emu.url, project_id="cred-project"))
    assert gauth.resolve_project(None, creds) == "cred-project"
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "gcp-env")
    assert gauth.resolve_project(None, creds) == "gcp-env"
    monkeypatch.setenv("VERTEXAI_PROJECT", "vertex-env")
    assert gauth.resolve_project(None, creds) == "vertex-env"
    monkeypatch.setattr(polymodal, "vertex_project", "module-default")
    assert gauth.resolve_project(None, creds) == "module-default"
    assert gauth.resolve_project("explicit", creds) == "explicit"


def test_no_project(emu: Emulator) -> None:
    with pytest.raises(BadRequestError, match="vertex_project"):
        gauth.resolve_project(None, None)
    with pytest.raises(BadRequestError, match="not a Google Cloud project id"):
        gauth.resolve_project("evil.com/x?y", None)


def test_location_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert gauth.resolve_location(None) == gauth.DEFAULT_LOCATION == "us-central1"
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west1")
    assert gauth.resolve_location(None) == "europe-west1"
    monkeypatch.setenv("VERTEXAI_LOCATION", "asia-southeast1")
    assert gauth.resolve_location(None) == "asia-southeast1"
    monkeypatch.setattr(polymodal, "vertex_location", "global")
    assert gauth.resolve_location(None) == "global"
    assert gauth.resolve_location("eu") == "eu"
    for bad in ("us-central1.evil.com", "Us-Central1", "a/b", "x#y"):
        with pytest.raises(BadRequestError, match="not a Google Cloud location"):
            gauth.resolve_location(bad)


# --------------------------------------------------------------------------- secrecy


def test_tokens_and_keys_never_show(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    info = service_account_info(emu.url, project_id="secret-check")
    creds = gauth.resolve_credentials(info)
    token = creds.token()
    auth = gauth.GoogleAuth(creds)
    shown = " ".join(
        [repr(creds), str(creds), repr(auth), repr(gauth.cached_credentials())]
        + [r.getMessage() for r in caplog.records]
    )
    assert token not in shown
    assert info["private_key"][40:80] not in shown
    assert "token=cached" in repr(creds)


def test_import_polymodal_does_not_import_google_auth() -> None:
    code = (
        "import sys, polymodal, polymodal.providers, polymodal.options; "
        "print(any(m == 'google.auth' or m.startswith('google.auth.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
