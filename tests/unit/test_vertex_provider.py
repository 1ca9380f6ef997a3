"""Vertex AI and Google AI Studio providers: URL goldens for every route and host kind, the
``api_base`` rule, auth plumbing, module-default safety settings, and Google's error bodies
mapped to polymodal's hierarchy. No I/O: credentials are bare-token google-auth objects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import polymodal
from polymodal import errors, providers, routing
from polymodal.auth import google as gauth
from polymodal.options import pop_options
from polymodal.providers import google_ai_studio, vertex
from polymodal.routing import Route

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "recorded"
SHARED_FIXTURES = Path("/work/shared/fixtures/recorded")
ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "VERTEXAI_PROJECT",
    "GOOGLE_CLOUD_PROJECT",
    "VERTEXAI_LOCATION",
    "GOOGLE_CLOUD_LOCATION",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(polymodal, "vertex_project", None)
    monkeypatch.setattr(polymodal, "vertex_location", None)
    monkeypatch.setattr(polymodal, "vertex_ai_safety_settings", None)
    gauth.clear_cache()
    yield
    gauth.clear_cache()


def token_credentials(token: str = "ya29.test-token") -> Any:
    from google.oauth2.credentials import Credentials

    make: Any = Credentials
    return make(token=token)


def opts(**kwargs: Any) -> Any:
    base: dict[str, Any] = {"vertex_credentials": token_credentials(), "vertex_project": "p"}
    base.update(kwargs)
    return pop_options(base)


def url(model: str, stream: bool = False, **kwargs: Any) -> str:
    return vertex.endpoint(Route("vertex_ai", model), "chat", opts(**kwargs), stream=stream).url


REGIONAL = "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1"


# --------------------------------------------------------------------------- hosts and api_base


@pytest.mark.parametrize(
    ("location", "prefix"),
    [
        ("us-central1", REGIONAL),
        (
            "europe-west4",
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4",
        ),
        ("global", "https://aiplatform.googleapis.com/v1/projects/p/locations/global"),
        ("us", "https://aiplatform.us.rep.googleapis.com/v1/projects/p/locations/us"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com/v1/projects/p/locations/eu"),
    ],
)
def test_hosts(location: str, prefix: str) -> None:
    got = url("gemini-2.5-flash", vertex_location=location)
    assert got == f"{prefix}/publishers/google/models/gemini-2.5-flash:generateContent"


def test_default_location_is_us_central1() -> None:
    assert url("gemini-2.5-flash").startswith(REGIONAL + "/")


@pytest.mark.parametrize(
    ("api_base", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/projects/p/locations/us-central1"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/projects/p/locations/us-central1"),
        (
            "https://proxy.example.com/vertex/",
            "https://proxy.example.com/vertex/v1/projects/p/locations/us-central1",
        ),
        (
            "https://private.example.com/v1beta1",
            "https://private.example.com/v1beta1/projects/p/locations/us-central1",
        ),
        (
            "https://us-central1-aiplatform.googleapis.com/v1",
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1",
        ),
    ],
)
def test_api_base_replaces_host_and_keeps_googles_path(api_base: str, expected: str) -> None:
    got = url("gemini-2.5-flash", api_base=api_base)
    assert got == f"{expected}/publishers/google/models/gemini-2.5-flash:generateContent"


def test_api_version() -> None:
    got = url("gemini-2.5-flash", api_version="v1beta1")
    assert got.startswith("https://us-central1-aiplatform.googleapis.com/v1beta1/projects/p/")
    with pytest.raises(errors.BadRequestError, match="api_version"):
        url("gemini-2.5-flash", api_version="2024-10-21")


def test_bad_location_fails_before_io() -> None:
    with pytest.raises(errors.BadRequestError, match="not a Google Cloud location"):
        url("gemini-2.5-flash", vertex_location="us-central1.evil.example")


# --------------------------------------------------------------------------- routes


@pytest.mark.parametrize(
    ("model", "stream", "path"),
    [
        ("gemini-2.5-flash", False, "publishers/google/models/gemini-2.5-flash:generateContent"),
        (
            "gemini-2.5-flash",
            True,
            "publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        ),
        ("gemini-pro", False, "publishers/google/models/gemini-pro:generateContent"),
        (
            "google/gemini-2.0-flash",
            False,
            "publishers/google/models/gemini-2.0-flash:generateContent",
        ),
        ("gemini/4965075652664360960", False, "endpoints/4965075652664360960:generateContent"),
        (
            "gemini/4965075652664360960",
            True,
            "endpoints/4965075652664360960:streamGenerateContent?alt=sse",
        ),
        (
            "claude-3-7-sonnet@20250219",
            False,
            "publishers/anthropic/models/claude-3-7-sonnet@20250219:rawPredict",
        ),
        (
            "claude-3-7-sonnet-20250219",
            True,
            "publishers/anthropic/models/claude-3-7-sonnet@20250219:streamRawPredict",
        ),
        ("claude-sonnet-4-5", False, "publishers/anthropic/models/claude-sonnet-4-5:rawPredict"),
        (
            "anthropic/claude-opus-4-1@20250805",
            False,
            "publishers/anthropic/models/claude-opus-4-1@20250805:rawPredict",
        ),
        ("meta/llama3-405b-instruct-maas", False, "endpoints/openapi/chat/completions"),
        ("meta/llama-4-scout-17b-16e-instruct-maas", True, "endpoints/openapi/chat/completions"),
        ("qwen/qwen3-235b-a22b-instruct-2507-maas", False, "endpoints/openapi/chat/completions"),
        ("deepseek-ai/deepseek-r1-0528-maas", False, "endpoints/openapi/chat/completions"),
        ("openai/gpt-oss-120b-maas", False, "endpoints/openapi/chat/completions"),
        ("mistral-large@2407", False, "publishers/mistralai/models/mistral-large@2407:rawPredict"),
        (
            "mistral-large@2407",
            True,
            "publishers/mistralai/models/mistral-large@2407:streamRawPredict",
        ),
        ("mistral-small-2503", False, "publishers/mistralai/models/mistral-small-2503:rawPredict"),
        ("codestral@2405", False, "publishers/mistralai/models/codestral@2405:rawPredict"),
        ("jamba-1.5-mini@001", False, "publishers/ai21/models/jamba-1.5-mini@001:rawPredict"),
        ("meta/jamba-1.5-mini@001", False, "publishers/ai21/models/jamba-1.5-mini@001:rawPredict"),
        (
            "openai/5464397967697903616",
            False,
            "endpoints/5464397967697903616/chat/completions",
        ),
    ],
)
def test_route_urls(model: str, stream: bool, path: str) -> None:
    assert url(model, stream=stream) == f"{REGIONAL}/{path}"


def test_model_garden_dedicated_endpoint_via_api_base() -> None:
    base = "https://5464397967697903616.us-central1-123456789.prediction.vertexai.goog"
    assert url("openai/5464397967697903616", api_base=base) == (
        f"{base}/v1/projects/p/locations/us-central1/endpoints/5464397967697903616/chat/completions"
    )


@pytest.mark.parametrize(
    ("model", "api", "dialect", "body_model"),
    [
        ("gemini-2.5-flash", "gemini", "vertex", None),
        ("gemini/4965075652664360960", "gemini", "vertex", None),
        ("claude-3-7-sonnet@20250219", "anthropic_messages", "vertex", None),
        (
            "meta/llama3-405b-instruct-maas",
            "openai_chat",
            "compatible",
            "meta/llama3-405b-instruct-maas",
        ),
        (
            "llama-3.3-70b-instruct-maas",
            "openai_chat",
            "compatible",
            "meta/llama-3.3-70b-instruct-maas",
        ),
        ("mistral-large@2407", "openai_chat", "compatible", "mistral-large"),
        ("mistral-small-2503", "openai_chat", "compatible", "mistral-small-2503"),
        ("jamba-1.5-large@001", "openai_chat", "compatible", "jamba-1.5-large"),
        ("openai/5464397967697903616", "openai_chat", "compatible", "5464397967697903616"),
    ],
)
def test_wire_format_per_route(model: str, api: str, dialect: str, body_model: str | None) -> None:
    target = providers.chat_target(Route("vertex_ai", model), opts(), False)
    assert target.api.__name__ == f"polymodal.apis.{api}"
    assert target.dialect == dialect
    assert vertex.classify(model).body_model == body_model
    if "body_model" in getattr(type(target), "__dataclass_fields__", {}):
        expected = None if body_model in (None, model) else body_model
        assert target.body_model == expected  # type: ignore[attr-defined,unused-ignore]


def test_bare_gemini_name_routes_to_vertex() -> None:
    route = routing.resolve("gemini-2.5-flash")
    assert route.provider == "vertex_ai"
    target = providers.chat_target(route, opts(), False)
    assert target.endpoint.url == (
        f"{REGIONAL}/publishers/google/models/gemini-2.5-flash:generateContent"
    )


@pytest.mark.parametrize("model", ["5464397967697903616", "gemini/a/b", "  "])
def test_unroutable_models(model: str) -> None:
    with pytest.raises(errors.BadRequestError):
        url(model)


def test_other_operations_not_yet() -> None:
    with pytest.raises(errors.BadRequestError, match="embeddings"):
        vertex.endpoint(Route("vertex_ai", "text-embedding-005"), "embeddings", opts())


# --------------------------------------------------------------------------- auth plumbing


def test_credentials_become_an_httpx_auth_not_a_header() -> None:
    ep = vertex.endpoint(
        Route("vertex_ai", "gemini-2.5-flash"),
        "chat",
        opts(
            vertex_credentials=token_credentials("ya29.secret-token-value"),
            extra_headers={"x-extra": "1"},
        ),
    )
    assert isinstance(ep.auth, gauth.GoogleAuth)
    assert "Authorization" not in ep.headers and ep.headers["x-extra"] == "1"
    assert ep.auth.model == "gemini-2.5-flash" and ep.auth.provider == "vertex_ai"
    assert "ya29.secret-token-value" not in repr(ep) + repr(ep.auth)


def test_api_key_is_a_bearer_token_as_is() -> None:
    ep = vertex.endpoint(
        Route("vertex_ai", "gemini-2.5-flash"),
        "chat",
        pop_options({"api_key": "ya29.minted", "vertex_project": "p"}),
    )
    assert ep.headers["Authorization"] == "Bearer ya29.minted" and ep.auth is None


def test_project_comes_from_the_service_account_when_not_given(tmp_path: Path) -> None:
    from polymodal.testing.google_oauth import service_account_info

    info = service_account_info("http://127.0.0.1:9", project_id="sa-own-project")
    ep = vertex.endpoint(
        Route("vertex_ai", "gemini-2.5-flash"), "chat", pop_options({"vertex_credentials": info})
    )
    assert "/projects/sa-own-project/locations/us-central1/" in ep.url


def test_project_and_location_from_module_defaults_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEXAI_PROJECT", "env-project")
    monkeypatch.setenv("VERTEXAI_LOCATION", "asia-southeast1")
    got = vertex.endpoint(
        Route("vertex_ai", "gemini-2.5-flash"),
        "chat",
        pop_options({"vertex_credentials": token_credentials()}),
    ).url
    assert "/projects/env-project/locations/asia-southeast1/" in got
    assert got.startswith("https://asia-southeast1-aiplatform.googleapis.com/")
    monkeypatch.setattr(polymodal, "vertex_project", "module-project")
    monkeypatch.setattr(polymodal, "vertex_location", "global")
    got = vertex.endpoint(
        Route("vertex_ai", "gemini-2.5-flash"),
        "chat",
        pop_options({"vertex_credentials": token_credentials()}),
    ).url
    assert got.startswith(
        "https://aiplatform.googleapis.com/v1/projects/module-project/locations/global/"
    )


def test_missing_project_fails_before_io() -> None:
    with pytest.raises(errors.BadRequestError, match="no Vertex AI project"):
        vertex.endpoint(
            Route("vertex_ai", "gemini-2.5-flash"),
            "chat",
            pop_options({"vertex_credentials": token_credentials()}),
        )


# --------------------------------------------------------------------------- safety settings

SAFETY = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_NONE"}]


def test_module_default_safety_settings_for_gemini_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert vertex.param_defaults(Route("vertex_ai", "gemini-2.5-flash")) == {}
    monkeypatch.setattr(polymodal, "vertex_ai_safety_settings", SAFETY)
    got = vertex.param_defaults(Route("vertex_ai", "gemini-2.5-flash"))
    assert got == {"safety_settings": SAFETY}
    assert got["safety_settings"][0] is not SAFETY[0]  # a copy: encoders may not touch ours
    assert vertex.param_defaults(Route("vertex_ai", "gemini/123")) == {"safety_settings": SAFETY}
    for other in ("claude-3-7-sonnet@20250219", "meta/llama3-405b-instruct-maas", "mistral-large"):
        assert vertex.param_defaults(Route("vertex_ai", other)) == {}


# --------------------------------------------------------------------------- Google AI Studio


def studio(model: str, stream: bool = False, **kwargs: Any) -> Any:
    return google_ai_studio.endpoint(
        Route("gemini", model), "chat", pop_options(kwargs), stream=stream
    )


def test_ai_studio_url_and_key_header() -> None:
    ep = studio("gemini-2.5-flash", api_key="AIzaSyTEST-key-0123456789abcdefghij")
    assert ep.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert ep.headers["x-goog-api-key"] == "AIzaSyTEST-key-0123456789abcdefghij"
    assert "key=" not in ep.url and "AIza" not in repr(ep)
    ep = studio("gemini-2.5-flash", stream=True, api_key="k")
    assert ep.url.endswith("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")


def test_ai_studio_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    assert studio("gemini-2.0-flash").headers["x-goog-api-key"] == "google-key"
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    assert studio("gemini-2.0-flash").headers["x-goog-api-key"] == "gemini-key"
    assert studio("gemini-2.0-flash", api_key="explicit").headers["x-goog-api-key"] == "explicit"


def test_ai_studio_without_key() -> None:
    with pytest.raises(errors.AuthenticationError, match="GEMINI_API_KEY"):
        studio("gemini-2.5-flash")
    ep = studio("gemini-2.5-flash", api_base="http://127.0.0.1:8080")  # a proxy may need none
    assert ep.url == "http://127.0.0.1:8080/v1beta/models/gemini-2.5-flash:generateContent"
    assert "x-goog-api-key" not in ep.headers


@pytest.mark.parametrize(
    ("model", "kwargs", "expected"),
    [
        ("models/gemini-2.5-pro", {}, "/v1beta/models/gemini-2.5-pro:generateContent"),
        ("tunedModels/my-tuned-1", {}, "/v1beta/tunedModels/my-tuned-1:generateContent"),
        ("gemini-2.5-flash", {"api_version": "v1"}, "/v1/models/gemini-2.5-flash:generateContent"),
        (
            "gemini-2.5-flash",
            {"api_base": "https://gw.example.com/google/v1alpha"},
            "https://gw.example.com/google/v1alpha/models/gemini-2.5-flash:generateContent",
        ),
    ],
)
def test_ai_studio_paths(model: str, kwargs: dict[str, Any], expected: str) -> None:
    got = studio(model, api_key="k", **kwargs).url
    assert got.endswith(expected)


def test_ai_studio_target() -> None:
    target = providers.chat_target(
        Route("gemini", "gemini-2.5-flash"), pop_options({"api_key": "k"}), True
    )
    assert target.api.__name__ == "polymodal.apis.gemini" and target.dialect == "ai_studio"
    assert target.endpoint.url.endswith(":streamGenerateContent?alt=sse")


# --------------------------------------------------------------------------- Google errors


def google(status: int, name: str, message: str, details: list[Any] | None = None) -> bytes:
    error: dict[str, Any] = {"code": status, "message": message, "status": name}
    if details is not None:
        error["details"] = details
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("status", "name", "message", "cls"),
    [
        (400, "INVALID_ARGUMENT", "Request contains an invalid argument.", errors.BadRequestError),
        (
            400,
            "FAILED_PRECONDITION",
            "User location is not supported for the API use.",
            errors.BadRequestError,
        ),
        (
            400,
            "INVALID_ARGUMENT",
            "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
            errors.ContextWindowExceededError,
        ),
        (
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
            errors.AuthenticationError,
        ),
        (
            403,
            "PERMISSION_DENIED",
            "Permission 'aiplatform.endpoints.predict' denied.",
            errors.PermissionDeniedError,
        ),
        (
            404,
            "NOT_FOUND",
            "Publisher Model `projects/p/locations/l/publishers/google/models/x` was not found.",
            errors.NotFoundError,
        ),
        (
            429,
            "RESOURCE_EXHAUSTED",
            "Resource exhausted. Please try again later.",
            errors.RateLimitError,
        ),
        (500, "INTERNAL", "Internal error encountered.", errors.InternalServerError),
        (
            503,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
            errors.ServiceUnavailableError,
        ),
        (
            504,
            "DEADLINE_EXCEEDED",
            "Deadline expired before operation could complete.",
            errors.PolymodalError,
        ),
    ],
)
def test_google_error_bodies(status: int, name: str, message: str, cls: type[Exception]) -> None:
    err = errors.error_from_response(
        status, google(status, name, message), provider="vertex_ai", model="gemini-2.5-flash"
    )
    assert isinstance(err, cls)
    assert err.status_code == status and err.message == message
    assert err.provider == "vertex_ai" and err.model == "gemini-2.5-flash"
    assert name in (err.code, err.body["error"]["status"])


def test_google_status_is_the_error_code() -> None:
    body = google(429, "RESOURCE_EXHAUSTED", "Resource exhausted. Please try again later.")
    err = errors.error_from_response(429, body, provider="vertex_ai", model="m")
    assert err.code == "RESOURCE_EXHAUSTED"


def test_deadline_exceeded_is_retried() -> None:
    from polymodal.http import is_retryable

    err = errors.error_from_response(
        504, google(504, "DEADLINE_EXCEEDED", "Deadline expired."), provider="vertex_ai", model="m"
    )
    assert is_retryable(err)


def test_recorded_google_429_with_retry_info() -> None:
    path = "vercel-ai/gemini/__fixtures__/google-429-retry-info.json"
    local = FIXTURES / path
    body = (local if local.exists() else SHARED_FIXTURES / path).read_bytes()
    err = errors.error_from_response(429, body, provider="gemini", model="gemini-2.0-flash")
    assert isinstance(err, errors.RateLimitError)
    assert err.message == "You exceeded your current quota, please check your plan."
    assert err.retry_after == pytest.approx(34.4)
    from polymodal.http import backoff_seconds, is_retryable

    assert is_retryable(err) and backoff_seconds(1, err) == pytest.approx(34.4)


def test_retry_delay_beyond_the_cap_is_not_waited_for() -> None:
    from polymodal.http import MAX_RETRY_AFTER, is_retryable

    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3600s"}]
    err = errors.error_from_response(
        429,
        google(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", details),
        provider="vertex_ai",
        model="m",
    )
    assert err.retry_after == 3600 > MAX_RETRY_AFTER
    assert not is_retryable(err)


def test_stream_error_wrapped_in_a_list() -> None:
    body = b"[" + google(503, "UNAVAILABLE", "The service is currently unavailable.") + b"]"
    err = errors.error_from_response(503, body, provider="vertex_ai", model="m")
    assert isinstance(err, errors.ServiceUnavailableError)
    assert err.message == "The service is currently unavailable."


def test_error_details_are_kept_on_the_error() -> None:
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
    ]
    err = errors.error_from_response(
        400,
        google(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details),
        provider="gemini",
        model="m",
    )
    assert isinstance(err, errors.BadRequestError)
    assert err.body["error"]["details"][0]["reason"] == "API_KEY_INVALID"
