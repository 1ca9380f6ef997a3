"""Request checks the real Chat Completions API makes, with its own error wording.

They catch encoder bugs end to end (a ``tool`` message without a preceding ``tool_calls``, a
string ``image_url``, a non-function tool, ...). Each returns the first problem as an
:class:`~polymodal.testing.replies.ErrorReply`, or None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .replies import ErrorReply

__all__ = ["check_chat_request", "invalid"]

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_PART_TYPES = ("text", "image_url", "input_audio", "refusal", "audio", "file")
_CHOICE_WITHOUT_TOOLS = (
    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
)
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def invalid(
    message: str, param: str | None = None, code: str | None = None, status: int = 400
) -> ErrorReply:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return ErrorReply(status, {"error": error})


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _missing(param: str) -> ErrorReply:
    return invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def _wrong_type(param: str, expected: str, value: Any) -> ErrorReply:
    article = "an" if expected[0] in "aeiou" else "a"
    got = _json_type(value)
    got_article = "an" if got[0] in "aeiou" else "a"
    message = (
        f"Invalid type for '{param}': expected {article} {expected}, "
        f"but got {got_article} {got} instead."
    )
    return invalid(message, param, "invalid_type")


def _bad_value(param: str, value: Any, allowed: tuple[str, ...]) -> ErrorReply:
    listed = ", ".join(f"'{a}'" for a in allowed[:-1]) + f", and '{allowed[-1]}'"
    message = f"Invalid value: '{value}'. Supported values are: {listed}."
    return invalid(message, param, "invalid_value")


def _below_min(param: str, value: int) -> ErrorReply:
    message = (
        f"Invalid '{param}': integer below minimum value. "
        f"Expected a value >= 1, but got {value} instead."
    )
    return invalid(message, param, "integer_below_min_value")


def check_chat_request(body: Mapping[str, Any], *, needs_model: bool) -> ErrorReply | None:
    model = body.get("model")
    if needs_model and (not isinstance(model, str) or not model):
        return invalid("you must provide a model parameter")
    return (
        _check_messages(body.get("messages"))
        or _check_tools(body)
        or _check_response_format(body)
        or _check_numbers(body)
    )


def _check_messages(messages: Any) -> ErrorReply | None:
    if messages is None:
        return _missing("messages")
    if not isinstance(messages, list):
        return _wrong_type("messages", "array", messages)
    if not messages:
        message = (
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead."
        )
        return invalid(message, "messages", "empty_array")
    for i, msg in enumerate(messages):
        problem = _check_message(i, msg)
        if problem is not None:
            return problem
    return _check_tool_pairing(messages)


def _check_message(i: int, msg: Any) -> ErrorReply | None:
    where = f"messages[{i}]"
    if not isinstance(msg, Mapping):
        return _wrong_type(where, "object", msg)
    role = msg.get("role")
    if role is None:
        return _missing(f"{where}.role")
    if role not in _ROLES:
        return _bad_value(f"{where}.role", role, _ROLES)
    content = msg.get("content")
    if "content" not in msg and not (role == "assistant" and msg.get("tool_calls")):
        return _missing(f"{where}.content")
    if role == "tool" and not isinstance(msg.get("tool_call_id"), str):
        return _missing(f"{where}.tool_call_id")
    if isinstance(content, list):
        for j, part in enumerate(content):
            problem = _check_part(f"{where}.content[{j}]", role, part)
            if problem is not None:
                return problem
    elif content is not None and not isinstance(content, str):
        return _wrong_type(f"{where}.content", "string", content)
    return None


def _check_part(where: str, role: str, part: Any) -> ErrorReply | None:
    if not isinstance(part, Mapping):
        return _wrong_type(where, "object", part)
    kind = part.get("type")
    if kind is None:
        return _missing(f"{where}.type")
    if kind not in _PART_TYPES:
        return _bad_value(f"{where}.type", kind, _PART_TYPES)
    if kind == "image_url":
        if role != "user":
            message = (
                "Image URLs are only allowed for messages with role 'user', "
                f"but this message with role '{role}' contains an image URL."
            )
            return invalid(message, where, "invalid_value")
        image = part.get("image_url")
        if not isinstance(image, Mapping):
            return _wrong_type(f"{where}.image_url", "object", image)
        if not isinstance(image.get("url"), str):
            return _missing(f"{where}.image_url.url")
    if kind == "text" and not isinstance(part.get("text"), str):
        return _missing(f"{where}.text")
    return None


def _check_tool_pairing(messages: list[Any]) -> ErrorReply | None:
    open_ids: list[Any] = []  # ids of the latest assistant tool_calls not answered yet
    owner = -1
    in_block = False  # the previous message had tool_calls or was a tool answer
    for i, msg in enumerate(messages):
        role = msg.get("role")
        if role == "tool":
            tool_call_id = msg.get("tool_call_id")
            if not in_block or tool_call_id not in open_ids:
                message = (
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'."
                )
                return invalid(message, f"messages.[{i}].role")
            open_ids.remove(tool_call_id)
            continue
        if open_ids:
            return _unanswered(owner, open_ids)
        calls = msg.get("tool_calls") if role == "assistant" else None
        in_block = bool(calls)
        if isinstance(calls, list):
            open_ids = [c.get("id") for c in calls if isinstance(c, Mapping)]
            owner = i
    return _unanswered(owner, open_ids) if open_ids else None


def _unanswered(owner: int, ids: list[str]) -> ErrorReply:
    message = (
        "An assistant message with 'tool_calls' must be followed by tool messages responding "
        "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        + ", ".join(str(i) for i in ids)
    )
    return invalid(message, f"messages.[{owner}].role")


def _check_tools(body: Mapping[str, Any]) -> ErrorReply | None:
    tools = body.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            return _wrong_type("tools", "array", tools)
        for i, tool in enumerate(tools):
            if not isinstance(tool, Mapping):
                return _wrong_type(f"tools[{i}]", "object", tool)
            if "type" not in tool:
                return _missing(f"tools[{i}].type")
            if tool["type"] not in ("function", "custom"):
                return _bad_value(f"tools[{i}].type", tool["type"], ("function", "custom"))
            fn = tool.get("function") if tool["type"] == "function" else tool.get("custom")
            if not isinstance(fn, Mapping) or "name" not in fn:
                return _missing(f"tools[{i}].{tool['type']}.name")
            name = fn["name"]
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                message = (
                    f"Invalid 'tools[{i}].function.name': string does not match pattern. "
                    "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
                )
                return invalid(message, f"tools[{i}].function.name", "invalid_value")
            names.append(name)
    return _check_tool_choice(body.get("tool_choice"), tools, names)


def _check_tool_choice(choice: Any, tools: Any, names: list[str]) -> ErrorReply | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            return _bad_value("tool_choice", choice, ("none", "auto", "required"))
        if choice != "none" and not tools:
            return invalid(_CHOICE_WITHOUT_TOOLS, "tool_choice")
        return None
    if not isinstance(choice, Mapping):
        return _wrong_type("tool_choice", "object", choice)
    if not tools:
        return invalid(_CHOICE_WITHOUT_TOOLS, "tool_choice")
    fn = choice.get("function")
    name = fn.get("name") if isinstance(fn, Mapping) else None
    if choice.get("type") == "function" and name not in names:
        message = (
            f"Invalid value for 'tool_choice': no function named '{name}' was specified in the "
            "'tools' parameter."
        )
        return invalid(message, "tool_choice")
    return None


def _check_response_format(body: Mapping[str, Any]) -> ErrorReply | None:
    fmt = body.get("response_format")
    if fmt is None:
        return None
    if not isinstance(fmt, Mapping):
        return _wrong_type("response_format", "object", fmt)
    kind = fmt.get("type")
    if kind not in ("text", "json_object", "json_schema"):
        return _bad_value("response_format.type", kind, ("json_schema", "json_object", "text"))
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, Mapping):
            return _missing("response_format.json_schema")
        if not isinstance(spec.get("name"), str):
            return _missing("response_format.json_schema.name")
    if kind == "json_object" and "json" not in str(body.get("messages")).lower():
        message = (
            "'messages' must contain the word 'json' in some form, to use 'response_format' "
            "of type 'json_object'."
        )
        return invalid(message, "messages")
    return None


def _check_numbers(body: Mapping[str, Any]) -> ErrorReply | None:
    for param in ("n", "max_tokens", "max_completion_tokens"):
        value = body.get(param)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            return _wrong_type(param, "integer", value)
        if value < 1:
            return _below_min(param, value)
    if body.get("stream_options") is not None and not body.get("stream"):
        message = "The 'stream_options' parameter is only allowed when 'stream' is enabled."
        return invalid(message, "stream_options")
    return None
