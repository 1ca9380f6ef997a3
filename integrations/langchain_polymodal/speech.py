"""``PolymodalSpeech``: text -> speech, as a LangChain Runnable and an agent tool.

from langchain_polymodal import PolymodalSpeech

speak = PolymodalSpeech(model="openai/gpt-4o-mini-tts", voice="coral")
block = speak.invoke("Hello there!")
# {"type": "audio", "base64": "SUQz...", "mime_type": "audio/mpeg"}

tool = speak.as_tool()          # for create_agent(..., tools=[tool])
# the model sees "Spoke 12 characters as audio (audio/mpeg, 9,216 bytes)."; the caller
# finds the audio block in the ToolMessage's ``artifact`` (no temp files).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig, RunnableSerializable
from pydantic import BaseModel, Field

from polymodal.errors import PolymodalError

from ._media_common import (
    ProviderFields,
    audio_seconds,
    lc_error,
    prompt_text,
    with_concurrency,
)

if TYPE_CHECKING:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForChainRun,
        CallbackManagerForChainRun,
    )
    from langchain_core.tools import BaseTool

    from polymodal.types import SpeechResult

__all__ = ["PolymodalSpeech", "SpeechText", "audio_block", "summarize_audio"]

AudioBlock = dict[str, Any]
# Fields sent as speech parameters when set.
_REQUEST_FIELDS = ("voice", "response_format", "speed", "instructions", "use_ssml")
_DEFAULT_TOOL_DESCRIPTION = (
    "Speak text aloud: turns the given text into spoken audio that is played to the user. "
    "Give the exact words to say."
)


class SpeechText(BaseModel):
    """The arguments of the speech tool."""

    text: str = Field(description="The exact words to speak")


class PolymodalSpeech(RunnableSerializable[str, AudioBlock], ProviderFields):
    """Text to speech with any model polymodal routes: ``openai/tts-1``, ``openai/tts-1-hd``,
    ``openai/gpt-4o-mini-tts``, ``azure/<deployment>``, Google Cloud Text-to-Speech for
    ``vertex_ai/...`` models where the core supports it.

    ``invoke(text)`` returns one standard v1 audio content block:
    ``{"type": "audio", "base64": ..., "mime_type": "audio/mpeg"}`` (the mime type follows what
    came back: ``audio/wav``, ``audio/ogg`` for opus, ``audio/L16;rate=24000;channels=1`` for
    raw pcm, ...). The input may also be a prompt value, a message, or ``{"text": ...}``.

    Keyword arguments of ``invoke`` override the fields for that call
    (``speak.invoke("...", voice="nova")``). ``batch``/``abatch`` speak several texts at once,
    at most ``max_concurrency`` at a time unless the call's config says otherwise.
    """

    model: str = Field(alias="model_name")
    """``provider/model``, e.g. ``openai/gpt-4o-mini-tts``."""
    voice: str | dict[str, Any] | None = None
    """A voice name (OpenAI: ``alloy``, ``coral``, ...), or a provider's voice object (Google:
    ``{"languageCode": "en-US", "name": "en-US-Studio-O"}``)."""
    response_format: str | None = None
    """``mp3`` (OpenAI's default), ``opus``, ``aac``, ``flac``, ``wav`` or ``pcm``."""
    speed: float | None = None
    instructions: str | None = None
    """How to speak (tone, pace), for models that take it (``gpt-4o-mini-tts``)."""
    use_ssml: bool | None = None
    """Google TTS: send the input as SSML (detected anyway when it contains ``<speak>``)."""
    max_concurrency: int = 4
    """Default concurrency of ``batch``/``abatch`` (the config's ``max_concurrency`` wins)."""

    # -- the call --------------------------------------------------------------------------

    def _prepare(self, text: Any, kwargs: dict[str, Any], async_: bool) -> Any:
        from polymodal._speech import prepare_speech

        kwargs = dict(kwargs)
        model = kwargs.pop("model", None) or self.model
        spoken = prompt_text(text, "text")
        try:
            return prepare_speech(model, spoken, self._call_params(_REQUEST_FIELDS, kwargs, async_))
        except PolymodalError as exc:
            raise lc_error(exc) from exc.__cause__

    def _speak(
        self,
        text: Any,
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
        **kwargs: Any,
    ) -> AudioBlock:
        from polymodal._speech import run_speech

        prepared = self._prepare(text, kwargs, async_=False)
        try:
            result = run_speech(prepared)
        except PolymodalError as exc:
            raise lc_error(exc) from exc.__cause__
        return audio_block(result)

    async def _aspeak(
        self,
        text: Any,
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
        **kwargs: Any,
    ) -> AudioBlock:
        from polymodal._speech import arun_speech

        prepared = self._prepare(text, kwargs, async_=True)
        try:
            result = await arun_speech(prepared)
        except PolymodalError as exc:
            raise lc_error(exc) from exc.__cause__
        return audio_block(result)

    def invoke(self, input: str, config: RunnableConfig | None = None, **kwargs: Any) -> AudioBlock:
        """Speak ``input``; returns a v1 audio content block."""
        return self._call_with_config(self._speak, input, config, **kwargs)

    async def ainvoke(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AudioBlock:
        """Async twin of :meth:`invoke` (native async, no thread)."""
        return await self._acall_with_config(self._aspeak, input, config, **kwargs)

    def batch(
        self,
        inputs: list[str],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AudioBlock]:
        """One request per text on a thread pool of ``max_concurrency`` threads; outputs in
        input order."""
        return super().batch(
            inputs, with_concurrency(config, self.max_concurrency),
            return_exceptions=return_exceptions, **kwargs,
        )  # fmt: skip

    async def abatch(
        self,
        inputs: list[str],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AudioBlock]:
        """Concurrent native ``ainvoke`` calls, at most ``max_concurrency`` at a time."""
        return await super().abatch(
            inputs, with_concurrency(config, self.max_concurrency),
            return_exceptions=return_exceptions, **kwargs,
        )  # fmt: skip

    # -- as an agent tool ------------------------------------------------------------------

    def as_tool(
        self,
        args_schema: type[BaseModel] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        arg_types: dict[str, type] | None = None,
    ) -> BaseTool:
        """A tool an agent can call to speak.

        The tool answers the model with a short text (``"Spoke 42 characters as audio
        (audio/mpeg, 20,160 bytes)."``) and carries the audio block :meth:`invoke` returns as
        the ``ToolMessage.artifact`` (``response_format="content_and_artifact"``), so the caller
        gets the audio without temp files and the model's context stays small.

        ``args_schema`` defaults to :class:`SpeechText` (``text``); a schema of your own must
        have ``text`` and may add fields of this class (``voice``, ``instructions``, ...) for the
        model to choose. Invalid requests come back to the model as an error text; other
        failures raise.
        """
        from ._media_common import media_tool

        return media_tool(
            self,
            args_schema=args_schema or SpeechText,
            arg_types=arg_types,
            input_field="text",
            name=name or "text_to_speech",
            description=description or _DEFAULT_TOOL_DESCRIPTION,
            summarize=summarize_audio,
        )


def audio_block(result: SpeechResult) -> AudioBlock:
    """IR speech -> a v1 audio content block (base64 with mime type)."""
    return {
        "type": "audio",
        "base64": base64.b64encode(result.content).decode("ascii"),
        "mime_type": result.mime_type,
    }


def summarize_audio(block: AudioBlock, text: str = "") -> str:
    """The short text an agent's model gets back instead of the audio bytes."""
    data = block.get("base64") or ""
    mime = str(block.get("mime_type") or "audio")
    content = base64.b64decode(data) if data else b""
    facts = [mime, f"{len(content):,} bytes"]
    seconds = audio_seconds(content, mime)
    if seconds is not None:
        facts.insert(1, f"{seconds:.1f} s")
    spoken = f"Spoke {len(text):,} characters" if text else "Spoke the text"
    return f"{spoken} as audio ({', '.join(facts)})."
