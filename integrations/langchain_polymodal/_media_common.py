"""What ``PolymodalEmbeddings``, ``PolymodalImageGenerator`` and ``PolymodalSpeech`` share.

* :class:`ProviderFields`: credentials and call options as constructor fields, named and
  handled as in :class:`~langchain_polymodal.ChatPolymodal` (secrets as ``SecretStr``, read from
  the provider's environment variable at call time when unset; unknown constructor keywords go
  to ``model_kwargs`` with a warning).
* helpers for the runnables: prompt coercion, media facts (image size, audio duration) for
  the short text an agent tool hands back to the model.

No provider knowledge lives here: the core decides what each provider takes.
"""

from __future__ import annotations

import base64
import binascii
import struct
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from polymodal.errors import PolymodalError

from .errors import as_langchain_error

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable, RunnableConfig
    from langchain_core.tools import BaseTool

# langchain_core.runnables (and its tracing stack) is imported only where a runnable is made,
# so ``PolymodalEmbeddings`` loads as fast as langchain-core's ``Embeddings`` itself.

__all__ = [
    "ProviderFields",
    "audio_seconds",
    "image_size",
    "lc_error",
    "media_tool",
    "prompt_text",
    "with_concurrency",
]

# Fields passed to the core as call options when set (credentials and endpoint settings).
_OPTION_FIELDS = (
    "api_base", "api_version", "organization", "timeout", "max_retries", "drop_params",
    "extra_headers", "extra_body", "custom_llm_provider", "vertex_project", "vertex_location",
    "aws_region_name", "aws_profile_name",
)  # fmt: skip
# Secret fields, handed to the core still wrapped in SecretStr.
_SECRET_FIELDS = ("api_key", "aws_access_key_id", "aws_secret_access_key", "aws_session_token")


class ProviderFields(BaseModel):
    """Credentials, endpoint and retry settings, as :class:`ChatPolymodal` names them."""

    model_config = ConfigDict(
        populate_by_name=True, protected_namespaces=(), arbitrary_types_allowed=True
    )

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further OpenAI-format or provider parameters, sent with every call."""
    api_key: SecretStr | None = None
    """The key; unset: read at call time from the environment variable of the provider the
    model routes to (``OPENAI_API_KEY``, ``AZURE_API_KEY``, ...)."""
    api_base: str | None = Field(default=None, alias="base_url")
    api_version: str | None = None
    organization: str | None = None
    timeout: float | None = Field(default=None, alias="request_timeout")
    """Seconds per request (the core's default when unset)."""
    max_retries: int = 2
    drop_params: bool | None = None
    """Drop (with a warning) parameters the target model does not take, instead of raising."""
    extra_headers: dict[str, str] | None = Field(default=None, repr=False)
    extra_body: dict[str, Any] | None = None
    custom_llm_provider: str | None = None
    vertex_project: str | None = None
    vertex_location: str | None = None
    vertex_credentials: SecretStr | dict[str, Any] | None = Field(
        default=None, repr=False, exclude=True
    )
    """Service-account JSON (string or dict) or the path of a service-account file."""
    aws_region_name: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    aws_profile_name: str | None = None
    http_client: Any = Field(default=None, exclude=True, repr=False)
    """An ``httpx.Client`` for sync calls (e.g. with a custom transport, proxy or event hook)."""
    http_async_client: Any = Field(default=None, exclude=True, repr=False)
    """An ``httpx.AsyncClient`` for async calls."""

    @model_validator(mode="before")
    @classmethod
    def _collect_provider_params(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        known = set()
        for name, field in cls.model_fields.items():
            known.add(name)
            if field.alias:
                known.add(field.alias)
        extra = {k: v for k, v in values.items() if k not in known}
        model_kwargs = dict(values.get("model_kwargs") or {})
        shadowed = sorted(k for k in model_kwargs if k in known)
        if shadowed:
            raise ValueError(
                f"model_kwargs may not hold {shadowed}: pass them as {cls.__name__}(...) arguments"
            )
        if not extra:
            return values
        for name in extra:
            if name in model_kwargs:
                raise ValueError(f"{name!r} was given both directly and in model_kwargs")
            warnings.warn(
                f"{name!r} is not a {cls.__name__} field; it is sent to the provider as part of "
                "model_kwargs",
                UserWarning,
                stacklevel=4,
            )
        model_kwargs.update(extra)
        return {**{k: v for k, v in values.items() if k in known}, "model_kwargs": model_kwargs}

    def _call_params(
        self, request_fields: tuple[str, ...], kwargs: dict[str, Any], async_: bool
    ) -> dict[str, Any]:
        """Options, the set ``request_fields`` and per-call ``kwargs`` (which win), unset left out."""
        params = self._option_params(async_)
        for name in request_fields:
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        params.update(kwargs)
        return {k: v for k, v in params.items() if v is not None}

    def _option_params(self, async_: bool) -> dict[str, Any]:
        """Call options and ``model_kwargs`` as core keyword arguments (unset ones left out)."""
        params: dict[str, Any] = {}
        for name in _OPTION_FIELDS:
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        for name in _SECRET_FIELDS:
            secret = getattr(self, name)
            if secret is not None:
                params[name] = secret
        creds = self.vertex_credentials
        if creds is not None:
            params["vertex_credentials"] = (
                creds.get_secret_value() if isinstance(creds, SecretStr) else creds
            )
        client = self.http_async_client if async_ else self.http_client
        if client is not None:
            params["client"] = client
        params.update(self.model_kwargs)
        return params


def lc_error(exc: PolymodalError) -> PolymodalError:
    """``exc`` as the dual-inheritance error (polymodal's and langchain-core's)."""
    return as_langchain_error(exc)


def prompt_text(value: Any, what: str) -> str:
    """A runnable's input as text: a string, a prompt value, a message, or ``{what: ...}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        found = value.get(what, value.get("input"))
        if isinstance(found, str):
            return found
        raise ValueError(f"expected a string or a dict with a {what!r} string, got keys "
                         f"{sorted(map(str, value))}")  # fmt: skip
    to_string = getattr(value, "to_string", None)  # a PromptValue
    if callable(to_string):
        text = to_string()
        if isinstance(text, str):
            return text
    text_attr = getattr(value, "text", None)  # a message (langchain-core 1.x: a str property)
    if isinstance(text_attr, str):
        return text_attr
    raise ValueError(f"expected the {what} as a string, got {type(value).__name__}")


def with_concurrency(
    config: RunnableConfig | list[RunnableConfig] | None, default: int
) -> RunnableConfig | list[RunnableConfig]:
    """``config`` with ``max_concurrency`` set to ``default`` where the caller left it unset."""

    def one(c: RunnableConfig | None) -> RunnableConfig:
        out: RunnableConfig = {**(c or {})}
        if out.get("max_concurrency") is None:
            out["max_concurrency"] = default
        return out

    if isinstance(config, list):
        return [one(c) for c in config]
    return one(config)


# --------------------------------------------------------------------------- agent tools


def media_tool(
    runnable: Runnable[Any, Any],
    *,
    args_schema: type[BaseModel],
    arg_types: dict[str, type] | None,
    input_field: str,
    name: str,
    description: str,
    summarize: Callable[[Any, str], str],
) -> BaseTool:
    """A ``content_and_artifact`` tool over ``runnable``: the model gets ``summarize(output)``,
    the caller gets ``output`` as the ``ToolMessage.artifact``.

    ``args_schema[input_field]`` is the runnable's input; the schema's other fields are passed
    as per-call keyword arguments (``size``, ``voice``, ...) when the model sets them. Invalid
    requests (langchain-core's ``ModelInvalidRequestError``: a content-policy refusal, a value
    the model does not take) become a ``ToolException`` whose text goes back to the model; all
    other errors raise.
    """
    from langchain_core.exceptions import ModelInvalidRequestError
    from langchain_core.runnables import RunnableConfig
    from langchain_core.tools import StructuredTool, ToolException

    if arg_types is not None:
        raise ValueError("arg_types is not used by this tool: describe the arguments with "
                         "args_schema (a pydantic model)")  # fmt: skip
    if input_field not in args_schema.model_fields:
        raise ValueError(
            f"args_schema {args_schema.__name__} needs a {input_field!r} field (the input)"
        )

    def split(args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        text = args.pop(input_field)
        return text, {k: v for k, v in args.items() if v is not None}

    def refused(exc: Exception) -> ToolException:
        return ToolException(f"Error: the request was refused: {exc}")

    def call(config: RunnableConfig, **args: Any) -> tuple[str, Any]:
        text, overrides = split(args)
        try:
            output = runnable.invoke(text, config, **overrides)
        except ModelInvalidRequestError as exc:
            raise refused(exc) from exc
        return summarize(output, text), output

    async def acall(config: RunnableConfig, **args: Any) -> tuple[str, Any]:
        text, overrides = split(args)
        try:
            output = await runnable.ainvoke(text, config, **overrides)
        except ModelInvalidRequestError as exc:
            raise refused(exc) from exc
        return summarize(output, text), output

    # The tool hands its run's config to a parameter annotated RunnableConfig (found with
    # typing.get_type_hints, which can't see this function's local import): name it directly.
    for fn in (call, acall):
        fn.__annotations__["config"] = RunnableConfig
    return StructuredTool.from_function(
        func=call,
        coroutine=acall,
        name=name,
        description=description,
        args_schema=args_schema,
        response_format="content_and_artifact",
        handle_tool_error=True,
    )


# --------------------------------------------------------------------------- media facts


def image_size(b64: str | None) -> tuple[int, int] | None:
    """(width, height) read from a PNG, GIF, JPEG or WebP header, or None."""
    if not b64:
        return None
    try:
        head = base64.b64decode(b64[:64], validate=False)
    except (binascii.Error, ValueError):
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return int(width), int(height)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return int(width), int(height)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP" and len(head) >= 30:
        return _webp_size(head)
    if head.startswith(b"\xff\xd8"):
        try:
            return _jpeg_size(base64.b64decode(b64))
        except (binascii.Error, ValueError):
            return None
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and head[20:21] == b"\x2f":
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    return None


def audio_seconds(content: bytes, mime_type: str) -> float | None:
    """Duration of WAV or raw PCM (``audio/L16;rate=...``) audio; None for other formats."""
    if content.startswith(b"RIFF") and content[8:12] == b"WAVE":
        i = 12
        byte_rate = 0
        while i + 8 <= len(content):
            kind = content[i : i + 4]
            size = int.from_bytes(content[i + 4 : i + 8], "little")
            if kind == b"fmt " and i + 20 <= len(content):
                byte_rate = int.from_bytes(content[i + 16 : i + 20], "little")
            elif kind == b"data" and byte_rate:
                return min(size, len(content) - i - 8) / byte_rate
            i += 8 + size + (size & 1)
        return None
    if mime_type.lower().startswith("audio/l16"):
        rate = 24000
        channels = 1
        for part in mime_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if value.isdigit():
                if key == "rate":
                    rate = int(value)
                elif key == "channels":
                    channels = int(value)
        return len(content) / (2 * rate * channels)
    return None
