"""Golden tests of the JSON-Schema compilers in ``polymodal.schema``.

Expected outputs are written by hand from Google's documented ``Schema`` object (OpenAPI 3.0
subset: upper-case ``Type`` enum, ``nullable``, ``anyOf``, string ``enum``, ``propertyOrdering``,
...) and from its rules for ``responseJsonSchema`` (``$ref`` may only have ``$``-siblings;
``$schema`` is refused).
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import pytest

from polymodal.errors import BadRequestError, UnsupportedParamsError
from polymodal.schema import (
    SchemaKeywordDroppedWarning,
    to_gemini_schema,
    to_json_schema_for_gemini,
)


def compile_quiet(schema: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SchemaKeywordDroppedWarning)
        return to_gemini_schema(schema, **kwargs)


# --------------------------------------------------------------------------- to_gemini_schema


def test_documented_example_recipe_list() -> None:
    """The structured-output guide's recipe list, with property ordering asked for."""
    schema = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "recipeName": {"type": "string"},
                "ingredients": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["recipeName", "ingredients"],
        },
    }
    assert compile_quiet(schema, order_properties=True) == {
        "type": "ARRAY",
        "items": {
            "type": "OBJECT",
            "properties": {
                "recipeName": {"type": "STRING"},
                "ingredients": {"type": "ARRAY", "items": {"type": "STRING"}},
            },
            "required": ["recipeName", "ingredients"],
            "propertyOrdering": ["recipeName", "ingredients"],
        },
    }


def test_kept_keywords() -> None:
    schema = {
        "type": "object",
        "title": "Booking",
        "description": "A booking",
        "properties": {
            "when": {"type": "string", "format": "date-time", "example": "2025-01-01T00:00:00Z"},
            "nights": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 30},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3},
            "guests": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 4},
            "extras": {"type": "object", "properties": {}, "minProperties": 0, "maxProperties": 2},
            "breakfast": {"type": "boolean", "default": False},
            "price": {"type": "number", "format": "double"},
        },
        "required": ["when"],
        "propertyOrdering": ["when", "nights"],
    }
    assert compile_quiet(schema) == {
        "type": "OBJECT",
        "title": "Booking",
        "description": "A booking",
        "properties": {
            "when": {"type": "STRING", "format": "date-time", "example": "2025-01-01T00:00:00Z"},
            "nights": {"type": "INTEGER", "format": "int32", "minimum": 1, "maximum": 30},
            "code": {"type": "STRING", "pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3},
            "guests": {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 1, "maxItems": 4},
            "extras": {"type": "OBJECT", "properties": {}, "minProperties": 0, "maxProperties": 2},
            "breakfast": {"type": "BOOLEAN", "default": False},
            "price": {"type": "NUMBER", "format": "double"},
        },
        "required": ["when"],
        "propertyOrdering": ["when", "nights"],
    }


def test_empty_object_keeps_its_properties() -> None:
    """A function without arguments: Google's own SDKs send ``properties: {}``."""
    assert compile_quiet({"type": "object", "properties": {}}) == {
        "type": "OBJECT",
        "properties": {},
    }


@pytest.mark.parametrize(
    "schema,expected",
    [
        ({"type": ["string", "null"]}, {"type": "STRING", "nullable": True}),
        ({"type": ["null", "integer"]}, {"type": "INTEGER", "nullable": True}),
        (
            {"type": ["string", "integer"]},
            {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]},
        ),
        ({"type": "null"}, {"nullable": True}),
        (
            {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "maybe"},
            {"type": "STRING", "description": "maybe", "nullable": True},
        ),
        (
            {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
            {"nullable": True, "anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]},
        ),
        ({"const": "fixed"}, {"type": "STRING", "enum": ["fixed"]}),
        (
            {"type": "string", "enum": ["a", "b", None]},
            {"type": "STRING", "nullable": True, "enum": ["a", "b"]},
        ),
        ({"type": "string", "examples": ["x", "y"]}, {"type": "STRING", "example": "x"}),
        (
            {"properties": {"a": {"type": "string"}}},
            {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
        ),
        ({"items": {"type": "string"}}, {"type": "ARRAY", "items": {"type": "STRING"}}),
        ({"enum": ["x"]}, {"type": "STRING", "enum": ["x"]}),
        ({}, {}),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": False,
            },
            {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
        ),
        ({"type": "string", "any_of": [{"type": "string"}]}, {"type": "STRING"}),
    ],
)
def test_translations(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert compile_quiet(schema) == expected


def test_refs_are_inlined_with_siblings_laid_over() -> None:
    schema = {
        "$defs": {
            "Address": {
                "type": "object",
                "description": "An address",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            }
        },
        "definitions": {"Tag": {"type": "string", "enum": ["a", "b"]}},
        "type": "object",
        "properties": {
            "home": {"$ref": "#/$defs/Address", "description": "Where they live"},
            "work": {"$ref": "#/$defs/Address"},
            "tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
        },
    }
    address = {
        "type": "OBJECT",
        "properties": {"city": {"type": "STRING"}},
        "required": ["city"],
    }
    assert compile_quiet(schema) == {
        "type": "OBJECT",
        "properties": {
            "home": {**address, "description": "Where they live"},
            "work": {**address, "description": "An address"},
            "tags": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["a", "b"]}},
        },
    }


def test_pydantic_v2_optional_model_field() -> None:
    """``Optional[Pet] = None`` with a description, as pydantic v2 writes it."""
    schema = {
        "$defs": {"Pet": {"properties": {"name": {"title": "Name", "type": "string"}},
                          "required": ["name"], "title": "Pet", "type": "object"}},
        "properties": {"pet": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}],
                               "default": None, "description": "their pet"}},
        "title": "Owner",
        "type": "object",
    }  # fmt: skip
    assert compile_quiet(schema) == {
        "type": "OBJECT",
        "title": "Owner",
        "properties": {
            "pet": {
                "type": "OBJECT",
                "title": "Pet",
                "description": "their pet",
                "nullable": True,
                "properties": {"name": {"type": "STRING", "title": "Name"}},
                "required": ["name"],
                "default": None,
            }
        },
    }


def test_all_of_is_merged() -> None:
    schema = {
        "$defs": {"Base": {"type": "object", "properties": {"id": {"type": "integer"}},
                           "required": ["id"]}},
        "allOf": [{"$ref": "#/$defs/Base"},
                  {"properties": {"name": {"type": "string"}}, "required": ["name"]}],
        "description": "merged",
    }  # fmt: skip
    assert compile_quiet(schema) == {
        "type": "OBJECT",
        "description": "merged",
        "properties": {"id": {"type": "INTEGER"}, "name": {"type": "STRING"}},
        "required": ["id", "name"],
    }
    # a single-branch allOf (pydantic v1's way of adding a description to a $ref)
    assert compile_quiet({"allOf": [{"type": "string"}], "description": "d"}) == {
        "type": "STRING",
        "description": "d",
    }


def test_conflicting_all_of_is_reported() -> None:
    with pytest.warns(SchemaKeywordDroppedWarning, match="allOf/type"):
        assert to_gemini_schema({"allOf": [{"type": "string"}, {"type": "integer"}]}) == {
            "type": "INTEGER"
        }


@pytest.mark.parametrize(
    "schema",
    [
        {"$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
         "$ref": "#/$defs/Node"},
        {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}},
    ],
)  # fmt: skip
def test_cycles_are_a_clear_error(schema: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedParamsError, match=r"recursive.*parametersJsonSchema"):
        to_gemini_schema(schema, where="tools[0].function.parameters")


def test_bad_refs_and_types() -> None:
    with pytest.raises(BadRequestError, match="does not point"):
        to_gemini_schema({"$ref": "#/$defs/Missing"})
    with pytest.raises(BadRequestError, match="unknown type"):
        to_gemini_schema({"type": "date"})
    with pytest.raises(BadRequestError, match="must be a JSON Schema object"):
        to_gemini_schema([])  # type: ignore[arg-type]


DROPPED = [
    ({"type": "object", "additionalProperties": {"type": "string"}}, "additionalProperties"),
    ({"type": "object", "additionalProperties": True}, "additionalProperties"),
    ({"type": "object", "patternProperties": {"^x": {}}}, "patternProperties"),
    ({"type": "number", "exclusiveMinimum": 0}, "exclusiveMinimum"),
    ({"type": "number", "exclusiveMaximum": 9}, "exclusiveMaximum"),
    ({"type": "number", "multipleOf": 2}, "multipleOf"),
    ({"type": "array", "uniqueItems": True}, "uniqueItems"),
    ({"type": "array", "prefixItems": [{"type": "string"}]}, "prefixItems"),
    ({"type": "string", "$schema": "https://json-schema.org/draft/2020-12/schema"}, "$schema"),
    ({"type": "string", "$id": "urn:x"}, "$id"),
    ({"type": "string", "deprecated": True}, "deprecated"),
    ({"type": "string", "x-internal": 1}, "x-internal"),
    ({"not": {"type": "string"}}, "not"),
    ({"type": "integer", "enum": [1, 2]}, "enum"),
    ({"type": "array", "items": [{"type": "string"}]}, "items"),
]


@pytest.mark.parametrize("schema,keyword", DROPPED, ids=[k for _, k in DROPPED])
def test_dropped_keywords_are_reported_with_their_path(
    schema: dict[str, Any], keyword: str
) -> None:
    wrapped = {"type": "object", "properties": {"field": schema}}
    with pytest.warns(SchemaKeywordDroppedWarning) as caught:
        to_gemini_schema(wrapped, where="response_format.schema")
    reports = [w.message for w in caught if isinstance(w.message, SchemaKeywordDroppedWarning)]
    assert [(r.keyword, r.path) for r in reports] == [
        (keyword, "response_format.schema.properties.field")
    ]
    with pytest.raises(UnsupportedParamsError, match=keyword.replace("$", r"\$")):
        to_gemini_schema(wrapped, strict=True)


def test_non_string_enum_is_stringified() -> None:
    with pytest.warns(SchemaKeywordDroppedWarning, match="string enum"):
        assert to_gemini_schema({"type": "integer", "enum": [1, 2, 3]}) == {
            "type": "STRING",
            "enum": ["1", "2", "3"],
        }
    with pytest.warns(SchemaKeywordDroppedWarning):
        assert to_gemini_schema({"const": True}) == {"type": "STRING", "enum": ["true"]}


def test_input_is_not_modified() -> None:
    schema = {"$defs": {"A": {"type": "string"}}, "type": "object",
              "properties": {"a": {"$ref": "#/$defs/A", "description": "d"}}}  # fmt: skip
    before = copy.deepcopy(schema)
    compile_quiet(schema)
    to_json_schema_for_gemini(schema)
    assert schema == before


# --------------------------------------------------------------------------- to_json_schema_for_gemini


def test_json_schema_keeps_everything_google_takes() -> None:
    schema = {
        "type": "object",
        "properties": {
            "kind": {"const": "a"},
            "n": {"type": ["integer", "null"], "exclusiveMinimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        },
        "additionalProperties": False,
        "required": ["kind"],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert to_json_schema_for_gemini(schema) == schema


def test_json_schema_strips_schema_and_fixes_ref_siblings() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "definitions": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "type": "object",
        "properties": {
            "pet": {"$ref": "#/definitions/Pet", "description": "their pet"},
            "other": {"$ref": "#/definitions/Pet"},
            "many": {"type": "array", "items": {"$ref": "#/definitions/Pet", "title": "P"}},
        },
    }
    pet = {"type": "object", "properties": {"name": {"type": "string"}}}
    with pytest.warns(SchemaKeywordDroppedWarning, match=r"\$schema"):
        got = to_json_schema_for_gemini(schema)
    assert got == {
        "$defs": {"Pet": pet},
        "type": "object",
        "properties": {
            "pet": {**pet, "description": "their pet"},
            "other": {"$ref": "#/$defs/Pet"},
            "many": {"type": "array", "items": {**pet, "title": "P"}},
        },
    }


def test_json_schema_recursive_ref_keeps_only_dollar_keys() -> None:
    """The first use is inlined once (equivalent: a Node whose ``next`` is a Node); where the
    reference recurses, its siblings cannot stay and are reported."""
    schema = {
        "$defs": {"Node": {"type": "object",
                           "properties": {"next": {"$ref": "#/$defs/Node", "description": "n"}}}},
        "$ref": "#/$defs/Node",
    }  # fmt: skip
    with pytest.warns(SchemaKeywordDroppedWarning, match="description"):
        got = to_json_schema_for_gemini(schema)
    assert got == {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "next": {
                        "type": "object",
                        "properties": {"next": {"$ref": "#/$defs/Node"}},
                        "description": "n",
                    }
                },
            }
        },
        "$ref": "#/$defs/Node",
    }


def test_json_schema_property_named_like_a_keyword() -> None:
    """Property names are not keywords: ``properties.default`` is a schema, not a value."""
    schema = {
        "$defs": {"D": {"type": "string"}},
        "type": "object",
        "properties": {"default": {"$ref": "#/$defs/D", "description": "x"}},
    }
    got = to_json_schema_for_gemini(schema)
    assert got["properties"]["default"] == {"type": "string", "description": "x"}
