"""The typed intermediate representation (IR) every wire format translates to and from.

Requests arrive as OpenAI-format dicts (``openai_format.parse_chat``) or as LangChain messages
(``langchain_polymodal._messages``) and become a :class:`ChatRequest`. Each wire-format module in
``polymodal.apis`` encodes a request to its native body and decodes native responses and streams
back to :class:`ChatResult` / :class:`StreamEvent`. These are plain slotted dataclasses: cheap to
build, easy to compare in golden tests, no validation cost on the hot path (validation happens
once, in the parser).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "developer", "user", "assistant", "tool"]
ROLES: frozenset[str] = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


# --------------------------------------------------------------------------- message parts


@dataclass(slots=True, frozen=True)
class MediaSource:
    """Where a media part's bytes are: exactly one of ``url``, ``data`` (base64) or ``file_id``.

    ``mime_type`` is the explicit type (a data URL's own type, or the user's ``format``
    override); ``None`` means "infer it when a target needs it".
    """

    url: str | None = None
    data: str | None = None
    file_id: str | None = None
    mime_type: str | None = None
    filename: str | None = None

    @property
    def is_data(self) -> bool:
        return self.data is not None

    def as_data_url(self) -> str:
        """``data:<mime>;base64,<data>`` (only for inline data)."""
        if self.data is None:
            raise ValueError("as_data_url() needs inline data")
        return f"data:{self.mime_type or 'application/octet-stream'};base64,{self.data}"


@dataclass(slots=True, frozen=True)
class TextPart:
    text: str
    type: Literal["text"] = "text"


@dataclass(slots=True, frozen=True)
class ImagePart:
    source: MediaSource
    detail: str | None = None
    type: Literal["image"] = "image"


@dataclass(slots=True, frozen=True)
class AudioPart:
    source: MediaSource
    format: str | None = None  # "wav", "mp3", ... as OpenAI's input_audio names it
    type: Literal["audio"] = "audio"


@dataclass(slots=True, frozen=True)
class VideoPart:
    source: MediaSource
    type: Literal["video"] = "video"


@dataclass(slots=True, frozen=True)
class FilePart:
    """A document (PDF, text, ...) or any media the user passed as a ``file`` part."""

    source: MediaSource
    type: Literal["file"] = "file"


Part = TextPart | ImagePart | AudioPart | VideoPart | FilePart
MediaPart = ImagePart | AudioPart | VideoPart | FilePart


@dataclass(slots=True)
class ToolCall:
    """A call the model asked for. ``arguments`` is the JSON text exactly as the model gave it."""

    id: str
    name: str
    arguments: str = "{}"
    type: Literal["function"] = "function"
    # Opaque per-call state a provider needs back next turn (e.g. Gemini thought signatures).
    provider_fields: dict[str, Any] | None = None


@dataclass(slots=True)
class ReasoningBlock:
    """A piece of the model's reasoning; ``signature``/``redacted`` are replayed byte for byte."""

    text: str = ""
    signature: str | None = None
    redacted: str | None = None


@dataclass(slots=True)
class Message:
    role: Role
    # A plain string stays a string (so OpenAI bodies keep the user's shape); a list holds parts.
    content: str | list[Part] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    reasoning: list[ReasoningBlock] = field(default_factory=list)
    # A tool message reporting a failed tool run (LangChain ``ToolMessage(status="error")``);
    # formats with an error flag send it (Anthropic ``is_error``), others send the text alone.
    tool_error: bool = False
    # Opaque provider state a decoded answer carried (``provider_specific_fields`` of a returned
    # message, e.g. Gemini code-execution parts); only the format that produced it reads it back.
    provider_fields: dict[str, Any] = field(default_factory=dict)
    # Message keys a wire format passes through as given (e.g. OpenAI ``refusal``, ``audio``).
    extra: dict[str, Any] = field(default_factory=dict)

    def parts(self) -> list[Part]:
        if self.content is None:
            return []
        if isinstance(self.content, str):
            return [TextPart(self.content)] if self.content else []
        return self.content

    def text(self) -> str:
        return "".join(p.text for p in self.parts() if isinstance(p, TextPart))


# --------------------------------------------------------------------------- tools and formats


@dataclass(slots=True, frozen=True)
class FunctionTool:
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(slots=True, frozen=True)
class NamedToolChoice:
    name: str


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


@dataclass(slots=True, frozen=True)
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"]
    schema: dict[str, Any] | None = None
    name: str | None = None
    description: str | None = None
    strict: bool | None = None
    enforce_validation: bool = False


# --------------------------------------------------------------------------- request


@dataclass(slots=True)
class ChatRequest:
    """A chat request in provider-neutral form. ``model`` is the provider's own model name."""

    model: str
    messages: list[Message]
    tools: list[FunctionTool] = field(default_factory=list)
    # Provider-native tools given as dicts (e.g. ``{"googleSearch": {}}``).
    builtin_tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: list[str] | None = None
    n: int | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    user: str | None = None
    reasoning_effort: str | None = None
    thinking: dict[str, Any] | None = None
    safety_settings: list[dict[str, Any]] | None = None
    cached_content: str | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    # OpenAI-format keys with no dedicated field, sent as given by formats that take them
    # (``metadata``, ``store``, ``service_tier``, ``modalities``, ``audio``, ``prediction``, ...).
    passthrough: dict[str, Any] = field(default_factory=dict)
    # Merged into the native body last, verbatim.
    extra_body: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- response


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    cache_creation_tokens: int | None = None
    reasoning_tokens: int | None = None
    audio_prompt_tokens: int | None = None
    audio_completion_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None
    tool_use_prompt_tokens: int | None = None


@dataclass(slots=True)
class Choice:
    index: int = 0
    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning: list[ReasoningBlock] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    refusal: str | None = None
    logprobs: Any = None
    # Message-level keys the provider returned that have no field here (e.g. ``audio``).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def reasoning_content(self) -> str | None:
        texts = [r.text for r in self.reasoning if r.text]
        return "".join(texts) if texts else None


@dataclass(slots=True)
class ChatResult:
    id: str
    model: str
    choices: list[Choice]
    created: int = 0
    usage: Usage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    provider: str = ""
    provider_specific_fields: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- streaming


@dataclass(slots=True)
class ToolCallDelta:
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str | None = None
    provider_fields: dict[str, Any] | None = None


@dataclass(slots=True)
class ChoiceDelta:
    index: int = 0
    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    reasoning_signature: str | None = None
    tool_calls: list[ToolCallDelta] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    refusal: str | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    logprobs: Any = None


@dataclass(slots=True)
class StreamEvent:
    """One decoded stream chunk: choice deltas, and usage when the provider sent it."""

    id: str = ""
    model: str = ""
    created: int = 0
    choices: list[ChoiceDelta] = field(default_factory=list)
    usage: Usage | None = None
    system_fingerprint: str | None = None
    provider_specific_fields: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- embeddings

EmbeddingItem = str | list[int] | MediaPart | dict[str, Any]
"""One thing to embed: text, a list of token ids, or (multimodal models) a media part or an item
dict such as ``{"image": "gs://..."}`` (its wire format says which keys it takes)."""


@dataclass(slots=True)
class EmbeddingRequest:
    """An embeddings request in provider-neutral form; ``model`` is the provider's own name.

    ``scalar`` records that the user passed one item rather than a list (a wire format that
    takes both shapes sends it as given). ``encoding_format`` is what the user asked for
    (``None``: the wire format picks the fastest transfer); results are always floats.
    ``provider_params`` holds the keyword arguments no common field covers: the wire format
    either takes them (``task_type``, ``auto_truncate``, ...) or refuses them.
    """

    model: str
    inputs: list[EmbeddingItem]
    scalar: bool = False
    dimensions: int | None = None
    input_type: str | None = None
    encoding_format: str | None = None
    user: str | None = None
    provider_params: dict[str, Any] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class EmbeddingUsage:
    prompt_tokens: int = 0
    total_tokens: int = 0


@dataclass(slots=True)
class EmbeddingResult:
    """Vectors in input order (``vectors[i]`` embeds ``inputs[i]``)."""

    model: str
    vectors: list[list[float]]
    usage: EmbeddingUsage | None = None
    provider: str = ""
    provider_specific_fields: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- image generation


@dataclass(slots=True)
class ImageRequest:
    """An image-generation request; ``params`` are further provider parameters, sent as given
    by formats that take them (OpenAI ``background``, ``output_format``, Imagen
    ``aspectRatio``, ...)."""

    model: str
    prompt: str
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    response_format: str | None = None
    user: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class GeneratedImage:
    """One image: a URL or base64 bytes, the prompt the model actually used, and its type."""

    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None
    mime_type: str | None = None


@dataclass(slots=True)
class ImageResult:
    created: int
    images: list[GeneratedImage]
    usage: dict[str, Any] | None = None
    model: str = ""
    provider: str = ""
    # Response-level keys OpenAI's GPT image models add (``background``, ``output_format``,
    # ``quality``, ``size``) and anything provider-specific.
    provider_specific_fields: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- speech


@dataclass(slots=True)
class SpeechRequest:
    """A text-to-speech request. ``voice`` is a name or a provider's voice object."""

    model: str
    input: str
    voice: str | dict[str, Any] | None = None
    response_format: str | None = None
    speed: float | None = None
    instructions: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SpeechResult:
    content: bytes
    mime_type: str
    response_format: str | None = None
    model: str = ""
    provider: str = ""
