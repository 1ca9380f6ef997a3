"""Typed loader for the recorded provider traffic copied into ``tests/fixtures/recorded``.

The recordings come from several public projects, each with its own cassette dialect (see
``tests/fixtures/recorded/README.md``). This module turns every one of them into a flat
:class:`Interaction` with the request body as a JSON object and the response body as the bytes a
server would put on the wire, so tests can replay them through an ``httpx.MockTransport``.

Formats handled:

* pydantic-ai vcrpy YAML: JSON bodies stored as a YAML mapping under ``parsed_body`` (rebuilt with
  ``json.dumps``), non-JSON bodies verbatim under ``body.string``; headers lower-cased.
* plain vcrpy YAML (openllmetry, openinference, dd-trace-py, llm): ``request.body`` is the JSON
  text sent, ``response.body.string`` the text (or ``!!binary`` bytes) received,
  ``response.status.code`` the status.
* legacy httpx-stub keys (two dd-trace-py files): ``response.content`` / ``response.status_code``.
* gzip: ``!!binary`` bodies starting with ``1f 8b`` are gunzipped; ``.yaml.gz`` files are
  gunzipped before parsing; langchain-aws' ``requests:``/``responses:`` layout is zipped pairwise.
* vercel-ai raw ``.json`` response bodies (no request recorded): ``request_*`` are ``None``.

Only ``tests/fixtures`` is read; ``index.json`` there is the authority for each interaction's
provider, endpoint and streaming flag.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RECORDED = FIXTURES / "recorded"
INDEX = RECORDED / "index.json"

# The libyaml SafeLoader when available (10x faster on the big cassettes), else the pure one.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

OPENAI_FAMILY = frozenset({"openai", "azure_openai", "openai_compatible", "gemini_openai_compat"})


@dataclass(frozen=True, slots=True)
class Interaction:
    """One recorded HTTP request/response pair."""

    file: str  # path relative to tests/fixtures/recorded
    index: int | None  # position inside the cassette (None for single-body fixture files)
    provider: str
    endpoint: str
    streaming: bool
    request_method: str | None
    request_uri: str | None
    request_body: dict[str, Any] | None
    status: int
    response_headers: dict[str, str] = field(repr=False)
    response_body: bytes = field(repr=False)
    features: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """A readable, unique test id: ``<source>/<file stem>[#index]``."""
        parts = self.file.split("/")
        stem = parts[-1].rsplit(".", 1)[0]
        suffix = f"#{self.index}" if self.index is not None else ""
        return f"{parts[0]}/{stem}{suffix}"

    @property
    def content_type(self) -> str:
        return self.response_headers.get("content-type", "")

    def response_json(self) -> Any:
        return json.loads(self.response_body)

    def sse_payloads(self) -> list[dict[str, Any]]:
        """The JSON ``data:`` payloads of an SSE body, in order, without ``[DONE]``."""
        out = []
        text = self.response_body.decode("utf-8")
        for line in text.splitlines():
            if not line.startswith("data:"):
                continue
            data = line[len("data:") :].strip()
            if data and data != "[DONE]":
                out.append(json.loads(data))
        return out


# --------------------------------------------------------------------------- raw decoding


def _gunzip(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return _gunzip(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    # a parsed JSON body (pydantic-ai ``parsed_body``)
    return json.dumps(value).encode("utf-8")


def _headers(raw: Any) -> dict[str, str]:
    """vcrpy stores each header as a list of values; keep the last, lower-case the name."""
    out: dict[str, str] = {}
    for name, value in (raw or {}).items():
        if isinstance(value, list):
            value = value[-1] if value else ""
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        out[str(name).lower()] = str(value)
    return out


def _request_body(req: dict[str, Any]) -> dict[str, Any] | None:
    if "parsed_body" in req:
        body = req["parsed_body"]
    else:
        body = req.get("body")
        if isinstance(body, dict) and "string" in body:
            body = body["string"]
        if body is None or body == "":
            return None
        body = json.loads(_as_bytes(body))
    if body is None:
        return None
    if not isinstance(body, dict):
        raise ValueError(f"request body is not a JSON object: {type(body).__name__}")
    return body


def _response(resp: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    headers = _headers(resp.get("headers"))
    # ``status_code``: the legacy httpx stub keys (two dd-trace-py cassettes)
    status = int(resp["status"]["code"]) if "status" in resp else int(resp["status_code"])
    if "parsed_body" in resp:
        body = _as_bytes(resp["parsed_body"])
    elif "content" in resp:
        body = _as_bytes(resp["content"])
    else:
        raw = resp.get("body")
        body = _as_bytes(raw.get("string") if isinstance(raw, dict) else raw)
    if body[:2] == b"\x1f\x8b":
        body = _gunzip(body)
    if headers.get("content-encoding") == "gzip":
        # We hand the server's decompressed bytes to httpx; don't make it gunzip again.
        del headers["content-encoding"]
    return status, headers, body


def _raw_pairs(path: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    doc = yaml.load(data, Loader=_YAML_LOADER)  # a SafeLoader (libyaml or pure Python)
    if "interactions" in doc:
        return [(it["request"], it["response"]) for it in doc["interactions"]]
    return list(zip(doc["requests"], doc["responses"], strict=True))


@cache
def _cassette(rel: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return _raw_pairs(RECORDED / rel)


@cache
def index_entries() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(INDEX.read_text("utf-8")))


def _load(entry: dict[str, Any]) -> Interaction:
    rel = entry["file"]
    common = {
        "file": rel,
        "index": entry["index"],
        "provider": entry["provider"],
        "endpoint": entry["endpoint"],
        "streaming": bool(entry["streaming"]),
        "features": tuple(entry.get("features") or ()),
    }
    if entry.get("response_only"):
        path = RECORDED / rel
        body = path.read_bytes()
        ctype = "application/json" if path.suffix == ".json" else "text/plain"
        return Interaction(
            **common,
            request_method=None,
            request_uri=None,
            request_body=None,
            status=int(entry["http_status"]),
            response_headers={"content-type": ctype},
            response_body=body,
        )
    req, resp = _cassette(rel)[entry["index"]]
    status, headers, body = _response(resp)
    return Interaction(
        **common,
        request_method=req.get("method"),
        request_uri=req.get("uri"),
        request_body=_request_body(req),
        status=status,
        response_headers=headers,
        response_body=body,
    )


def load(
    *,
    providers: Iterable[str] = OPENAI_FAMILY,
    endpoint: str | None = None,
    streaming: bool | None = None,
) -> list[Interaction]:
    """Every indexed interaction matching the filters, in index order."""
    wanted = frozenset(providers)
    out = []
    for entry in index_entries():
        if entry["provider"] not in wanted:
            continue
        if endpoint is not None and entry["endpoint"] != endpoint:
            continue
        if streaming is not None and bool(entry["streaming"]) != streaming:
            continue
        out.append(_load(entry))
    return out


def iter_all() -> Iterator[Interaction]:
    """Every indexed interaction of every provider (auxiliary downloads included)."""
    for entry in index_entries():
        yield _load(entry)


# --------------------------------------------------------------------------- OpenAI schema

OPENAI_SCHEMA = FIXTURES / "schemas" / "openai" / "openai_openapi_extract.json"


@cache
def openai_schema() -> dict[str, Any]:
    """The OpenAI OpenAPI extract (see tests/fixtures/schemas/openai)."""
    doc: dict[str, Any] = json.loads(OPENAI_SCHEMA.read_text("utf-8"))
    return doc


def openai_request_properties(name: str) -> set[str]:
    """Every property a component schema declares, following ``allOf`` and ``$ref``."""
    schemas = openai_schema()["components"]["schemas"]

    def walk(schema: dict[str, Any]) -> set[str]:
        if "$ref" in schema:
            return walk(schemas[schema["$ref"].rsplit("/", 1)[-1]])
        out = set(schema.get("properties", {}))
        for part in schema.get("allOf", ()):
            out |= walk(part)
        return out

    return walk(schemas[name])
