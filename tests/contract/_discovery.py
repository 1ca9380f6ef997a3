"""Google discovery documents (from google-api-python-client's cache) as JSON Schema.

The recipe of ../shared/fixtures/schemas/README.md: ``$ref`` -> ``#/$defs/Name``, int64 strings
may be integers, numbers may be strings, ``any`` -> ``{}``, and request objects closed with
``additionalProperties: false`` (responses stay open).
"""

from __future__ import annotations

import json
import os
from typing import Any


def discovery(name: str) -> dict[str, Any]:
    import googleapiclient

    folder = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents")
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        doc: dict[str, Any] = json.load(f)
    return doc


def to_json_schema(node: dict[str, Any], *, request: bool = True) -> dict[str, Any]:
    """One discovery schema node as JSON Schema (the README's recipe)."""
    if "$ref" in node:
        return {"$ref": f"#/$defs/{node['$ref']}"}
    kind = node.get("type")
    out: dict[str, Any]
    if kind == "object":
        out = {"type": "object"}
        if "properties" in node:
            out["properties"] = {
                k: to_json_schema(v, request=request) for k, v in node["properties"].items()
            }
            if request:
                out["additionalProperties"] = False
        if "additionalProperties" in node:
            out["additionalProperties"] = to_json_schema(node["additionalProperties"])
    elif kind == "array":
        out = {"type": "array", "items": to_json_schema(node["items"], request=request)}
    elif kind == "string" and node.get("format") in ("int64", "uint64"):
        out = {"type": ["string", "integer"]}
    elif kind == "string":
        out = {"type": "string"}
    elif kind == "number":
        out = {"type": ["number", "string"]}
    elif kind in ("integer", "boolean"):
        out = {"type": kind}
    else:  # "any"
        out = {}
    if "enum" in node:
        out["enum"] = node["enum"]
    return out
