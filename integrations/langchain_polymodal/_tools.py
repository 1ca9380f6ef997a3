"""Tools, ``tool_choice`` and ``response_format`` in the forms LangChain users pass them,
as the OpenAI-format values the core takes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_function, convert_to_openai_tool

__all__ = [
    "ToolLike",
    "convert_response_format",
    "convert_tool_choice",
    "convert_tools",
    "json_schema_format",
    "schema_name",
    "titled_schema",
]

ToolLike = Mapping[str, Any] | type | Callable[..., Any] | BaseTool

_FUNCTION_KEYS = frozenset({"name", "title", "function"})


def _is_builtin(tool: Any) -> bool:
    """A provider-native tool dict (``{"googleSearch": {}}``), sent as it is."""
    return (
        isinstance(tool, Mapping)
        and not (_FUNCTION_KEYS & tool.keys())
        and tool.get("type") != "function"
    )


def convert_tools(tools: Sequence[ToolLike], *, strict: bool | None = None) -> list[dict[str, Any]]:
    return [
        dict(t) if _is_builtin(t) else convert_to_openai_tool(t, strict=strict)  # type: ignore[arg-type]
        for t in tools
    ]


def _names(tools: Sequence[Mapping[str, Any]]) -> list[str]:
    return [t["function"]["name"] for t in tools if t.get("type") == "function"]


def convert_tool_choice(choice: Any, tools: Sequence[Mapping[str, Any]]) -> Any:
    """``auto``, ``none``, ``required``, ``any``, ``True``, ``False``, a tool name or a dict."""
    if choice is None or isinstance(choice, Mapping):
        return choice
    names = _names(tools)
    if choice is True:
        return _named(names[0]) if len(names) == 1 else "required"
    if choice is False:
        return "none"
    if choice == "any":
        return "required"
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, str):
        if choice not in names:
            raise ValueError(f"tool_choice {choice!r} is not among the bound tools {names}")
        return _named(choice)
    raise ValueError(
        "tool_choice must be 'auto', 'none', 'required', 'any', a bool, a tool name or a dict, "
        f"got {choice!r}"
    )


def _named(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def titled_schema(schema: Any) -> Any:
    """A JSON schema without a title gets one (``response``), as a function name needs it."""
    if isinstance(schema, Mapping) and not ({"title", "name", "function"} & schema.keys()):
        return {**schema, "title": "response"}
    return schema


def schema_name(schema: Any) -> str:
    return str(convert_to_openai_function(titled_schema(schema))["name"])


def json_schema_format(schema: Any, *, strict: bool | None = None) -> dict[str, Any]:
    """OpenAI's ``json_schema`` response_format for a pydantic class, TypedDict or JSON schema."""
    fn = convert_to_openai_function(titled_schema(schema), strict=strict)
    spec: dict[str, Any] = {"name": fn["name"], "schema": fn["parameters"]}
    if fn.get("description"):
        spec["description"] = fn["description"]
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def convert_response_format(value: Any, *, strict: bool | None = None) -> Any:
    """An OpenAI response_format dict as given; a schema (class or JSON schema) as json_schema."""
    if value is None:
        return None
    if isinstance(value, Mapping) and value.get("type") in ("text", "json_object", "json_schema"):
        if strict is not None and value.get("type") == "json_schema":
            spec = dict(value.get("json_schema") or {})
            spec.setdefault("strict", strict)
            return {**value, "json_schema": spec}
        return dict(value)
    return json_schema_format(value, strict=strict)
