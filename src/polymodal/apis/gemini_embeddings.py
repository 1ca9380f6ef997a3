"""Gemini ``embedContent`` / ``batchEmbedContents``: pure check / encode / decode.

Dialects:

* ``"ai_studio"``: Google AI Studio, ``POST .../models/{m}:batchEmbedContents`` with
  ``{"requests": [{"model": "models/{m}", "content": {"parts": [...]}, "taskType", "title",
  "outputDimensionality"}]}``, up to 100 requests per call (longer lists are split);
* ``"vertex"``: Vertex AI ``POST .../publishers/google/models/{m}:embedContent`` (the Gemini
  embedding models after ``gemini-embedding-001``, e.g. ``gemini-embedding-2``) with
  ``{"content": {"parts": [...]}, "embedContentConfig": {"taskType", "title",
  "outputDimensionality", "autoTruncate"}}``, one input per call.

Task types. The text models (``gemini-embedding-001``, ``text-embedding-004``) take ``taskType``:
``input_type`` or the provider param ``task_type`` fill it (:data:`~.vertex_embeddings.TASK_TYPES`),
``title`` goes with ``RETRIEVAL_DOCUMENT``. The multimodal Gemini embedding models
(``gemini-embedding-2*``) take no task type; Google documents task prefixes in the text instead,
so ``input_type`` becomes the documented prefix (:data:`PREFIXES`; ``RETRIEVAL_DOCUMENT`` gives
``"title: {title or none} | text: ..."``), while an explicit ``task_type`` is still sent as the
``taskType`` field, as given.

Inputs: text; and for the multimodal models images / video as in
:mod:`polymodal.apis.vertex_embeddings` (``{"image": ...}``, ``{"video": ...}``, parts, whole
``gs://`` / ``data:`` strings): inline data becomes ``inlineData``; ``gs://`` URIs become
``fileData`` (Vertex only: AI Studio cannot read Cloud Storage). Each input is embedded alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from polymodal._warn import refuse_or_drop
from polymodal.apis.vertex_embeddings import Item, normalize_item, task_type
from polymodal.errors import BadRequestError, InternalServerError, error_from_response
from polymodal.types import EmbeddingRequest, EmbeddingResult, EmbeddingUsage

__all__ = [
    "AI_STUDIO_MAX_REQUESTS",
    "PREFIXES",
    "check",
    "decode",
    "encode",
    "is_multimodal",
    "max_inputs",
]

AI_STUDIO_MAX_REQUESTS = 100  # "at most 100 requests can be in one batch"
PREFIXES = {
    "RETRIEVAL_QUERY": "task: search result | query: ",
    "QUESTION_ANSWERING": "task: question answering | query: ",
    "FACT_VERIFICATION": "task: fact checking | query: ",
    "CODE_RETRIEVAL_QUERY": "task: code retrieval | query: ",
    "CLASSIFICATION": "task: classification | query: ",
    "CLUSTERING": "task: clustering | query: ",
    "SEMANTIC_SIMILARITY": "task: sentence similarity | query: ",
}
_PARAMS = ("task_type", "title", "auto_truncate")
_PREFIX = "prefix"  # resolved provider_params key: the text prefix, never sent as a field


def is_multimodal(model: str) -> bool:
    """Whether ``model`` is a multimodal Gemini embedding model (task prefixes, media inputs)."""
    name = model.rsplit("/", 1)[-1].lower()
    return "gemini" in name and not name.startswith(
        ("gemini-embedding-001", "gemini-embedding-exp")
    )


def max_inputs(dialect: str) -> int:
    return AI_STUDIO_MAX_REQUESTS if dialect == "ai_studio" else 1


# --------------------------------------------------------------------------- check


def _items(req: EmbeddingRequest, dialect: str) -> list[Item]:
    multimodal = is_multimodal(req.model)
    items = [
        normalize_item(v, i, req.model, multimodal=multimodal) for i, v in enumerate(req.inputs)
    ]
    for i, item in enumerate(items):
        if item.kind == "text":
            continue
        if item.uri is not None and dialect == "ai_studio":
            raise BadRequestError(
                f"input[{i}]: Google AI Studio does not read Cloud Storage URIs; pass the "
                f"{item.kind} inline (a data: URL or bytes)",
                model=req.model,
                param="input",
            )
        if not item.mime_type:
            raise BadRequestError(
                f"input[{i}]: cannot tell the {item.kind}'s type; add 'mime_type'",
                model=req.model,
                param="input",
            )
    return items


def _resolve(req: EmbeddingRequest, params: Mapping[str, Any], dialect: str) -> dict[str, Any]:
    multimodal = is_multimodal(req.model)
    task = task_type(req, params)
    out: dict[str, Any] = {}
    title = params.get("title")
    if title is not None and (not isinstance(title, str) or task != "RETRIEVAL_DOCUMENT"):
        raise BadRequestError(
            "title must be a string and goes with input_type='RETRIEVAL_DOCUMENT' "
            f"(model {req.model!r})",
            model=req.model,
            param="title",
        )
    if multimodal and req.input_type is not None and task is not None:
        if "task_type" in params:
            raise BadRequestError(
                f"{req.model!r} takes a task as a text prefix (input_type) or as the taskType "
                "field (task_type), not both",
                model=req.model,
                param="task_type",
            )
        out[_PREFIX] = PREFIXES.get(task) or f"title: {title or 'none'} | text: "
    else:
        if task is not None:
            out["taskType"] = task
        if title is not None:
            out["title"] = title
    auto = params.get("auto_truncate")
    if auto is not None:
        if not isinstance(auto, bool):
            raise BadRequestError(
                f"auto_truncate must be True or False, got {auto!r}",
                model=req.model,
                param="auto_truncate",
            )
        out["autoTruncate"] = auto
    return out


def check(req: EmbeddingRequest, *, dialect: str, drop_params: bool = False) -> EmbeddingRequest:
    """Validate ``req`` (before any I/O); the task handling is resolved into ``provider_params``."""
    _items(req, dialect)
    if req.encoding_format is not None and req.encoding_format not in ("float", "base64"):
        raise BadRequestError(
            f"encoding_format must be 'float' or 'base64', got {req.encoding_format!r}",
            model=req.model,
            param="encoding_format",
        )
    params = dict(req.provider_params)
    unknown = [k for k in sorted(params) if k not in _PARAMS]
    if dialect == "ai_studio" and "auto_truncate" in params:
        unknown.append("auto_truncate")  # no autoTruncate in the Gemini API's EmbedContentRequest
    if req.user is not None:
        unknown.insert(0, "user")
    refuse_or_drop(
        unknown,
        model=req.model,
        drop_params=drop_params,
        reason="not a Gemini embeddings parameter",
        hint="pass drop_params=True to drop it, or extra_body={...} to send a field as given",
        provider="gemini" if dialect == "ai_studio" else "vertex_ai",
    )
    kept = {k: v for k, v in params.items() if k not in unknown}
    resolved = _resolve(req, kept, dialect)
    return replace(req, input_type=None, user=None, provider_params=resolved)


# --------------------------------------------------------------------------- encode


def _parts(item: Item, prefix: str | None) -> list[dict[str, Any]]:
    if item.kind == "text":
        return [{"text": (prefix or "") + (item.text or "")}]
    if item.uri is not None:
        return [{"fileData": {"mimeType": item.mime_type, "fileUri": item.uri}}]
    return [{"inlineData": {"mimeType": item.mime_type, "data": item.data}}]


def _model_resource(model: str) -> str:
    return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"


def encode(req: EmbeddingRequest, *, dialect: str = "ai_studio") -> dict[str, Any]:
    """IR (already checked) -> ``BatchEmbedContentsRequest`` (AI Studio) or
    ``EmbedContentRequest`` (Vertex, one input)."""
    items = _items(req, dialect)
    params = req.provider_params
    prefix = params.get(_PREFIX)
    fields = {k: v for k, v in params.items() if k != _PREFIX}
    if req.dimensions is not None:
        fields["outputDimensionality"] = req.dimensions
    if dialect == "vertex":
        body: dict[str, Any] = {"content": {"parts": _parts(items[0], prefix)}}
        if fields:
            body["embedContentConfig"] = fields
    else:
        model = _model_resource(req.model)
        body = {
            "requests": [
                {"model": model, "content": {"parts": _parts(item, prefix)}, **fields}
                for item in items
            ]
        }
    body.update(req.extra_body)
    return body


# --------------------------------------------------------------------------- decode


def _values(raw: Any, where: str, provider: str) -> list[float]:
    values = raw.get("values") if isinstance(raw, Mapping) else None
    if type(values) is not list:
        raise InternalServerError(
            f"{provider} sent {where} without a values list", provider=provider
        )
    return values


def decode(body: Any, *, provider: str = "gemini") -> EmbeddingResult:
    """``BatchEmbedContentsResponse`` / ``EmbedContentResponse`` -> IR (vectors in order)."""
    if isinstance(body, Mapping) and "error" in body:
        err = body["error"]
        code = err.get("code") if isinstance(err, Mapping) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else 500
        raise error_from_response(status, body, provider=provider, model=None)
    if not isinstance(body, Mapping):
        raise InternalServerError(
            f"{provider} sent an embeddings answer that is not an object", provider=provider
        )
    if isinstance(body.get("embeddings"), list):
        vectors = [
            _values(e, f"embeddings[{i}]", provider) for i, e in enumerate(body["embeddings"])
        ]
    elif "embedding" in body:
        vectors = [_values(body["embedding"], "embedding", provider)]
    else:
        raise InternalServerError(
            f"{provider} sent an embeddings answer without embeddings", provider=provider
        )
    usage = None
    meta = body.get("usageMetadata")
    if isinstance(meta, Mapping) and isinstance(meta.get("promptTokenCount"), int):
        count = meta["promptTokenCount"]
        total = meta.get("totalTokenCount")
        usage = EmbeddingUsage(count, total if isinstance(total, int) else count)
    return EmbeddingResult("", vectors, usage, provider)
