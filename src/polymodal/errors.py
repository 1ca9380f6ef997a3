"""One exception hierarchy for every provider.

Every error carries ``status_code``, ``provider``, ``model`` and the provider's own message.
None carries a credential: messages are built from response bodies and our own text only, and
:func:`redact` scrubs anything that looks like a key before it is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "AuthenticationError",
    "BadRequestError",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "InternalServerError",
    "JSONSchemaValidationError",
    "MediaFetchError",
    "ModelNotFoundError",
    "NotFoundError",
    "PermissionDeniedError",
    "PolymodalError",
    "RateLimitError",
    "ServiceUnavailableError",
    "TimeoutError",
    "UnsupportedParamsError",
    "error_from_response",
    "redact",
]

_SECRET_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|(?:AKIA|ASIA)[0-9A-Z]{12,}|ya29\.[0-9A-Za-z_\-.]+"
    r"|Bearer\s+[A-Za-z0-9_\-.=:+/]{8,})"
)


def redact(text: str) -> str:
    """Replace anything shaped like a credential with ``[REDACTED]``."""
    return _SECRET_PATTERNS.sub("[REDACTED]", text)


class PolymodalError(Exception):
    """Root of every error polymodal raises."""

    default_status: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        provider: str | None = None,
        model: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        self.message = redact(message)
        self.status_code = status_code if status_code is not None else self.default_status
        self.provider = provider
        self.model = model
        self.body = body
        self.param = param
        self.code = code
        # Only the headers that help a caller (retry hints, request ids) are kept.
        self.headers: dict[str, str] = {
            k.lower(): v
            for k, v in (headers or {}).items()
            if k.lower() in _KEPT_HEADERS or k.lower().endswith("request-id")
        }
        super().__init__(self.message)

    def __str__(self) -> str:
        where = "/".join(p for p in (self.provider, self.model) if p)
        status = f" {self.status_code}" if self.status_code is not None else ""
        prefix = f"{type(self).__name__}{status}"
        return f"{prefix} [{where}]: {self.message}" if where else f"{prefix}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status_code={self.status_code!r},"
            f" provider={self.provider!r}, model={self.model!r})"
        )

    @property
    def retry_after(self) -> float | None:
        """Seconds the provider asked us to wait, from ``Retry-After`` or the error body."""
        from polymodal._retry_after import retry_after_seconds

        return retry_after_seconds(self.headers, self.body)


_KEPT_HEADERS = frozenset({"retry-after", "retry-after-ms", "x-request-id", "apim-request-id"})


class BadRequestError(PolymodalError):
    """The request was invalid (HTTP 400), or invalid before it was sent."""

    default_status = 400


class ContextWindowExceededError(BadRequestError):
    """The prompt is longer than the model's context window."""


class ContentPolicyViolationError(BadRequestError):
    """The prompt or the answer was blocked by the provider's content policy."""


class UnsupportedParamsError(BadRequestError):
    """A parameter the target model or provider does not take (see ``drop_params``)."""


class MediaFetchError(BadRequestError):
    """A media URL could not be fetched, was refused, or was not what it claimed to be."""


class JSONSchemaValidationError(BadRequestError):
    """The model's answer does not validate against the requested JSON schema."""

    def __init__(self, message: str, *, raw_response: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.raw_response = raw_response


class AuthenticationError(PolymodalError):
    default_status = 401


class PermissionDeniedError(PolymodalError):
    default_status = 403


class NotFoundError(PolymodalError):
    default_status = 404


class ModelNotFoundError(NotFoundError, KeyError):
    """The model is not known to the registry (raised locally, not by a provider)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return PolymodalError.__str__(self)


class RateLimitError(PolymodalError):
    default_status = 429


class TimeoutError(PolymodalError):
    default_status = 408


class APIConnectionError(PolymodalError):
    """The connection failed or broke before a complete response arrived."""


class InternalServerError(PolymodalError):
    default_status = 500


class ServiceUnavailableError(InternalServerError):
    default_status = 503


_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "maximum context",
    "context window",
    "too many tokens",
    "prompt is too long",
    "input is too long",
    "exceeds the maximum number of tokens",
    "input token count",
    "string_above_max_length",
)
_POLICY_MARKERS = (
    "content_policy_violation",
    "content_filter",
    "content management policy",
    "safety system",
    "responsibleaipolicyviolation",
    "prohibited_content",
)


def _extract(body: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """(message, code, type/status, param) from the common structured error bodies."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # Google sometimes wraps the error in a one-element list
    if not isinstance(body, dict):
        return None, None, None, None
    err = body.get("error", body)
    if isinstance(err, str):
        return err, None, None, None
    if not isinstance(err, dict):
        return None, None, None, None
    message = err.get("message") or body.get("message")
    code = err.get("code")
    kind = err.get("type") or err.get("status")
    if isinstance(code, int) and isinstance(err.get("status"), str):
        code = None  # Google: error.code repeats the HTTP status; error.status is the real code
    inner = err.get("innererror")
    if isinstance(inner, dict) and inner.get("code"):
        code = f"{code}/{inner['code']}" if code else str(inner["code"])
    meta = err.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("raw"), str) and message:
        # OpenRouter puts the upstream provider's own words in metadata.raw.
        message = f"{message}: {meta['raw'][:1000]}"
    param = err.get("param")
    return (
        str(message) if message is not None else None,
        str(code) if code is not None else None,
        str(kind) if kind is not None else None,
        str(param) if param is not None else None,
    )


def error_from_response(
    status_code: int,
    body: bytes | str | Any,
    *,
    provider: str | None,
    model: str | None,
    headers: Mapping[str, str] | None = None,
) -> PolymodalError:
    """Map an HTTP error response to the hierarchy, from status and structured fields."""
    parsed: Any = body
    if isinstance(body, bytes | str):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        raw_text = text
    else:
        raw_text = json.dumps(body) if body is not None else ""
    message, code, kind, param = _extract(parsed)
    if not message:
        message = raw_text.strip()[:2000] or f"HTTP {status_code} with an empty body"
    haystack = " ".join(x for x in (message, code, kind) if x).lower()
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "provider": provider,
        "model": model,
        "body": parsed if parsed is not None else raw_text,
        "headers": headers,
        "param": param,
        "code": code or kind,
    }
    cls: type[PolymodalError]
    if status_code in (400, 413, 422):
        if any(m in haystack for m in _CONTEXT_MARKERS):
            cls = ContextWindowExceededError
        elif any(m in haystack for m in _POLICY_MARKERS):
            cls = ContentPolicyViolationError
        elif "unsupported_parameter" in haystack or "unknown_parameter" in haystack:
            cls = UnsupportedParamsError
        else:
            cls = BadRequestError
    elif status_code == 401:
        cls = AuthenticationError
    elif status_code == 403:
        cls = PermissionDeniedError
    elif status_code == 404:
        cls = NotFoundError
    elif status_code in (408, 504) or kind == "DEADLINE_EXCEEDED":
        cls = TimeoutError
    elif status_code == 429 or kind == "RESOURCE_EXHAUSTED":
        cls = RateLimitError
    elif status_code in (503, 529) or kind == "overloaded_error":
        cls = ServiceUnavailableError
    elif status_code >= 500:
        cls = InternalServerError
    elif any(m in haystack for m in _CONTEXT_MARKERS):
        cls = ContextWindowExceededError
    else:
        cls = BadRequestError if 400 <= status_code < 500 else PolymodalError
    return cls(message, **kwargs)
