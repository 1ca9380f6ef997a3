"""``with_structured_output`` for ChatPolymodal: json_schema, function_calling, json_mode."""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.exceptions import ModelRefusalError, OutputParserException
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.utils.json import parse_json_markdown
from langchain_core.utils.pydantic import is_basemodel_subclass

from ._tools import json_schema_format, schema_name, titled_schema

if TYPE_CHECKING:
    from langchain_core.language_models import LanguageModelInput

    from .chat_models import ChatPolymodal

__all__ = ["Method", "default_method", "structured_runnable"]

Method = Literal["json_schema", "function_calling", "json_mode"]


def default_method(model: str) -> Method:
    """json_schema where the registry says the model takes a response schema, or doesn't know."""
    from polymodal import registry

    return (
        "function_calling"
        if registry.supports(model, "response_schema") is False
        else "json_schema"
    )


def _is_pydantic(schema: Any) -> bool:
    return isinstance(schema, type) and is_basemodel_subclass(schema)


def _validate(schema: Any, data: Any) -> Any:
    if not _is_pydantic(schema):
        return data
    if hasattr(schema, "model_validate"):
        return schema.model_validate(data)
    return schema.parse_obj(data)  # pydantic.v1 models


def _json_parser(schema: Any) -> Runnable[BaseMessage, Any]:
    def parse(message: BaseMessage) -> Any:
        refusal = (
            message.additional_kwargs.get("refusal") if isinstance(message, AIMessage) else None
        )
        if refusal:
            raise ModelRefusalError(
                f"Model refused to produce the requested output: {refusal}", raw_message=message
            )
        text = message.text
        try:
            data = parse_json_markdown(text)
        except ValueError as exc:
            raise OutputParserException(
                f"the model's answer is not valid JSON: {exc}", llm_output=text
            ) from exc
        try:
            return _validate(schema, data)
        except Exception as exc:  # pydantic's ValidationError, in either pydantic version
            raise OutputParserException(
                f"the model's answer does not match {schema_name(schema)}: {exc}", llm_output=text
            ) from exc

    return RunnableLambda(parse, name="StructuredOutputParser")


def _tool_parser(schema: Any) -> Runnable[BaseMessage, Any]:
    if _is_pydantic(schema):
        return PydanticToolsParser(tools=[schema], first_tool_only=True)
    return JsonOutputKeyToolsParser(key_name=schema_name(schema), first_tool_only=True)


def structured_runnable(
    model: ChatPolymodal,
    schema: Mapping[str, Any] | type | None,
    *,
    method: Method | None,
    include_raw: bool,
    strict: bool | None,
) -> Runnable[LanguageModelInput, Any]:
    method = method or default_method(model.model)
    trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    llm: Runnable[LanguageModelInput, BaseMessage]
    if method == "json_schema":
        if schema is None:
            raise ValueError("with_structured_output(method='json_schema') needs a schema")
        response_format = json_schema_format(schema, strict=strict)
        llm = model.bind(response_format=response_format, ls_structured_output_format=trace)
        parser = _json_parser(schema)
    elif method == "function_calling":
        if schema is None:
            raise ValueError("with_structured_output(method='function_calling') needs a schema")
        name = schema_name(schema)
        llm = model.bind_tools(
            [titled_schema(schema)],
            tool_choice=name,
            strict=strict,
            ls_structured_output_format=trace,
        )
        parser = _tool_parser(schema)
    elif method == "json_mode":
        llm = model.bind(response_format={"type": "json_object"}, ls_structured_output_format=trace)
        parser = _json_parser(schema)
    else:
        raise ValueError(
            f"method must be 'json_schema', 'function_calling' or 'json_mode', got {method!r}"
        )
    if not include_raw:
        return llm | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parsed.with_fallbacks([fallback], exception_key="parsing_error")
