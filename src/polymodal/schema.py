"""JSON-Schema compilers for the dialects providers take.

Gemini has two schema fields:

* ``Schema`` (``functionDeclarations[].parameters``, ``generationConfig.responseSchema``): an
  OpenAPI 3.0 subset with upper-case ``type`` names. :func:`to_gemini_schema` compiles a JSON
  Schema to it.
* ``responseJsonSchema`` / ``parametersJsonSchema``: JSON Schema itself, taken by Gemini 2.5 and
  later. :func:`to_json_schema_for_gemini` only removes what Google rejects there.

What :func:`to_gemini_schema` keeps is the set of ``Schema`` fields that both Vertex AI
(``aiplatform`` v1 and v1beta1) and the Gemini API (AI Studio) accept: ``type``, ``format``,
``title``, ``description``, ``nullable``, ``enum``, ``properties``, ``required``,
``propertyOrdering``, ``items``, ``minItems``/``maxItems``, ``minimum``/``maximum``,
``minLength``/``maxLength``, ``minProperties``/``maxProperties``, ``pattern``, ``anyOf``,
``default`` and ``example``. ``ref``/``defs`` and ``additionalProperties`` are Vertex-only, so
they are not emitted. The translations:

* ``$ref`` (``#/$defs/..``, ``#/definitions/..``, ``#``) is inlined, with the referring node's
  own keywords (``description``...) laid over the definition; a cycle raises
  :class:`~polymodal.errors.UnsupportedParamsError` (Gemini's ``Schema`` cannot express recursion
  on both APIs; send JSON Schema instead);
* ``type: ["string", "null"]`` -> ``STRING`` + ``nullable``; several non-null types -> ``anyOf``
  of one schema per type; ``type: "null"`` alone -> ``nullable: true``;
* ``anyOf``/``oneOf`` with a ``{"type": "null"}`` branch -> ``nullable``; a single remaining
  branch is merged into the node; ``oneOf`` is sent as ``anyOf`` (Gemini has no exclusive union);
* ``allOf`` branches are merged into the node (``properties`` and ``required`` are united);
  a keyword two branches give different values is reported;
* ``const`` -> a one-value ``enum``; enum values that are not strings are stringified (with
  ``type: STRING``) and reported, ``null`` in an enum becomes ``nullable``;
* ``examples`` -> ``example`` (the first one);
* ``additionalProperties: false`` is dropped without a report: Gemini generates only the declared
  properties anyway, so nothing is lost;
* every other keyword (``additionalProperties`` true or a schema, ``patternProperties``,
  ``exclusiveMinimum``, ``multipleOf``, ``uniqueItems``, ``prefixItems``, ``not``, ``if``,
  ``$schema``, ``$id``, ``deprecated``, unknown ``x-`` keys, ...) is reported: a
  :class:`SchemaKeywordDroppedWarning` naming the keyword and its JSON path, or, with
  ``strict=True``, an :class:`~polymodal.errors.UnsupportedParamsError`.

The functions are pure: the input is never modified.
"""

from __future__ import annotations

import copy
import json
import warnings
from typing import Any

from polymodal.errors import BadRequestError, UnsupportedParamsError

__all__ = [
    "SchemaKeywordDroppedWarning",
    "to_gemini_schema",
    "to_json_schema_for_gemini",
]


class SchemaKeywordDroppedWarning(UserWarning):
    """A JSON-Schema keyword the target dialect cannot express was dropped (or changed)."""

    def __init__(self, keyword: str, path: str, reason: str) -> None:
        self.keyword = keyword
        self.path = path
        self.reason = reason
        super().__init__(f"schema keyword {keyword!r} at {path}: {reason}")


_TYPES = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}
# Copied as they are (values are plain data).
_PLAIN = (
    "format", "title", "description", "minItems", "maxItems", "minimum", "maximum", "minLength",
    "maxLength", "minProperties", "maxProperties", "pattern", "default", "example",
    "propertyOrdering",
)  # fmt: skip
# Handled by the compiler itself.
_STRUCTURAL = frozenset(
    {"type", "nullable", "enum", "const", "properties", "required", "items", "anyOf", "oneOf",
     "allOf", "$ref", "$defs", "definitions", "examples", "additionalProperties"}
)  # fmt: skip
# Gemini's own spelling of a kept keyword is accepted in the input too.
_SNAKE = {
    "any_of": "anyOf",
    "property_ordering": "propertyOrdering",
    "min_items": "minItems",
    "max_items": "maxItems",
    "min_length": "minLength",
    "max_length": "maxLength",
    "min_properties": "minProperties",
    "max_properties": "maxProperties",
}
# Output key order (readability only; JSON objects are unordered).
_ORDER = (
    "type", "format", "title", "description", "nullable", "enum", "properties", "required",
    "propertyOrdering", "items", "minItems", "maxItems", "minimum", "maximum", "minLength",
    "maxLength", "minProperties", "maxProperties", "pattern", "anyOf", "default", "example",
)  # fmt: skip


def _is_null_schema(node: Any) -> bool:
    return isinstance(node, dict) and node.get("type") == "null" and len(node) == 1


class _GeminiCompiler:
    """One compilation: the root's definitions, the options, the ``$ref`` stack."""

    def __init__(self, root: dict[str, Any], *, strict: bool, where: str, order: bool) -> None:
        self.defs: dict[str, Any] = {}
        for key in ("definitions", "$defs"):
            table = root.get(key)
            if isinstance(table, dict):
                self.defs.update({f"#/{key}/{name}": value for name, value in table.items()})
        self.root = root
        self.strict = strict
        self.where = where
        self.order = order

    # ---- reporting

    def drop(
        self, keyword: str, path: str, reason: str = "not supported by Gemini's Schema"
    ) -> None:
        if self.strict:
            raise UnsupportedParamsError(
                f"schema keyword {keyword!r} at {path}: {reason} (strict mode)", param=self.where
            )
        warnings.warn(SchemaKeywordDroppedWarning(keyword, path, reason), stacklevel=4)

    # ---- references and merging

    def deref(self, ref: Any, path: str, stack: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(ref, str):
            raise BadRequestError(f"$ref at {path} must be a string", param=self.where)
        if ref in stack:
            chain = " -> ".join((*stack, ref))
            raise UnsupportedParamsError(
                f"the schema at {path} is recursive ({chain}); Gemini's Schema cannot express "
                "recursion. Flatten it, or send it as JSON Schema (responseJsonSchema / "
                "parametersJsonSchema, models from Gemini 2.5 on)",
                param=self.where,
            )
        target = self.root if ref == "#" else self.defs.get(ref)
        if not isinstance(target, dict):
            raise BadRequestError(
                f"$ref {ref!r} at {path} does not point into the schema's $defs/definitions",
                param=self.where,
            )
        return target

    def resolve(
        self, node: dict[str, Any], path: str, stack: tuple[str, ...]
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """``node`` with its ``$ref`` chain inlined (siblings laid over the definition)."""
        node = {_SNAKE.get(k, k): v for k, v in node.items()}
        while "$ref" in node:
            ref = node["$ref"]
            target = self.deref(ref, path, stack)
            stack = (*stack, ref)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**{_SNAKE.get(k, k): v for k, v in target.items()}, **siblings}
            if ref == "#":
                node.pop("$defs", None)
                node.pop("definitions", None)
        return node, stack

    def merge_all_of(
        self, node: dict[str, Any], path: str, stack: tuple[str, ...]
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        branches = node.get("allOf")
        if not isinstance(branches, list):
            raise BadRequestError(f"allOf at {path} must be a list", param=self.where)
        merged: dict[str, Any] = {}
        own = {k: v for k, v in node.items() if k != "allOf"}
        for i, branch in enumerate([*branches, own]):
            if not isinstance(branch, dict):
                raise BadRequestError(f"allOf at {path} must list schemas", param=self.where)
            branch, stack = self.resolve(branch, f"{path}.allOf[{i}]", stack)
            if "allOf" in branch:
                branch, stack = self.merge_all_of(branch, f"{path}.allOf[{i}]", stack)
            for key, value in branch.items():
                if key == "properties" and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                elif key == "required" and isinstance(merged.get(key), list):
                    merged[key] = [*merged[key], *(r for r in value if r not in merged[key])]
                elif key in merged and merged[key] != value and branch is not own:
                    self.drop(
                        f"allOf/{key}", path, "two allOf branches disagree; the later one is kept"
                    )
                    merged[key] = value
                else:
                    merged[key] = value
        return merged, stack

    # ---- compilation

    def compile(self, node: Any, path: str, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        if node is True:
            return {}
        if not isinstance(node, dict):
            raise BadRequestError(
                f"the schema at {path} must be an object, got {json.dumps(node)[:80]}",
                param=self.where,
            )
        node, stack = self.resolve(node, path, stack)
        if "allOf" in node:
            node, stack = self.merge_all_of(node, path, stack)
        out: dict[str, Any] = {}
        self.compile_type(node, out, path)
        self.compile_union(node, out, path, stack)
        self.compile_enum(node, out, path)
        for key in _PLAIN:
            if key in node:
                out[key] = copy.deepcopy(node[key])
        if "example" not in node and isinstance(node.get("examples"), list) and node["examples"]:
            out["example"] = copy.deepcopy(node["examples"][0])
        self.compile_object(node, out, path, stack)
        if "items" in node:
            items = node["items"]
            if isinstance(items, list):  # draft-4 tuple form
                self.drop("items", path, "tuple-form items (a list of schemas)")
            else:
                out["items"] = self.compile(items, f"{path}.items", stack)
        for key in node:
            if key not in _STRUCTURAL and key not in _PLAIN:
                self.drop(key, path)
        if "type" not in out:
            if "properties" in out:
                out["type"] = "OBJECT"
            elif "items" in out:
                out["type"] = "ARRAY"
            elif "enum" in out:
                out["type"] = "STRING"
        return {k: out[k] for k in sorted(out, key=_key_rank)}

    def compile_type(self, node: dict[str, Any], out: dict[str, Any], path: str) -> None:
        kind = node.get("type")
        if node.get("nullable") is True:
            out["nullable"] = True
        if kind is None:
            return
        kinds = kind if isinstance(kind, list) else [kind]
        names = []
        for k in kinds:
            if not isinstance(k, str):
                raise BadRequestError(f"type at {path} must be a string", param=self.where)
            if k.lower() == "null":
                out["nullable"] = True
            elif k.lower() in _TYPES:
                names.append(_TYPES[k.lower()])
            else:
                raise BadRequestError(f"unknown type {k!r} at {path}", param=self.where)
        if len(names) == 1:
            out["type"] = names[0]
        elif len(names) > 1:
            out["anyOf"] = [{"type": n} for n in names]

    def compile_union(
        self, node: dict[str, Any], out: dict[str, Any], path: str, stack: tuple[str, ...]
    ) -> None:
        for key in ("anyOf", "oneOf"):
            if key not in node:
                continue
            branches = node[key]
            if not isinstance(branches, list):
                raise BadRequestError(f"{key} at {path} must be a list", param=self.where)
            kept = []
            for i, branch in enumerate(branches):
                if _is_null_schema(branch):
                    out["nullable"] = True
                    continue
                kept.append(self.compile(branch, f"{path}.{key}[{i}]", stack))
            if len(kept) == 1 and "anyOf" not in out:
                # One real branch is merged; the node's own keywords (set later) win.
                for k, v in kept[0].items():
                    out.setdefault(k, v)
            elif kept:
                out["anyOf"] = [*out.get("anyOf", ()), *kept]

    def compile_enum(self, node: dict[str, Any], out: dict[str, Any], path: str) -> None:
        values: list[Any] | None = None
        if "const" in node:
            values = [node["const"]]
        elif "enum" in node:
            if not isinstance(node["enum"], list):
                raise BadRequestError(f"enum at {path} must be a list", param=self.where)
            values = list(node["enum"])
        if values is None:
            return
        if None in values:
            out["nullable"] = True
            values = [v for v in values if v is not None]
        if any(not isinstance(v, str) for v in values):
            self.drop(
                "enum",
                path,
                "Gemini takes only string enum values: the values were sent as strings "
                "(type STRING) and the model will answer with strings",
            )
            values = [v if isinstance(v, str) else json.dumps(v) for v in values]
            out["type"] = "STRING"
            out.pop("anyOf", None)
        out["enum"] = values

    def compile_object(
        self, node: dict[str, Any], out: dict[str, Any], path: str, stack: tuple[str, ...]
    ) -> None:
        props = node.get("properties")
        if props is not None:
            if not isinstance(props, dict):
                raise BadRequestError(f"properties at {path} must be an object", param=self.where)
            out["properties"] = {
                name: self.compile(sub, f"{path}.properties.{name}", stack)
                for name, sub in props.items()
            }
            if self.order and len(props) > 1 and "propertyOrdering" not in node:
                out["propertyOrdering"] = list(props)
        if "required" in node:
            out["required"] = list(node["required"])
        extra = node.get("additionalProperties")
        if extra is not None and extra is not False:
            self.drop(
                "additionalProperties",
                path,
                "Gemini's Schema (AI Studio) has no additionalProperties; only the declared "
                "properties are generated",
            )


def _key_rank(key: str) -> int:
    return _ORDER.index(key) if key in _ORDER else len(_ORDER)


def to_gemini_schema(
    schema: dict[str, Any],
    *,
    strict: bool = False,
    where: str = "parameters",
    order_properties: bool = False,
) -> dict[str, Any]:
    """Compile a JSON Schema to Gemini's ``Schema`` object (see the module docstring).

    ``where`` names the schema in reports and errors (``tools[0].function.parameters``);
    ``order_properties`` adds ``propertyOrdering`` (the properties' order in ``schema``) to
    objects with more than one property, which makes Gemini generate keys in that order
    (useful for ``responseSchema``; Gemini 2.0 otherwise orders them alphabetically).
    """
    if not isinstance(schema, dict):
        raise BadRequestError(f"{where} must be a JSON Schema object", param=where)
    compiler = _GeminiCompiler(schema, strict=strict, where=where, order=order_properties)
    return compiler.compile(schema, where)


# --------------------------------------------------------------------------- JSON Schema


def to_json_schema_for_gemini(
    schema: dict[str, Any], *, where: str = "response_format.schema"
) -> dict[str, Any]:
    """``schema`` as Gemini's ``responseJsonSchema`` / ``parametersJsonSchema`` take it.

    Full JSON Schema is kept; only what Google rejects changes:

    * ``$schema`` is removed (``Unknown name "$schema"``), with a report;
    * ``definitions`` becomes ``$defs`` (and ``#/definitions/`` references follow), the spelling
      Google documents;
    * a ``$ref`` with sibling keywords (``{"$ref": ..., "description": ...}``, as pydantic writes
      fields with a description) is rejected by Google ("can only contain properties starting
      with '$' when $ref is present"): the definition is inlined with the siblings laid over it;
      for a recursive reference the siblings are dropped instead, with a report.
    """
    if not isinstance(schema, dict):
        raise BadRequestError(f"{where} must be a JSON Schema object", param=where)
    out = copy.deepcopy(schema)
    if "$schema" in out:
        del out["$schema"]
        warnings.warn(
            SchemaKeywordDroppedWarning("$schema", where, "Google rejects it"), stacklevel=2
        )
    if isinstance(out.get("definitions"), dict):
        defs = out.pop("definitions")
        out["$defs"] = {**defs, **(out.get("$defs") or {})}
    table = out.get("$defs")
    fixed: dict[str, Any] = _fix_refs(out, table if isinstance(table, dict) else {}, where, ())
    return fixed


_SCHEMA_MAPS = frozenset({"properties", "$defs", "patternProperties", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_VALUES = frozenset(
    {"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
     "unevaluatedProperties", "unevaluatedItems", "additionalItems"}
)  # fmt: skip


def _fix_refs(node: Any, defs: dict[str, Any], path: str, stack: tuple[str, ...]) -> Any:
    """One schema node with Google's ``$ref`` rules applied, recursing only into subschemas."""
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        ref = "#/$defs/" + ref[len("#/definitions/") :]
        node = {**node, "$ref": ref}
    siblings = [k for k in node if not k.startswith("$")]
    if isinstance(ref, str) and siblings:
        name = ref[len("#/$defs/") :] if ref.startswith("#/$defs/") else None
        if name is not None and isinstance(defs.get(name), dict) and ref not in stack:
            inlined = {**defs[name], **{k: node[k] for k in siblings}}
            return _fix_refs(inlined, defs, path, (*stack, ref))
        for key in siblings:
            warnings.warn(
                SchemaKeywordDroppedWarning(
                    key, path, "beside a recursive $ref (Google allows only $-keywords there)"
                ),
                stacklevel=3,
            )
        return {k: v for k, v in node.items() if k.startswith("$")}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {
                name: _fix_refs(sub, defs, f"{path}.{key}.{name}", stack)
                for name, sub in value.items()
            }
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [
                _fix_refs(s, defs, f"{path}.{key}[{j}]", stack) for j, s in enumerate(value)
            ]
        elif key in _SCHEMA_VALUES:
            out[key] = _fix_refs(value, defs, f"{path}.{key}", stack)
        else:
            out[key] = value
    return out
