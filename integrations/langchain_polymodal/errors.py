"""Provider errors as langchain-core's ``Model*Error`` exceptions that are polymodal's too.

Every error :class:`~langchain_polymodal.ChatPolymodal` raises for a provider failure is an
instance of both hierarchies, so ``except polymodal.errors.RateLimitError`` and
``except langchain_core.exceptions.ModelRateLimitError`` catch the same thing; ``status_code``,
``provider``, ``model``, ``retry_after`` and the provider's message are kept.
"""

from __future__ import annotations

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from polymodal import errors as pe

__all__ = [
    "APIConnectionError",
    "AuthenticationError",
    "BadRequestError",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "InternalServerError",
    "JSONSchemaValidationError",
    "MediaFetchError",
    "NotFoundError",
    "PermissionDeniedError",
    "PolymodalModelError",
    "RateLimitError",
    "ServiceUnavailableError",
    "TimeoutError",
    "UnsupportedParamsError",
    "as_langchain_error",
]


class PolymodalModelError(pe.PolymodalError, ModelError):
    """A polymodal error with no more specific langchain-core counterpart."""


class BadRequestError(pe.BadRequestError, ModelInvalidRequestError):
    pass


class ContextWindowExceededError(pe.ContextWindowExceededError, ContextOverflowError):
    pass


class ContentPolicyViolationError(pe.ContentPolicyViolationError, ModelInvalidRequestError):
    pass


class UnsupportedParamsError(pe.UnsupportedParamsError, ModelInvalidRequestError):
    pass


class MediaFetchError(pe.MediaFetchError, ModelInvalidRequestError):
    pass


class JSONSchemaValidationError(pe.JSONSchemaValidationError, ModelInvalidRequestError):
    pass


class AuthenticationError(pe.AuthenticationError, ModelAuthenticationError):
    pass


class PermissionDeniedError(pe.PermissionDeniedError, ModelPermissionDeniedError):
    pass


class NotFoundError(pe.NotFoundError, ModelNotFoundError):
    pass


class RateLimitError(pe.RateLimitError, ModelRateLimitError):
    pass


class TimeoutError(pe.TimeoutError, ModelTimeoutError):  # mirrors polymodal's name
    pass


class APIConnectionError(pe.APIConnectionError, ModelConnectionError):
    pass


class InternalServerError(pe.InternalServerError, ModelAPIError):
    pass


class ServiceUnavailableError(pe.ServiceUnavailableError, ModelAPIError):
    pass


_BY_CORE: dict[type[pe.PolymodalError], type[pe.PolymodalError]] = {
    pe.ContextWindowExceededError: ContextWindowExceededError,
    pe.ContentPolicyViolationError: ContentPolicyViolationError,
    pe.UnsupportedParamsError: UnsupportedParamsError,
    pe.MediaFetchError: MediaFetchError,
    pe.JSONSchemaValidationError: JSONSchemaValidationError,
    pe.BadRequestError: BadRequestError,
    pe.AuthenticationError: AuthenticationError,
    pe.PermissionDeniedError: PermissionDeniedError,
    pe.NotFoundError: NotFoundError,
    pe.RateLimitError: RateLimitError,
    pe.TimeoutError: TimeoutError,
    pe.APIConnectionError: APIConnectionError,
    pe.ServiceUnavailableError: ServiceUnavailableError,
    pe.InternalServerError: InternalServerError,
    pe.PolymodalError: PolymodalModelError,
}


# The langchain-core base of each core class (a core subclass inherits its parent's).
_LANGCHAIN_BASE: dict[type[pe.PolymodalError], type[ModelError]] = {
    pe.ContextWindowExceededError: ContextOverflowError,
    pe.BadRequestError: ModelInvalidRequestError,
    pe.AuthenticationError: ModelAuthenticationError,
    pe.PermissionDeniedError: ModelPermissionDeniedError,
    pe.NotFoundError: ModelNotFoundError,
    pe.RateLimitError: ModelRateLimitError,
    pe.TimeoutError: ModelTimeoutError,
    pe.APIConnectionError: ModelConnectionError,
    pe.InternalServerError: ModelAPIError,
    pe.PolymodalError: ModelError,
}
_DERIVED: dict[type[pe.PolymodalError], type[pe.PolymodalError]] = {}


def _class_for(core: type[pe.PolymodalError]) -> type[pe.PolymodalError]:
    """The class above for ``core``; for a subclass the core added later, one made to measure."""
    found = _BY_CORE.get(core) or _DERIVED.get(core)
    if found is None:
        base = next(_LANGCHAIN_BASE[k] for k in core.__mro__ if k in _LANGCHAIN_BASE)
        found = type(core.__name__, (core, base), {"__module__": __name__})
        _DERIVED[core] = found
    return found


def as_langchain_error(exc: pe.PolymodalError) -> pe.PolymodalError:
    """``exc`` re-classed to also be langchain-core's matching error (same attributes, cause)."""
    if isinstance(exc, ModelError):
        return exc
    target = _class_for(type(exc))
    wrapped = target.__new__(target)
    wrapped.__dict__.update(exc.__dict__)
    wrapped.args = exc.args
    wrapped.__cause__ = exc.__cause__
    wrapped.__suppress_context__ = exc.__suppress_context__
    return wrapped.with_traceback(exc.__traceback__)
