"""polymodal: one OpenAI-format API over many model providers.

    import polymodal
    r = polymodal.completion(model="openai/gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    print(r.choices[0].message.content)

``import polymodal`` is light: httpx, pydantic and everything provider-specific load on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Literal, overload

from polymodal import errors
from polymodal.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ContentPolicyViolationError,
    ContextWindowExceededError,
    InternalServerError,
    JSONSchemaValidationError,
    MediaFetchError,
    ModelNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    PolymodalError,
    RateLimitError,
    ServiceUnavailableError,
    TimeoutError,
    UnsupportedParamsError,
)

if TYPE_CHECKING:
    from polymodal.objects import ChatCompletion, ChatCompletionChunk
    from polymodal.registry import ModelInfo
    from polymodal.results import EmbeddingResponse, ImageResponse, SpeechResponse

__version__ = "0.1.0"

# Documented module defaults (the only module-level state users may set).
vertex_project: str | None = None
vertex_location: str | None = None
vertex_ai_safety_settings: list[dict[str, Any]] | None = None
drop_params: bool = False


def _defaults() -> dict[str, Any]:
    return {"drop_params": True} if drop_params else {}


class ChatStream:
    """Iterator of ``ChatCompletionChunk``; closes its connection when exhausted or closed."""

    def __init__(self, chunks: Iterator[ChatCompletionChunk]) -> None:
        self._events = chunks  # rendered as they are decoded (``_chat.stream_chat(..., render)``)

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self._events

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()


class AsyncChatStream:
    """Async iterator of ``ChatCompletionChunk``."""

    def __init__(self, chunks: AsyncIterator[ChatCompletionChunk]) -> None:
        self._events = chunks  # rendered as they are decoded

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self._events

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        close = getattr(self._events, "aclose", None)
        if close is not None:
            await close()


@overload
def completion(
    model: str, messages: Any, *, stream: Literal[True], **params: Any
) -> ChatStream: ...
@overload
def completion(
    model: str, messages: Any, *, stream: Literal[False] = ..., **params: Any
) -> ChatCompletion: ...
@overload
def completion(
    model: str, messages: Any, *, stream: bool, **params: Any
) -> ChatCompletion | ChatStream: ...
def completion(
    model: str, messages: Any, *, stream: bool = False, **params: Any
) -> ChatCompletion | ChatStream:
    """OpenAI-format chat completion against any supported provider (see API.md)."""
    from polymodal import _chat
    from polymodal.openai_format import render_chat, render_chunk

    prepared = _chat.prepare_chat(
        model, messages, {**params, "stream": stream}, defaults=_defaults()
    )
    if stream:
        return ChatStream(_chat.stream_chat(prepared, render_chunk))
    return render_chat(_chat.run_chat(prepared))


@overload
async def acompletion(
    model: str, messages: Any, *, stream: Literal[True], **params: Any
) -> AsyncChatStream: ...
@overload
async def acompletion(
    model: str, messages: Any, *, stream: Literal[False] = ..., **params: Any
) -> ChatCompletion: ...
@overload
async def acompletion(
    model: str, messages: Any, *, stream: bool, **params: Any
) -> ChatCompletion | AsyncChatStream: ...
async def acompletion(
    model: str, messages: Any, *, stream: bool = False, **params: Any
) -> ChatCompletion | AsyncChatStream:
    """Async twin of :func:`completion`."""
    from polymodal import _chat
    from polymodal.openai_format import render_chat, render_chunk

    prepared = _chat.prepare_chat(
        model, messages, {**params, "stream": stream}, defaults=_defaults()
    )
    if stream:
        return AsyncChatStream(await _chat.aopen_stream_chat(prepared, render_chunk))
    return render_chat(await _chat.arun_chat(prepared))


# --------------------------------------------------------------------------- embeddings, images, speech


def _given(**named: Any) -> dict[str, Any]:
    return {k: v for k, v in named.items() if v is not None}


def embedding(
    model: str,
    input: Any,
    dimensions: int | None = None,
    input_type: str | None = None,
    encoding_format: str | None = None,
    user: str | None = None,
    **params: Any,
) -> EmbeddingResponse:
    """Embed text (a string, a list of strings, or token ids); see API.md.

    ``.data[i].embedding`` is a list of floats for input ``i`` (input order) whatever
    ``encoding_format`` travelled on the wire. Long lists are split at the provider's
    per-request limit and re-joined, usage summed.
    """
    from polymodal import _embedding

    named = _given(dimensions=dimensions, input_type=input_type,
                   encoding_format=encoding_format, user=user)  # fmt: skip
    prepared = _embedding.prepare_embedding(model, input, {**named, **params},
                                            defaults=_defaults())  # fmt: skip
    return _embedding.render_embedding(_embedding.run_embedding(prepared))


async def aembedding(
    model: str,
    input: Any,
    dimensions: int | None = None,
    input_type: str | None = None,
    encoding_format: str | None = None,
    user: str | None = None,
    **params: Any,
) -> EmbeddingResponse:
    """Async twin of :func:`embedding` (batches are sent concurrently)."""
    from polymodal import _embedding

    named = _given(dimensions=dimensions, input_type=input_type,
                   encoding_format=encoding_format, user=user)  # fmt: skip
    prepared = _embedding.prepare_embedding(model, input, {**named, **params},
                                            defaults=_defaults())  # fmt: skip
    return _embedding.render_embedding(await _embedding.arun_embedding(prepared))


def image_generation(
    prompt: str,
    model: str | None = None,
    n: int | None = None,
    size: str | None = None,
    quality: str | None = None,
    style: str | None = None,
    response_format: str | None = None,
    user: str | None = None,
    **params: Any,
) -> ImageResponse:
    """Generate images from ``prompt``; ``model`` defaults to ``openai/gpt-image-1``.

    Values a model does not take raise ``UnsupportedParamsError`` (or are dropped with
    ``drop_params=True``); other keyword arguments are sent to the provider as given.
    """
    from polymodal import _images

    named = _given(n=n, size=size, quality=quality, style=style,
                   response_format=response_format, user=user)  # fmt: skip
    prepared = _images.prepare_images(prompt, model, {**named, **params}, defaults=_defaults())
    return _images.render_images(_images.run_images(prepared))


async def aimage_generation(
    prompt: str,
    model: str | None = None,
    n: int | None = None,
    size: str | None = None,
    quality: str | None = None,
    style: str | None = None,
    response_format: str | None = None,
    user: str | None = None,
    **params: Any,
) -> ImageResponse:
    """Async twin of :func:`image_generation`."""
    from polymodal import _images

    named = _given(n=n, size=size, quality=quality, style=style,
                   response_format=response_format, user=user)  # fmt: skip
    prepared = _images.prepare_images(prompt, model, {**named, **params}, defaults=_defaults())
    return _images.render_images(await _images.arun_images(prepared))


def speech(
    model: str,
    input: str,
    voice: str | dict[str, Any] | None = None,
    response_format: str | None = None,
    speed: float | None = None,
    instructions: str | None = None,
    **params: Any,
) -> SpeechResponse:
    """Text to speech: ``SpeechResponse.content`` (bytes), ``.mime_type``, ``.stream_to_file``."""
    from polymodal import _speech

    named = _given(voice=voice, response_format=response_format, speed=speed,
                   instructions=instructions)  # fmt: skip
    prepared = _speech.prepare_speech(model, input, {**named, **params}, defaults=_defaults())
    return _speech.render_speech(_speech.run_speech(prepared))


async def aspeech(
    model: str,
    input: str,
    voice: str | dict[str, Any] | None = None,
    response_format: str | None = None,
    speed: float | None = None,
    instructions: str | None = None,
    **params: Any,
) -> SpeechResponse:
    """Async twin of :func:`speech`."""
    from polymodal import _speech

    named = _given(voice=voice, response_format=response_format, speed=speed,
                   instructions=instructions)  # fmt: skip
    prepared = _speech.prepare_speech(model, input, {**named, **params}, defaults=_defaults())
    return _speech.render_speech(await _speech.arun_speech(prepared))


# --------------------------------------------------------------------------- registry answers


def get_model_info(model: str) -> ModelInfo:
    """What the packaged registry knows of ``model``; raises ``ModelNotFoundError`` if nothing."""
    from polymodal import registry

    return registry.get_model_info(model)


def supports_vision(model: str) -> bool:
    from polymodal import registry

    return registry.supports_vision(model)


def supports_function_calling(model: str) -> bool:
    from polymodal import registry

    return registry.supports_function_calling(model)


def supports_response_schema(model: str) -> bool:
    from polymodal import registry

    return registry.supports_response_schema(model)


def supports_reasoning(model: str) -> bool:
    from polymodal import registry

    return registry.supports_reasoning(model)


def supports_pdf_input(model: str) -> bool:
    from polymodal import registry

    return registry.supports_pdf_input(model)


def register_model(key: str, **fields: Any) -> None:
    """Add or override a registry entry at runtime (e.g. a self-hosted vision model)."""
    from polymodal import registry

    registry.register_model(key, **fields)


__all__ = [
    "APIConnectionError",
    "AsyncChatStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatStream",
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
    "acompletion",
    "aembedding",
    "aimage_generation",
    "aspeech",
    "completion",
    "drop_params",
    "embedding",
    "errors",
    "get_model_info",
    "image_generation",
    "register_model",
    "speech",
    "supports_function_calling",
    "supports_pdf_input",
    "supports_reasoning",
    "supports_response_schema",
    "supports_vision",
    "vertex_ai_safety_settings",
    "vertex_location",
    "vertex_project",
]
