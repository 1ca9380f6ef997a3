"""Error mapping from status codes and the providers' structured error bodies.

The bodies are the shapes the providers document (and that the recorded traffic shows):
OpenAI/Azure ``{"error": {"message", "type", "param", "code"}}``, Google
``{"error": {"code", "message", "status", "details"}}``, Anthropic ``{"type": "error", "error": {...}}``.
"""

from __future__ import annotations

import pytest

from polymodal import errors
from polymodal._retry_after import retry_after_seconds

OPENAI_CONTEXT = {
    "error": {
        "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}
AZURE_FILTER = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation"},
    }
}
GOOGLE_429 = {
    "error": {
        "code": 429,
        "message": "Resource has been exhausted (e.g. check quota).",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"},
        ],
    }
}
ANTHROPIC_401 = {
    "type": "error",
    "error": {"type": "authentication_error", "message": "invalid x-api-key"},
}


@pytest.mark.parametrize(
    ("status", "body", "cls", "message_part"),
    [
        (400, OPENAI_CONTEXT, errors.ContextWindowExceededError, "maximum context length"),
        (400, AZURE_FILTER, errors.ContentPolicyViolationError, "content management policy"),
        (429, GOOGLE_429, errors.RateLimitError, "Resource has been exhausted"),
        (401, ANTHROPIC_401, errors.AuthenticationError, "invalid x-api-key"),
        (403, {"error": {"message": "denied"}}, errors.PermissionDeniedError, "denied"),
        (
            404,
            {"error": {"message": "The model `x` does not exist"}},
            errors.NotFoundError,
            "does not exist",
        ),
        (500, {"error": {"message": "boom"}}, errors.InternalServerError, "boom"),
        (503, {"error": {"message": "overloaded"}}, errors.ServiceUnavailableError, "overloaded"),
        (408, b"", errors.TimeoutError, "HTTP 408"),
        (400, b"<html>bad gateway</html>", errors.BadRequestError, "<html>bad gateway</html>"),
        (
            400,
            {
                "error": {
                    "message": "Unsupported parameter: 'max_tokens'",
                    "code": "unsupported_parameter",
                }
            },
            errors.UnsupportedParamsError,
            "max_tokens",
        ),
    ],
)
def test_error_from_response(status: int, body: object, cls: type, message_part: str) -> None:
    err = errors.error_from_response(status, body, provider="openai", model="gpt-4o")
    assert type(err) is cls
    assert err.status_code == status
    assert err.provider == "openai" and err.model == "gpt-4o"
    assert message_part in err.message
    assert "openai/gpt-4o" in str(err)


def test_bad_request_family() -> None:
    for cls in (
        errors.ContextWindowExceededError,
        errors.ContentPolicyViolationError,
        errors.UnsupportedParamsError,
        errors.MediaFetchError,
        errors.JSONSchemaValidationError,
    ):
        assert issubclass(cls, errors.BadRequestError)
    assert issubclass(errors.ServiceUnavailableError, errors.InternalServerError)
    assert issubclass(errors.ModelNotFoundError, errors.NotFoundError)


def test_openai_param_and_code_kept() -> None:
    err = errors.error_from_response(400, OPENAI_CONTEXT, provider="openai", model="m")
    assert err.param == "messages"
    assert err.code == "context_length_exceeded"


def test_retry_after_sources() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert (
        retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0)
        == 10.0
    )
    assert retry_after_seconds({}, GOOGLE_429) == 17.0
    assert retry_after_seconds({}) is None
    err = errors.error_from_response(429, GOOGLE_429, provider="vertex_ai", model="gemini")
    assert err.retry_after == 17.0


def test_secrets_are_redacted_from_messages() -> None:
    body = {
        "error": {
            "message": "Incorrect API key provided: sk-proj-abcdefghijklmnop1234. You can find..."
        }
    }
    err = errors.error_from_response(401, body, provider="openai", model="gpt-4o")
    assert "sk-proj-abcdefghijklmnop1234" not in str(err)
    assert "sk-proj-abcdefghijklmnop1234" not in repr(err)
    assert "[REDACTED]" in err.message
    google = errors.PolymodalError(
        "bad key AIzaSyA1234567890abcdefghijklmnopqrstu and ya29.a0AfB_token"
    )
    assert "AIza" not in str(google) and "ya29." not in str(google)
