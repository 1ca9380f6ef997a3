"""The emulator's deterministic answer, decided once for every wire format.

A wire-format module reads its own request into a neutral :class:`Conversation`, calls
:func:`decide`, and writes the :class:`Answer` in its own shapes. So the same chain gets the same
answer from every emulated provider.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .synth import synthesize
from .text import reply_to, tool_result_reply

__all__ = ["Answer", "Conversation", "ToolSpec", "decide"]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    parameters: Mapping[str, Any] | None = None  # JSON Schema of the arguments


@dataclass(frozen=True)
class Conversation:
    """What decides the answer, whatever the wire format.

    ``tool_choice`` is ``"auto"``, ``"none"``, ``"required"`` or a tool name.
    ``response_schema`` asks for structured output; ``json_mode`` for any JSON object.
    """

    last_role: str  # "user", "tool" (a tool result), "assistant", "system"
    user_text: str = ""  # the text of the last user turn
    media: Mapping[str, int] = field(default_factory=dict)  # e.g. {"image": 2}
    tool_results: tuple[str, ...] = ()  # the trailing tool results, in order
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = "auto"
    response_schema: Mapping[str, Any] | None = None
    json_mode: bool = False


@dataclass(frozen=True)
class Answer:
    """Either ``text`` or a call of ``tool`` with ``arguments``."""

    text: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)


def decide(conv: Conversation) -> Answer:
    """A tool call when tools are usable and the user spoke last; else text (or JSON)."""
    if conv.tools and conv.tool_choice != "none" and conv.last_role == "user":
        tool = next((t for t in conv.tools if t.name == conv.tool_choice), conv.tools[0])
        args = synthesize(tool.parameters) if tool.parameters else {}
        return Answer(tool=tool.name, arguments=args if isinstance(args, dict) else {})
    if conv.last_role == "tool":
        text = tool_result_reply(list(conv.tool_results))
    else:
        text = reply_to(conv.user_text, conv.media)
    if conv.response_schema is not None:
        return Answer(text=_json(synthesize(conv.response_schema)))
    if conv.json_mode:
        return Answer(text=_json({"answer": text}))
    return Answer(text=text)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
