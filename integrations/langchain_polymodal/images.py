"""``PolymodalImageGenerator``: text -> images, as a LangChain Runnable and an agent tool.

from langchain_polymodal import PolymodalImageGenerator

draw = PolymodalImageGenerator(model="openai/dall-e-3", size="1024x1024")
blocks = draw.invoke("a lighthouse at dusk, watercolour")
# [{"type": "image", "base64": "iVBOR...", "mime_type": "image/png",
#   "extras": {"revised_prompt": "..."}}]

tool = draw.as_tool()           # for create_agent(..., tools=[tool])
# the model sees "Generated 1 image (image/png, 1024x1024)."; the caller finds the image
# blocks in the ToolMessage's ``artifact`` (no temp files).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig, RunnableSerializable
from pydantic import BaseModel, Field

from polymodal.errors import PolymodalError

from ._media_common import (
    ProviderFields,
    image_size,
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

    from polymodal.types import ImageResult

__all__ = ["ImagePrompt", "PolymodalImageGenerator", "image_blocks", "summarize_images"]

ImageBlocks = list[dict[str, Any]]
# Fields sent as image-generation parameters when set.
_REQUEST_FIELDS = ("n", "size", "quality", "style", "response_format", "user")
_DEFAULT_TOOL_DESCRIPTION = (
    "Generate an image from a text description. Give a detailed prompt: the subject, its "
    "setting, the style and the mood. The image is delivered to the user."
)


class ImagePrompt(BaseModel):
    """The arguments of the image tool."""

    prompt: str = Field(description="A detailed description of the image to generate")


class PolymodalImageGenerator(RunnableSerializable[str, ImageBlocks], ProviderFields):
    """Generate images with any model polymodal routes: ``openai/gpt-image-1`` (the default),
    ``openai/dall-e-3``, ``azure/<deployment>``, ``openai/<model>`` + ``api_base`` for an
    OpenAI-compatible server, Vertex Imagen where the core supports it.

    ``invoke(prompt)`` returns standard v1 image content blocks, one per image:
    ``{"type": "image", "base64": ..., "mime_type": "image/png"}``, or ``{"type": "image",
    "url": ...}`` when the provider answers with a URL (``response_format="url"``); a prompt the
    model rewrote is in ``extras["revised_prompt"]``. The input may also be a prompt value, a
    message, or ``{"prompt": ...}``, so the generator can follow a prompt template in a chain.

    Keyword arguments of ``invoke`` override the fields for that call
    (``draw.invoke("...", size="1792x1024")``). Values a model does not take raise
    ``UnsupportedParamsError`` before any request (or are dropped with ``drop_params=True``).

    ``batch``/``abatch`` generate for several prompts at once, at most ``max_concurrency`` at a
    time unless the call's config says otherwise.
    """

    model: str | None = Field(default=None, alias="model_name")
    """``provider/model``; unset: the core's default, ``openai/gpt-image-1``."""
    n: int | None = None
    size: str | None = None
    """``WIDTHxHEIGHT`` (e.g. ``1024x1024``) or ``auto``, as the model takes."""
    quality: str | None = None
    style: str | None = None
    response_format: str | None = None
    """``b64_json`` or ``url`` (the GPT image models always answer in base64)."""
    user: str | None = None
    max_concurrency: int = 4
    """Default concurrency of ``batch``/``abatch`` (the config's ``max_concurrency`` wins)."""

    # -- the call --------------------------------------------------------------------------

    def _prepare(self, prompt: Any, kwargs: dict[str, Any], async_: bool) -> Any:
        from polymodal._images import prepare_images

        kwargs = dict(kwargs)
        model = kwargs.pop("model", None) or self.model
        text = prompt_text(prompt, "prompt")
        try:
            return prepare_images(text, model, self._call_params(_REQUEST_FIELDS, kwargs, async_))
        except PolymodalError as exc:
            raise lc_error(exc) from exc.__cause__

    def _generate(
        self,
        prompt: Any,
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
        **kwargs: Any,
    ) -> ImageBlocks:
        from polymodal._images import run_images

        prepared = self._prepare(prompt, kwargs, async_=False)
        try:
            result = run_images(prepared)
        except PolymodalError as exc:
            raise lc_error(exc) from exc.__cause__
        return image_blocks(result)

    async def _agenerate(
        self,
        prompt: Any,
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
        **kwargs: Any,
    ) -> ImageBlocks:
        from polymodal._images import arun_images

        prepared = self._prepare(prompt, kwargs, async_=True)
        try:
            result = await arun_images(prepared)
        except PolymodalError as exc:
            raise lc_error(exc) from exc.__cause__
        return image_blocks(result)

    def invoke(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> ImageBlocks:
        """Generate image(s) for ``input``; returns v1 image content blocks."""
        return self._call_with_config(self._generate, input, config, **kwargs)

    async def ainvoke(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> ImageBlocks:
        """Async twin of :meth:`invoke` (native async, no thread)."""
        return await self._acall_with_config(self._agenerate, input, config, **kwargs)

    def batch(
        self,
        inputs: list[str],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[ImageBlocks]:
        """One request per prompt on a thread pool of ``max_concurrency`` threads; outputs
        in input order."""
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
    ) -> list[ImageBlocks]:
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
        """A tool an agent can call to draw.

        The tool answers the model with a short text (``"Generated 1 image (image/png,
        1024x1024)."``) and carries the image blocks :meth:`invoke` returns as the
        ``ToolMessage.artifact`` (``response_format="content_and_artifact"``), so the caller
        gets the images without temp files and the model's context stays small.

        ``args_schema`` defaults to :class:`ImagePrompt` (``prompt``); a schema of your own must
        have ``prompt`` and may add fields of this class (``size``, ``quality``, ...) for the
        model to choose. A request the provider refuses as invalid (a content-policy refusal, a
        size the model does not take) comes back to the model as an error text it can act on;
        other failures (credentials, rate limits, outages) raise.
        """
        from ._media_common import media_tool

        return media_tool(
            self,
            args_schema=args_schema or ImagePrompt,
            arg_types=arg_types,
            input_field="prompt",
            name=name or "generate_image",
            description=description or _DEFAULT_TOOL_DESCRIPTION,
            summarize=lambda output, _text: summarize_images(output, self.size),
        )


def image_blocks(result: ImageResult) -> ImageBlocks:
    """IR images -> v1 image content blocks (base64 with mime type, or url)."""
    blocks: ImageBlocks = []
    for image in result.images:
        block: dict[str, Any] = {"type": "image"}
        if image.b64_json:
            block["base64"] = image.b64_json
            block["mime_type"] = image.mime_type or "image/png"
        elif image.url:
            block["url"] = image.url
            if image.mime_type:
                block["mime_type"] = image.mime_type
        else:
            continue
        if image.revised_prompt:
            block["extras"] = {"revised_prompt": image.revised_prompt}
        blocks.append(block)
    return blocks


def summarize_images(blocks: ImageBlocks, requested_size: str | None = None) -> str:
    """The short text an agent's model gets back instead of the image bytes."""
    if not blocks:
        return "No image was generated."
    kinds = sorted({str(b.get("mime_type") or "image") for b in blocks})
    first = blocks[0]
    size = image_size(first.get("base64"))
    facts = list(kinds)
    if size is not None:
        facts.append(f"{size[0]}x{size[1]}")
    elif requested_size and requested_size != "auto":
        facts.append(requested_size)
    if any("url" in b for b in blocks):
        facts.append("as a URL")
    count = len(blocks)
    text = f"Generated {count} image{'s' if count != 1 else ''} ({', '.join(facts)})."
    revised = (first.get("extras") or {}).get("revised_prompt")
    if revised:
        text += f" The model drew it from this revised prompt: {revised}"
    return text
