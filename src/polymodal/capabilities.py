"""Pre-flight checks against the registry: refuse what a model is known not to take.

Only a registry answer of ``False`` refuses; an unknown model or flag passes (the provider will
say). Parameters can be dropped with ``drop_params=True`` (with a warning naming them); media a
model cannot see is never dropped silently, it is an error.
"""

from __future__ import annotations

from polymodal._warn import refuse_or_drop
from polymodal.errors import BadRequestError
from polymodal.routing import Route
from polymodal.types import AudioPart, ChatRequest, FilePart, ImagePart, VideoPart


def check_chat(route: Route, req: ChatRequest, *, drop_params: bool) -> None:
    from polymodal import registry

    info = registry.lookup(route.model_string)
    if info is None:
        return
    label = route.model_string
    droppable: list[str] = []
    if info.supports_function_calling is False and (req.tools or req.tool_choice is not None):
        droppable.append("tools")
    if info.supports_reasoning is False and (req.reasoning_effort is not None or req.thinking):
        droppable.append("reasoning_effort" if req.reasoning_effort is not None else "thinking")
    if droppable:
        refuse_or_drop(
            droppable,
            model=label,
            drop_params=drop_params,
            reason="not supported by the model (registry)",
            hint="pass drop_params=True to drop, or register_model(...) if your deployment does",
            provider=route.provider,
        )
        if "tools" in droppable:
            req.tools, req.tool_choice, req.parallel_tool_calls = [], None, None
        if {"reasoning_effort", "thinking"} & set(droppable):
            req.reasoning_effort, req.thinking = None, None
    kinds: dict[type, tuple[str, bool | None]] | None = None
    for i, msg in enumerate(req.messages):
        if not isinstance(msg.content, list):
            continue
        if kinds is None:
            kinds = {
                ImagePart: ("image", info.supports_vision),
                AudioPart: ("audio", info.supports_audio_input),
                VideoPart: ("video", info.supports_video_input),
                FilePart: ("PDF/file", info.supports_pdf_input),
            }
        for j, part in enumerate(msg.content):
            kind = kinds.get(type(part))
            if kind is not None and kind[1] is False:
                raise BadRequestError(
                    f"model {label!r} does not take {kind[0]} input (messages[{i}].content[{j}]); "
                    "choose a model with that capability, or register_model(...) if yours has it",
                    model=label,
                    provider=route.provider,
                    param=f"messages[{i}].content[{j}]",
                )
