"""The OpenAI-shaped result objects the core functions return (pydantic v2).

They follow OpenAI's Chat Completions shapes field for field, plus the extensions users of
multi-provider code expect: ``reasoning_content``, ``thinking_blocks`` and
``provider_specific_fields``. Attribute access (``r.choices[0].message.content``) and dict-style
access (``r["choices"][0]["message"]["content"]``) both work. Unknown extra keys are kept.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

M = TypeVar("M", bound="OpenAIObject")


class OpenAIObject(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    # The defaults of the optional fields, for :func:`build`.
    field_defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.field_defaults = {
            name: f.default for name, f in cls.model_fields.items() if not f.is_required()
        }

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and getattr(self, key, None) is not None

    def to_dict(self) -> dict[str, Any]:
        """The plain-JSON form, without unset optional extensions."""
        return self.model_dump(exclude_none=True)


_new = object.__new__
_set = object.__setattr__


def build(cls: type[M], **values: Any) -> M:
    """What ``cls.model_construct(**values)`` builds, about twice as fast: our decoders hand over
    already-typed values of declared fields, so the hot paths (every streamed chunk) skip
    pydantic's per-field work. ``tests/unit/test_objects.py`` checks it against
    ``model_construct`` for every class."""
    obj = _new(cls)
    _set(obj, "__dict__", {**cls.field_defaults, **values})
    _set(obj, "__pydantic_fields_set__", set(values))
    _set(obj, "__pydantic_extra__", {})
    _set(obj, "__pydantic_private__", None)
    return obj


class Function(OpenAIObject):
    name: str
    arguments: str = "{}"


class ChatCompletionMessageToolCall(OpenAIObject):
    id: str
    type: str = "function"
    function: Function
    provider_specific_fields: dict[str, Any] | None = None


class ChatCompletionMessage(OpenAIObject):
    role: str = "assistant"
    content: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    refusal: str | None = None
    annotations: list[dict[str, Any]] | None = None
    reasoning_content: str | None = None
    thinking_blocks: list[dict[str, Any]] | None = None
    audio: dict[str, Any] | None = None
    provider_specific_fields: dict[str, Any] | None = None


class Choices(OpenAIObject):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: str | None = None
    logprobs: Any = None
    provider_specific_fields: dict[str, Any] | None = None


class PromptTokensDetails(OpenAIObject):
    cached_tokens: int | None = None
    audio_tokens: int | None = None
    cache_creation_tokens: int | None = None


class CompletionTokensDetails(OpenAIObject):
    reasoning_tokens: int | None = None
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class Usage(OpenAIObject):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


class ChatCompletion(OpenAIObject):
    id: str
    object: str = "chat.completion"
    created: int = 0
    model: str
    choices: list[Choices]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    provider_specific_fields: dict[str, Any] | None = None


class ChoiceDeltaToolCallFunction(OpenAIObject):
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(OpenAIObject):
    index: int
    id: str | None = None
    type: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None
    provider_specific_fields: dict[str, Any] | None = None


class Delta(OpenAIObject):
    role: str | None = None
    content: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    thinking_blocks: list[dict[str, Any]] | None = None
    annotations: list[dict[str, Any]] | None = None
    provider_specific_fields: dict[str, Any] | None = None


class StreamingChoices(OpenAIObject):
    index: int = 0
    delta: Delta
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(OpenAIObject):
    id: str
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str
    choices: list[StreamingChoices]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    provider_specific_fields: dict[str, Any] | None = None
