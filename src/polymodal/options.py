"""Call options shared by every function: credentials, endpoint overrides, timeouts, retries.

They are popped from the user's keyword arguments before the request parameters are validated,
so a typo in a request parameter is still caught. Secrets are held as ``SecretStr`` and never
appear in ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from pydantic import SecretStr

from polymodal.errors import BadRequestError

DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_RETRIES = 2


@dataclass(slots=True)
class CallOptions:
    api_key: SecretStr | None = None
    api_base: str | None = None
    api_version: str | None = None
    organization: str | None = None
    azure_ad_token: SecretStr | None = None
    azure_ad_token_provider: Callable[[], str] | None = field(default=None, repr=False)
    timeout: float | None = None
    max_retries: int | None = None
    extra_headers: dict[str, str] | None = None
    drop_params: bool = False
    custom_llm_provider: str | None = None
    allow_private_media_hosts: bool = False
    # Google Vertex AI
    vertex_project: str | None = None
    vertex_location: str | None = None
    # A service-account / ADC JSON string, a dict, a path to a JSON file, or a google-auth
    # Credentials object. Never in repr.
    vertex_credentials: Any = field(default=None, repr=False)
    # AWS (Bedrock)
    aws_region_name: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    aws_profile_name: str | None = None
    # A caller-supplied httpx.Client / httpx.AsyncClient (e.g. with a custom transport).
    client: Any = field(default=None, repr=False)

    @property
    def effective_timeout(self) -> float:
        return DEFAULT_TIMEOUT if self.timeout is None else self.timeout

    @property
    def effective_max_retries(self) -> int:
        return DEFAULT_MAX_RETRIES if self.max_retries is None else self.max_retries


_SECRET_FIELDS = frozenset(
    {"api_key", "azure_ad_token", "aws_access_key_id", "aws_secret_access_key", "aws_session_token"}
)
OPTION_NAMES: frozenset[str] = frozenset(f.name for f in fields(CallOptions))


def _secret(value: Any, name: str) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value
    if isinstance(value, str):
        if not value.isascii() or "\r" in value or "\n" in value:
            # Never echo the value: it may be a real key with a stray character.
            raise BadRequestError(
                f"{name} contains non-ASCII or line-break characters, which no HTTP header can "
                "carry; is it a placeholder from an example?",
                param=name,
            )
        return SecretStr(value)
    raise BadRequestError(f"{name} must be a string or SecretStr, got {type(value).__name__}")


def pop_options(params: dict[str, Any], defaults: Mapping[str, Any] | None = None) -> CallOptions:
    """Remove the call options from ``params`` (in place) and return them."""
    values: dict[str, Any] = dict(defaults or {})
    for name in OPTION_NAMES & params.keys():
        values[name] = params.pop(name)
    # OpenAI SDK and LiteLLM spellings users bring along.
    for alias, name in (
        ("base_url", "api_base"),
        ("request_timeout", "timeout"),
        ("headers", "extra_headers"),
        ("vertex_ai_project", "vertex_project"),
        ("vertex_ai_location", "vertex_location"),
    ):
        if alias in params:
            values[name] = params.pop(alias)
    for name in _SECRET_FIELDS & values.keys():
        values[name] = _secret(values[name], name)
    timeout = values.get("timeout")
    if timeout is not None and not isinstance(timeout, int | float):
        raise BadRequestError(f"timeout must be a number of seconds, got {timeout!r}")
    retries = values.get("max_retries")
    if retries is not None and (not isinstance(retries, int) or retries < 0):
        raise BadRequestError(f"max_retries must be a non-negative integer, got {retries!r}")
    return CallOptions(**values)
