"""Deterministic JSON instances from a JSON Schema, for tool arguments and structured output.

Every property (required or not) is filled in schema order; strings come from ``format``, the
property name or the description; integers are 1, numbers 1.5, booleans true, arrays hold one item
(or ``minItems``); ``const``/``enum``/``examples``/``default`` win over types; ``$ref`` into
``$defs``/``definitions`` (any local JSON pointer), ``allOf``, ``anyOf``/``oneOf`` and nullable
types are followed. Recursive schemas stop growing after a few levels (only required properties,
empty arrays, ``null`` where allowed).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["synthesize"]

_DEEP = 6  # beyond this nesting depth, keep instances minimal so recursion terminates
_GIVE_UP = 40

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "iri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "byte": "ZXhhbXBsZQ==",
    "binary": "example",
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def synthesize(schema: Any, name: str | None = None) -> Any:
    """An instance of ``schema``; ``name`` labels a top-level string."""
    return _Synth(schema).make(schema, name, 0)


def _label(name: str | None, schema: Mapping[str, Any]) -> str:
    if name:
        return "example " + _CAMEL.sub(" ", name).replace("_", " ").replace("-", " ").lower()
    for key in ("description", "title"):
        text = schema.get(key)
        if isinstance(text, str) and text.strip():
            words = text.strip().split()
            return " ".join(words[:6]).rstrip(".,;:")
    return "example"


class _Synth:
    def __init__(self, root: Any) -> None:
        self.root = root

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return {}  # remote refs cannot be followed offline
        node: Any = self.root
        for part in ref[1:].split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return node

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        hops = 0
        while isinstance(schema.get("$ref"), str) and hops < 32:
            target = self._pointer(schema["$ref"])
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if isinstance(target, Mapping) else siblings
            hops += 1
        return schema

    def make(self, schema: Any, name: str | None, depth: int) -> Any:
        if schema is False or depth > _GIVE_UP:
            return None
        if not isinstance(schema, Mapping):
            return _label(name, {})
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        for key in ("enum", "examples"):
            values = schema.get(key)
            if isinstance(values, list) and values:
                return values[0]
        if "default" in schema:
            return schema["default"]
        rest = {k: v for k, v in schema.items() if k not in ("allOf", "anyOf", "oneOf")}
        if isinstance(schema.get("allOf"), list):
            return self.make(self._merge(schema["allOf"], rest), name, depth)
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                return self.make({**rest, **self._pick(options, depth)}, name, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            real = [k for k in kind if k != "null"]
            kind = "null" if not real or ("null" in kind and depth > _DEEP) else real[0]
        if kind is None:
            if "properties" in schema or "required" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                kind = "string"
        return self._typed(kind, schema, name, depth)

    def _merge(self, parts: list[Any], rest: Mapping[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = dict(rest)
        for part in parts:
            if not isinstance(part, Mapping):
                continue
            part = self._resolve(part)
            for key, value in part.items():
                if key == "properties" and isinstance(merged.get(key), Mapping):
                    merged[key] = {**merged[key], **value}
                elif key == "required" and isinstance(merged.get(key), list):
                    merged[key] = [*merged[key], *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def _pick(self, options: list[Any], depth: int) -> Mapping[str, Any]:
        resolved = [self._resolve(o) if isinstance(o, Mapping) else {} for o in options]
        nulls = [o for o in resolved if o.get("type") == "null"]
        others = [o for o in resolved if o.get("type") != "null"]
        if depth > _DEEP and nulls:
            return nulls[0]
        return others[0] if others else resolved[0]

    def _typed(self, kind: str, schema: Mapping[str, Any], name: str | None, depth: int) -> Any:
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "integer":
            return self._number(schema, 1, integer=True)
        if kind == "number":
            return self._number(schema, 1.5, integer=False)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._string(schema, name)

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        keep = list(props) if depth < _DEEP else [p for p in props if p in required]
        keep += [r for r in required if r not in props]
        out = {key: self.make(props.get(key, {}), key, depth + 1) for key in keep}
        extra = schema.get("additionalProperties")
        if not out and isinstance(extra, Mapping) and extra and depth < _DEEP:
            out["key"] = self.make(extra, "key", depth + 1)
        return out

    def _array(self, schema: Mapping[str, Any], name: str | None, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems")
        out = []
        if isinstance(prefix, list):
            out = [self.make(p, name, depth + 1) for p in prefix]
        items = schema.get("items", {})
        low = int(schema.get("minItems", 0))
        count = max(low, 1 if depth < _DEEP else 0)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        if items is False:
            return out
        while len(out) < count:
            item = self.make(items, name, depth + 1)
            if schema.get("uniqueItems") and item in out:
                item = _vary(item, len(out))
            out.append(item)
        return out

    @staticmethod
    def _number(schema: Mapping[str, Any], start: float, *, integer: bool) -> float | int:
        low, high = schema.get("minimum"), schema.get("maximum")
        xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        step = 1 if integer else 0.5
        value = float(start)
        if isinstance(low, (int, float)) and value < low:
            value = float(low)
        if isinstance(xlow, (int, float)) and not isinstance(xlow, bool) and value <= xlow:
            value = float(xlow) + step
        if isinstance(high, (int, float)) and value > high:
            value = float(high)
        if isinstance(xhigh, (int, float)) and not isinstance(xhigh, bool) and value >= xhigh:
            value = float(xhigh) - step
        multiple = schema.get("multipleOf")
        if isinstance(multiple, (int, float)) and multiple > 0:
            value = math.ceil(value / multiple) * multiple
        return math.ceil(value) if integer else value

    @staticmethod
    def _string(schema: Mapping[str, Any], name: str | None) -> str:
        fmt = schema.get("format")
        text = _FORMATS[fmt] if isinstance(fmt, str) and fmt in _FORMATS else _label(name, schema)
        low, high = schema.get("minLength"), schema.get("maxLength")
        if isinstance(low, int) and len(text) < low:
            text = text + "x" * (low - len(text))
        if isinstance(high, int) and len(text) > high:
            text = text[:high]
        return text


def _vary(item: Any, i: int) -> Any:
    if isinstance(item, bool) or item is None:
        return item
    if isinstance(item, (int, float)):
        return item + i
    if isinstance(item, str):
        return f"{item} {i + 1}"
    return item
