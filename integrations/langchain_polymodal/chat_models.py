"""``ChatPolymodal``: a LangChain chat model over the polymodal core, for every routed provider."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import AliasChoices, ConfigDict, Field, SecretStr, field_validator, model_validator

from polymodal.errors import PolymodalError

from .errors import as_langchain_error

if TYPE_CHECKING:
    from polymodal._chat import PreparedChat

    from ._streaming import ChunkStream
    from ._tools import ToolLike

# The request path (core, message conversion, streaming) is imported on first use, so that
# ``from langchain_polymodal import ChatPolymodal`` costs little beyond langchain-core itself.

__all__ = ["ChatPolymodal"]

# Fields sent as OpenAI-format request parameters when set.
_REQUEST_FIELDS = (
    "temperature", "max_tokens", "top_p", "n", "seed", "reasoning_effort", "thinking",
    "safety_settings", "extra_body",
)  # fmt: skip
# Fields passed to the core as call options when set (credentials and endpoint settings).
_OPTION_FIELDS = (
    "api_base", "api_version", "organization", "timeout", "max_retries", "drop_params",
    "extra_headers", "custom_llm_provider", "vertex_project", "vertex_location",
    "aws_region_name", "aws_profile_name",
)  # fmt: skip
# Secret fields, handed to the core still wrapped in SecretStr.
_SECRET_FIELDS = ("api_key", "aws_access_key_id", "aws_secret_access_key", "aws_session_token")
# Per-call keyword arguments that steer this class rather than the request.
_LOCAL_KWARGS = frozenset({"model", "stream", "stream_usage"})


class ChatPolymodal(BaseChatModel):
    """Chat with any model polymodal routes: ``openai/gpt-4o``, ``azure/<deployment>``,
    ``vertex_ai/gemini-2.5-flash``, ``openai/<model>`` + ``api_base`` for any OpenAI-compatible
    server, and so on.

    Credentials: pass ``api_key`` (kept as a ``SecretStr``), or leave it unset and the key is read
    at call time from the environment variable of the provider the model routes to
    (``OPENAI_API_KEY``, ``AZURE_API_KEY``, ...), so a per-call ``model`` override to another
    provider never receives the first provider's key.

    Constructor keywords that are not fields are provider parameters: they go to
    ``model_kwargs`` (with a warning) and on to the core with every request.
    """

    # Second spellings are validation aliases (``AliasChoices(field, alias)``), not ``alias=``:
    # a type checker then sees the documented field names in ``__init__``.
    model_config = ConfigDict(populate_by_name=True, protected_namespaces=())

    model: str = Field(validation_alias=AliasChoices("model", "model_name"))
    """Model string, ``provider/model`` (e.g. ``openai/gpt-4o``) or a well-known bare name."""
    temperature: float | None = None
    max_tokens: int | None = Field(
        default=None, validation_alias=AliasChoices("max_tokens", "max_completion_tokens")
    )
    top_p: float | None = None
    stop: list[str] | str | None = Field(
        default=None, validation_alias=AliasChoices("stop", "stop_sequences")
    )
    n: int | None = None
    seed: int | None = None
    timeout: float | None = Field(
        default=None, validation_alias=AliasChoices("timeout", "request_timeout")
    )
    """Seconds per request (the core's default when unset)."""
    max_retries: int = 2
    streaming: bool = False
    """Whether ``invoke`` streams from the provider and aggregates the chunks."""
    stream_usage: bool = True
    """Ask for token usage at the end of streams (``stream_options.include_usage``)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further OpenAI-format request parameters or provider parameters, sent with every call."""

    api_key: SecretStr | None = None
    api_base: str | None = Field(
        default=None, validation_alias=AliasChoices("api_base", "base_url")
    )
    api_version: str | None = None
    organization: str | None = None
    drop_params: bool | None = None
    extra_headers: dict[str, str] | None = Field(default=None, repr=False)
    extra_body: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    thinking: dict[str, Any] | None = None
    safety_settings: list[dict[str, Any]] | None = None
    custom_llm_provider: str | None = None
    vertex_project: str | None = None
    vertex_location: str | None = None
    vertex_credentials: SecretStr | dict[str, Any] | os.PathLike[str] | Any = Field(
        default=None, repr=False, exclude=True
    )
    """Service-account JSON (a string, kept as a ``SecretStr``, or a dict), the path of a
    service-account file (a string or ``os.PathLike``), or a google-auth ``Credentials`` object
    (authorized user, impersonated, ...). Never in ``repr`` nor in serialized output."""
    aws_region_name: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    aws_profile_name: str | None = None
    http_client: Any = Field(default=None, exclude=True, repr=False)
    """An ``httpx.Client`` for sync calls (e.g. with a custom transport or proxy)."""
    http_async_client: Any = Field(default=None, exclude=True, repr=False)
    """An ``httpx.AsyncClient`` for async calls."""

    @field_validator("vertex_credentials", mode="before")
    @classmethod
    def _secret_credentials(cls, value: Any) -> Any:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return SecretStr(value) if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _collect_provider_params(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        known = _spellings(cls)
        extra = {k: v for k, v in values.items() if k not in known}
        model_kwargs = dict(values.get("model_kwargs") or {})
        shadowed = sorted(k for k in model_kwargs if k in known)
        if shadowed:
            raise ValueError(
                f"model_kwargs may not hold {shadowed}: pass them as ChatPolymodal(...) arguments"
            )
        if not extra:
            return values
        for name in extra:
            if name in model_kwargs:
                raise ValueError(f"{name!r} was given both directly and in model_kwargs")
            warnings.warn(
                f"{name!r} is not a ChatPolymodal field; it is sent to the provider as part of "
                "model_kwargs",
                UserWarning,
                stacklevel=4,
            )
        model_kwargs.update(extra)
        return {**{k: v for k, v in values.items() if k in known}, "model_kwargs": model_kwargs}

    # -- LangChain metadata ----------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "polymodal"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model}
        for name in (*_REQUEST_FIELDS, "stop", "api_base", "api_version", "custom_llm_provider"):
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        if self.model_kwargs:
            params["model_kwargs"] = self.model_kwargs
        return params

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        model = kwargs.get("model") or self.model
        params = LangSmithParams(
            ls_provider=self._provider(model), ls_model_name=model, ls_model_type="chat"
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stops = stop or kwargs.get("stop") or self.stop
        if stops:
            params["ls_stop"] = [stops] if isinstance(stops, str) else list(stops)
        return params

    def _provider(self, model: str) -> str:
        """The provider ``model`` routes to (``"polymodal"`` if it can't be routed)."""
        from polymodal import routing

        try:
            return routing.resolve(model, custom_llm_provider=self.custom_llm_provider).provider
        except PolymodalError:
            return "polymodal"

    # -- request building ------------------------------------------------------------------

    def _params(
        self, stop: list[str] | None, kwargs: Mapping[str, Any], async_: bool
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name in _REQUEST_FIELDS:
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        if self.stop:
            params["stop"] = self.stop
        for name in _OPTION_FIELDS:
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        for name in _SECRET_FIELDS:
            secret = getattr(self, name)
            if secret is not None:
                params[name] = secret
        if self.vertex_credentials is not None:
            creds = self.vertex_credentials
            params["vertex_credentials"] = (
                creds.get_secret_value() if isinstance(creds, SecretStr) else creds
            )
        client = self.http_async_client if async_ else self.http_client
        if client is not None:
            params["client"] = client
        params.update(self.model_kwargs)
        params.update((k, v) for k, v in kwargs.items() if k not in _LOCAL_KWARGS)
        if stop is not None:
            params["stop"] = stop
        if "response_format" in params or "tools" in params:
            from ._tools import convert_response_format, convert_tools

            if "response_format" in params:
                params["response_format"] = convert_response_format(params["response_format"])
            tools = params.get("tools")
            if isinstance(tools, list) and not all(isinstance(t, dict) for t in tools):
                params["tools"] = convert_tools(tools)  # tools passed per call, not via bind_tools
        return {k: v for k, v in params.items() if v is not None and not (k == "stop" and not v)}

    def _prepare(
        self,
        messages: Sequence[BaseMessage],
        stop: list[str] | None,
        kwargs: Mapping[str, Any],
        *,
        stream: bool,
        async_: bool,
    ) -> PreparedChat:
        from polymodal._chat import prepare_chat

        from ._messages import to_ir_messages

        params = self._params(stop, kwargs, async_)
        if stream:
            if params.get("n", 1) != 1:
                raise ValueError("ChatPolymodal streams one answer; use invoke/batch for n > 1")
            params["stream"] = True
            if kwargs.get("stream_usage", self.stream_usage):
                params.setdefault("stream_options", {"include_usage": True})
        model = kwargs.get("model") or self.model
        try:
            return prepare_chat(model, to_ir_messages(messages), params)
        except PolymodalError as exc:
            raise as_langchain_error(exc) from exc.__cause__

    def _stream_requested(self, kwargs: Mapping[str, Any]) -> bool:
        return self.streaming and self.disable_streaming is not True and kwargs.get("stream", True)

    # -- calls -----------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._stream_requested(kwargs):
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        from polymodal._chat import run_chat

        from ._outputs import to_chat_result

        prepared = self._prepare(messages, stop, kwargs, stream=False, async_=False)
        try:
            result = run_chat(prepared)
        except PolymodalError as exc:
            raise as_langchain_error(exc) from exc.__cause__
        return to_chat_result(result, prepared.route.provider)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._stream_requested(kwargs):
            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        from polymodal._chat import arun_chat

        from ._outputs import to_chat_result

        prepared = self._prepare(messages, stop, kwargs, stream=False, async_=True)
        try:
            result = await arun_chat(prepared)
        except PolymodalError as exc:
            raise as_langchain_error(exc) from exc.__cause__
        return to_chat_result(result, prepared.route.provider)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        from polymodal._chat import stream_chat

        prepared = self._prepare(messages, stop, kwargs, stream=True, async_=False)
        chunks = _chunk_stream(prepared)
        try:
            events = stream_chat(prepared)  # opens the stream: provider errors surface here
            try:
                for event in events:
                    for chunk in chunks.push(event):
                        if run_manager:
                            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
            finally:
                _close(events)
        except PolymodalError as exc:
            raise as_langchain_error(exc) from exc.__cause__
        last = chunks.close()
        if run_manager:
            run_manager.on_llm_new_token(last.text, chunk=last)
        yield last

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        from polymodal._chat import astream_chat

        prepared = self._prepare(messages, stop, kwargs, stream=True, async_=True)
        chunks = _chunk_stream(prepared)
        events = astream_chat(prepared)
        try:
            async for event in events:
                for chunk in chunks.push(event):
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        except PolymodalError as exc:
            raise as_langchain_error(exc) from exc.__cause__
        finally:
            await events.aclose()  # type: ignore[attr-defined]
        last = chunks.close()
        if run_manager:
            await run_manager.on_llm_new_token(last.text, chunk=last)
        yield last

    # -- tools and structured output -------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        response_format: Any = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (LangChain tools, functions, pydantic classes, TypedDicts, JSON schemas,
        OpenAI tool dicts, or provider-native tool dicts like ``{"googleSearch": {}}``).

        ``tool_choice``: ``"auto"``, ``"none"``, ``"required"`` / ``"any"``, ``True`` (the only
        tool, or any), a tool name, or an OpenAI ``tool_choice`` dict. ``response_format``: a
        pydantic class, TypedDict, JSON schema or OpenAI response_format dict.
        """
        from ._tools import convert_response_format, convert_tool_choice, convert_tools

        formatted = convert_tools(tools, strict=strict)
        if tool_choice is not None:
            kwargs["tool_choice"] = convert_tool_choice(tool_choice, formatted)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        if response_format is not None:
            kwargs["response_format"] = convert_response_format(response_format, strict=strict)
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] | None = None,
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answers parsed into ``schema`` (a pydantic class gives instances, else dicts).

        ``method`` defaults to ``json_schema`` unless the registry knows the model can't take
        a response schema (then ``function_calling``). ``include_raw=True`` returns
        ``{"raw", "parsed", "parsing_error"}`` instead of raising on a parsing error.
        """
        if kwargs:
            raise ValueError(f"unsupported with_structured_output arguments: {sorted(kwargs)}")
        from ._structured import structured_runnable

        return structured_runnable(
            self, schema, method=method, include_raw=include_raw, strict=strict
        )


@functools.cache
def _spellings(cls: type[ChatPolymodal]) -> frozenset[str]:
    """Every keyword that sets a field of ``cls``: field names and their aliases."""
    known = set()
    for name, field in cls.model_fields.items():
        known.add(name)
        if field.alias:
            known.add(field.alias)
        aliases = field.validation_alias
        if isinstance(aliases, AliasChoices):
            known.update(c for c in aliases.choices if isinstance(c, str))
        elif isinstance(aliases, str):
            known.add(aliases)
    return frozenset(known)


def _chunk_stream(prepared: PreparedChat) -> ChunkStream:
    from ._streaming import ChunkStream, expects_citations

    route = prepared.route
    blocks = expects_citations(prepared.request, route.model)
    return ChunkStream(route.provider, route.model, blocks=blocks)


def _close(events: Iterator[Any]) -> None:
    """Release the connection of a stream the caller stopped reading early."""
    close = getattr(events, "close", None)
    if close is not None:
        close()
