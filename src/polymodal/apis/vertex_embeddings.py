"""Vertex AI embeddings over ``:predict``: pure check / encode / decode.

Dialects (chosen by :func:`dialect_for` from the model name):

* ``"text"``: the text-embedding models (``text-embedding-004/005``,
  ``text-multilingual-embedding-002``, the ``textembedding-gecko`` family, previews, tuned or
  custom models on an endpoint). Instances ``{"content", "task_type", "title"}``, parameters
  ``{"outputDimensionality", "autoTruncate"}``; at most 250 instances and about 20,000 input
  tokens per request (Google's limits), so long lists are split (:func:`batches`).
* ``"single"``: ``gemini-embedding-001``, the same body with one instance per request (Google:
  "gemini-embedding-001 supports one instance per request").
* ``"multimodal"``: ``multimodalembedding@001``. Each input becomes one instance carrying ONE of
  ``text``, ``image`` or ``video`` (the API embeds one media item per instance); one instance per
  request; ``dimensions`` -> ``parameters.dimension`` (128, 256, 512 or 1408; text and image only:
  video vectors are always 1408, so ``dimensions`` with a video input is refused).

Mappings: ``dimensions`` -> ``outputDimensionality``; ``input_type`` or the provider param
``task_type`` -> ``task_type`` (one of :data:`TASK_TYPES`, upper-cased; both given must agree);
``title`` (only with ``RETRIEVAL_DOCUMENT``, as Google documents) -> ``title`` on every instance;
``auto_truncate`` -> ``autoTruncate``. ``encoding_format`` only says how vectors travel and is
accepted as ``"float"`` or ``"base64"`` (results are always floats). Anything else is refused, or
dropped with ``drop_params=True``; ``extra_body`` is merged into the body as given.

Multimodal inputs (``polymodal.embedding(model="vertex_ai/multimodalembedding@001", input=[...])``),
one vector per item, in input order:

* a plain string is text, except that a whole ``gs://`` URI or ``data:`` URL is media (its type
  from the URI's extension or the data URL's mime type: ``image/*`` or ``video/*``), as the seed
  docs show (``input="gs://.../landmark1.png"``);
* ``{"text": "..."}`` (always text, even if it looks like a URI);
* ``{"image": "gs://..." | "data:image/...;base64,..." | bytes, "mime_type": optional}``
  (``mime_type`` matters to the Gemini embedding models, which need a type for each part;
  multimodalembedding reads the type from the bytes and is sent none);
* ``{"video": "gs://...mp4" | "data:video/...;base64,..." | bytes, "start_offset_sec": int,
  "end_offset_sec": int, "interval_sec": int}`` (the offsets become ``videoSegmentConfig``;
  camelCase keys are accepted too);
* ``polymodal.types.ImagePart`` / ``VideoPart`` (what the LangChain layer builds).

The same items serve the Gemini embedding models (:mod:`polymodal.apis.gemini_embeddings`).
Text models take strings and ``{"text": ...}`` only.

http(s) URLs are refused (the API reads only Cloud Storage URIs or inline bytes). A video is
answered with one vector per segment; polymodal returns their element-wise mean as the item's
vector (one vector per input, like every other item). For per-segment vectors, embed each segment
as its own item with ``start_offset_sec`` / ``end_offset_sec`` and ``interval_sec`` equal to the
segment length.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from polymodal._warn import refuse_or_drop
from polymodal.errors import (
    BadRequestError,
    InternalServerError,
    MediaFetchError,
    error_from_response,
)
from polymodal.media import guess_mime, parse_data_url, sniff_mime
from polymodal.types import (
    EmbeddingRequest,
    EmbeddingResult,
    EmbeddingUsage,
    ImagePart,
    VideoPart,
)

__all__ = [
    "MAX_REQUEST_TOKENS",
    "MULTIMODAL_DIMENSIONS",
    "TASK_TYPES",
    "TEXT_MAX_INSTANCES",
    "Item",
    "batches",
    "check",
    "decode",
    "dialect_for",
    "encode",
    "estimate_tokens",
    "max_inputs",
    "normalize_item",
    "task_type",
]

TASK_TYPES = (
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
)
TEXT_MAX_INSTANCES = 250  # "Each request is limited to 250 input texts"
MAX_REQUEST_TOKENS = 20_000  # "The API has a maximum input token limit of 20,000"
MULTIMODAL_DIMENSIONS = (128, 256, 512, 1408)
_ENCODING_FORMATS = ("float", "base64")
_TEXT_PARAMS = ("task_type", "title", "auto_truncate")
_SEGMENT_KEYS = {
    "start_offset_sec": "startOffsetSec",
    "end_offset_sec": "endOffsetSec",
    "interval_sec": "intervalSec",
}

Dialect = Literal["text", "single", "multimodal"]


def dialect_for(model: str) -> Dialect:
    """The predict dialect of a Vertex embedding model name (``@version`` allowed)."""
    name = model.rsplit("/", 1)[-1].lower()
    if name.startswith("multimodalembedding"):
        return "multimodal"
    if name.startswith("gemini-embedding-001"):
        return "single"
    return "text"


def max_inputs(dialect: str) -> int:
    """The most inputs one request may carry (longer lists are split by the caller)."""
    return TEXT_MAX_INSTANCES if dialect == "text" else 1


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Item:
    """One input, normalized: text, or one image / video (a ``gs://`` URI or base64 bytes)."""

    kind: Literal["text", "image", "video"]
    text: str | None = None
    uri: str | None = None
    data: str | None = None
    mime_type: str | None = None
    segment: tuple[tuple[str, int], ...] = ()  # videoSegmentConfig, camelCase keys


def _bad(message: str, model: str, param: str = "input") -> BadRequestError:
    return BadRequestError(message, model=model, param=param)


def _media_kind(mime: str | None) -> Literal["image", "video"] | None:
    if mime and mime.startswith("image/"):
        return "image"
    if mime and mime.startswith("video/"):
        return "video"
    return None


def _media_value(
    value: Any, kind: Literal["image", "video"], where: str, model: str
) -> tuple[str | None, str | None, str | None]:
    """(uri, base64 data, mime) for an image / video value."""
    if isinstance(value, bytes | bytearray):
        if not value:
            raise _bad(f"{where}: the {kind} bytes are empty", model)
        return None, base64.b64encode(bytes(value)).decode("ascii"), sniff_mime(bytes(value))
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{where}: the {kind} must be a gs:// URI, a data: URL or bytes", model)
    text = value.strip()
    lower = text[:8].lower()
    if lower.startswith("gs://"):
        if len(text) <= 5 or text[5] == "/":
            raise _bad(f"{where}: {text!r} names no Cloud Storage bucket", model)
        return text, None, guess_mime(text)
    if lower.startswith("data:"):
        try:
            mime, data = parse_data_url(text, param="input")
        except MediaFetchError as exc:
            raise _bad(f"{where}: {exc.message}", model) from None
        return None, data, mime
    if lower.startswith(("http://", "https://")):
        raise _bad(
            f"{where}: {model!r} reads {kind}s only from Cloud Storage (gs://...) or inline "
            f"bytes; download the {kind} and pass it as a data: URL or bytes, or copy it to a "
            "bucket",
            model,
        )
    raise _bad(
        f"{where}: expected a gs:// URI or a data: URL for the {kind}, got {text[:60]!r}", model
    )


def _segment(spec: Mapping[str, Any], where: str, model: str) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    for snake, camel in _SEGMENT_KEYS.items():
        value = spec.get(snake, spec.get(camel))
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _bad(
                f"{where}: {snake} must be a whole number of seconds >= 0, got {value!r}", model
            )
        out.append((camel, value))
    seg = dict(out)
    start, end = seg.get("startOffsetSec"), seg.get("endOffsetSec")
    if start is not None and end is not None and end <= start:
        raise _bad(
            f"{where}: end_offset_sec ({end}) must be after start_offset_sec ({start})", model
        )
    if seg.get("intervalSec") == 0:
        raise _bad(f"{where}: interval_sec must be at least 1", model)
    return tuple(out)


_DICT_KEYS = {
    "text": frozenset({"text"}),
    "image": frozenset({"image", "mime_type", "mimeType"}),
    "video": frozenset(
        {
            "video",
            "mime_type",
            "mimeType",
            "videoSegmentConfig",
            *_SEGMENT_KEYS,
            *_SEGMENT_KEYS.values(),
        }
    ),
}


def _from_mapping(value: Mapping[str, Any], where: str, model: str) -> Item:
    kinds = [k for k in ("text", "image", "video") if k in value]
    if len(kinds) != 1:
        raise _bad(
            f"{where}: an item must have exactly one of 'text', 'image' or 'video' (the API "
            f"embeds one thing per instance), got keys {sorted(value)}",
            model,
        )
    kind = kinds[0]
    unknown = sorted(set(value) - _DICT_KEYS[kind])
    if unknown:
        raise _bad(f"{where}: unknown key(s) {unknown} for a {kind} item", model)
    if kind == "text":
        text = value["text"]
        if not isinstance(text, str):
            raise _bad(f"{where}: 'text' must be a string, got {type(text).__name__}", model)
        return Item("text", text=text)
    media: Literal["image", "video"] = "image" if kind == "image" else "video"
    uri, data, mime = _media_value(value[kind], media, where, model)
    explicit = value.get("mime_type", value.get("mimeType"))
    if explicit is not None and not isinstance(explicit, str):
        raise _bad(f"{where}: mime_type must be a string", model)
    segment: tuple[tuple[str, int], ...] = ()
    if media == "video":
        spec = dict(value)
        nested = value.get("videoSegmentConfig")
        if isinstance(nested, Mapping):
            spec.update(nested)
        segment = _segment(spec, where, model)
    return Item(media, uri=uri, data=data, mime_type=explicit or mime, segment=segment)


def _from_string(value: str, where: str, model: str, detect_media: bool) -> Item:
    head = value.lstrip()[:5].lower()
    if not detect_media or head not in ("gs://", "data:"):
        return Item("text", text=value)
    uri, data, mime = _media_value(value, "image", where, model)
    kind = _media_kind(mime)
    if kind is None:
        raise _bad(
            f"{where}: cannot tell whether {value.strip()[:80]!r} is an image or a video (type "
            f"{mime or 'unknown'}); pass {{'image': ...}} or {{'video': ...}}, or "
            "{'text': ...} to embed it as text",
            model,
        )
    return Item(kind, uri=uri, data=data, mime_type=mime)


def normalize_item(value: Any, index: int, model: str, *, multimodal: bool) -> Item:
    """One ``input`` item -> :class:`Item` (raises ``BadRequestError`` naming ``input[index]``)."""
    where = f"input[{index}]"
    if isinstance(value, str):
        item = _from_string(value, where, model, multimodal)
    elif isinstance(value, Mapping):
        item = _from_mapping(value, where, model)
    elif isinstance(value, ImagePart | VideoPart):
        src = value.source
        kind: Literal["image", "video"] = "image" if isinstance(value, ImagePart) else "video"
        raw = (
            src.url
            if src.url is not None
            else (
                f"data:{src.mime_type or 'application/octet-stream'};base64,{src.data}"
                if src.data is not None
                else None
            )
        )
        if raw is None:
            raise _bad(f"{where}: the {kind} part has neither a URL nor data", model)
        uri, data, mime = _media_value(raw, kind, where, model)
        item = Item(kind, uri=uri, data=data, mime_type=src.mime_type or mime)
    elif isinstance(value, list):
        raise _bad(f"{where}: Vertex AI embeds text, not token ids; pass the text", model)
    else:
        raise _bad(
            f"{where}: expected a string, {{'text'|'image'|'video': ...}} or an image/video "
            f"part, got {type(value).__name__}",
            model,
        )
    if item.kind != "text" and not multimodal:
        raise _bad(
            f"{where}: model {model!r} embeds text only; use vertex_ai/multimodalembedding@001 "
            "(or a gemini-embedding-2 model) for images and video",
            model,
        )
    if item.kind == "text" and not (item.text or "").strip():
        raise _bad(f"{where}: the text is empty; remove it or embed a placeholder", model)
    return item


# --------------------------------------------------------------------------- check


def task_type(req: EmbeddingRequest, params: Mapping[str, Any]) -> str | None:
    """The task type from ``input_type`` and/or the ``task_type`` provider param, validated."""
    values = {
        name: v
        for name, v in (("input_type", req.input_type), ("task_type", params.get("task_type")))
        if v is not None
    }
    found: dict[str, str] = {}
    for name, value in values.items():
        if not isinstance(value, str) or value.strip().upper() not in TASK_TYPES:
            raise _bad(
                f"{name} must be one of {', '.join(TASK_TYPES)}; got {value!r}", req.model, name
            )
        found[name] = value.strip().upper()
    if len(set(found.values())) > 1:
        raise _bad(
            f"input_type={found['input_type']!r} and task_type={found['task_type']!r} "
            "disagree; pass one of them",
            req.model,
            "task_type",
        )
    return next(iter(found.values()), None)


def _check_text_params(req: EmbeddingRequest, params: dict[str, Any]) -> dict[str, Any]:
    task = task_type(req, params)
    out: dict[str, Any] = {}
    if task is not None:
        out["task_type"] = task
    title = params.get("title")
    if title is not None:
        if not isinstance(title, str):
            raise _bad(f"title must be a string, got {title!r}", req.model, "title")
        if task != "RETRIEVAL_DOCUMENT":
            raise _bad(
                "title applies only to documents: pass input_type='RETRIEVAL_DOCUMENT' (or "
                f"task_type=...) with it (model {req.model!r})",
                req.model,
                "title",
            )
        out["title"] = title
    auto = params.get("auto_truncate")
    if auto is not None:
        if not isinstance(auto, bool):
            raise _bad(
                f"auto_truncate must be True or False, got {auto!r}", req.model, "auto_truncate"
            )
        out["auto_truncate"] = auto
    return out


def check(req: EmbeddingRequest, *, dialect: str, drop_params: bool = False) -> EmbeddingRequest:
    """Validate ``req`` (before any I/O); returns it with the task type resolved into
    ``provider_params`` and dropped params removed."""
    multimodal = dialect == "multimodal"
    items = [
        normalize_item(v, i, req.model, multimodal=multimodal) for i, v in enumerate(req.inputs)
    ]
    if req.encoding_format is not None and req.encoding_format not in _ENCODING_FORMATS:
        raise _bad(
            f"encoding_format must be 'float' or 'base64', got {req.encoding_format!r}",
            req.model,
            "encoding_format",
        )
    params = dict(req.provider_params)
    unknown = [k for k in sorted(params) if k not in _TEXT_PARAMS]
    if req.user is not None:
        unknown.insert(0, "user")
    if multimodal:
        unknown += [k for k in _TEXT_PARAMS if k in params]
        if req.input_type is not None:
            unknown.insert(0, "input_type")
    refuse_or_drop(
        unknown,
        model=req.model,
        drop_params=drop_params,
        reason="not a Vertex AI embeddings parameter"
        + (" for the multimodal model" if multimodal else ""),
        hint="pass drop_params=True to drop it, or extra_body={...} to send a field as given",
        provider="vertex_ai",
    )
    kept = {k: v for k, v in params.items() if k not in unknown}
    if multimodal:
        _check_dimension(req, items)
        resolved: dict[str, Any] = {}
    else:
        resolved = _check_text_params(req, kept)
    return replace(req, input_type=None, user=None, provider_params=resolved)


def _check_dimension(req: EmbeddingRequest, items: list[Item]) -> None:
    if req.dimensions is None:
        return
    if req.dimensions not in MULTIMODAL_DIMENSIONS:
        raise _bad(
            f"dimensions must be one of {', '.join(map(str, MULTIMODAL_DIMENSIONS))} for "
            f"{req.model!r}, got {req.dimensions}",
            req.model,
            "dimensions",
        )
    if any(item.kind == "video" for item in items):
        raise _bad(
            "dimensions applies to text and images only: video vectors are always 1408 long, "
            "so the vectors of one call would differ in length; embed videos in a call without "
            "dimensions",
            req.model,
            "dimensions",
        )


# --------------------------------------------------------------------------- split


def estimate_tokens(text: str) -> int:
    """A generous token estimate (UTF-8 bytes / 3): above the real count for English (about 4
    characters a token) and about equal for CJK (3 bytes, about one token, a character)."""
    return len(text.encode("utf-8")) // 3 + 1


def batches(req: EmbeddingRequest, dialect: str) -> list[EmbeddingRequest]:
    """``req`` split under the per-request limits: :func:`max_inputs` items and, for the text
    models, :data:`MAX_REQUEST_TOKENS` estimated tokens (an item above it goes alone)."""
    size = max_inputs(dialect)
    inputs = req.inputs
    if dialect != "text":
        return [replace(req, inputs=inputs[i : i + size]) for i in range(0, len(inputs), size)]
    out: list[EmbeddingRequest] = []
    start, tokens = 0, 0
    for i, value in enumerate(inputs):
        cost = estimate_tokens(value) if isinstance(value, str) else 1
        if i > start and (i - start >= size or tokens + cost > MAX_REQUEST_TOKENS):
            out.append(replace(req, inputs=inputs[start:i]))
            start, tokens = i, 0
        tokens += cost
    out.append(replace(req, inputs=inputs[start:]))
    return out


# --------------------------------------------------------------------------- encode


def _media_field(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if item.uri is not None:
        out["gcsUri"] = item.uri
    else:
        out["bytesBase64Encoded"] = item.data
    return out


def _multimodal_instance(item: Item) -> dict[str, Any]:
    if item.kind == "text":
        return {"text": item.text}
    media = _media_field(item)
    if item.kind == "image":
        return {"image": media}
    if item.segment:
        media["videoSegmentConfig"] = dict(item.segment)
    return {"video": media}


def encode(req: EmbeddingRequest, *, dialect: str = "text") -> dict[str, Any]:
    """IR (already checked) -> ``PredictRequest`` body."""
    parameters: dict[str, Any] = {}
    if dialect == "multimodal":
        items = [normalize_item(v, i, req.model, multimodal=True) for i, v in enumerate(req.inputs)]
        instances = [_multimodal_instance(item) for item in items]
        if req.dimensions is not None:
            parameters["dimension"] = req.dimensions
    else:
        extra: dict[str, Any] = {
            k: req.provider_params[k] for k in ("task_type", "title") if k in req.provider_params
        }
        instances = [{"content": _text(v), **extra} for v in req.inputs]
        if req.dimensions is not None:
            parameters["outputDimensionality"] = req.dimensions
        if "auto_truncate" in req.provider_params:
            parameters["autoTruncate"] = req.provider_params["auto_truncate"]
    body: dict[str, Any] = {"instances": instances}
    if parameters:
        body["parameters"] = parameters
    body.update(req.extra_body)
    return body


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("text"), str):
        return str(value["text"])
    raise TypeError(f"not a text input: {type(value).__name__}")  # check() let it through


# --------------------------------------------------------------------------- decode


def _floats(raw: Any, where: str, provider: str) -> list[float]:
    if type(raw) is list and all(isinstance(x, int | float) for x in raw[:1]):
        return raw
    if isinstance(raw, str):  # not sent by Google today; read it the way OpenAI sends base64
        from polymodal.apis.openai_embeddings import floats_from_base64

        try:
            return floats_from_base64(raw)
        except (ValueError, binascii.Error):
            pass
    raise InternalServerError(
        f"{provider} sent {where} that is not a list of numbers", provider=provider
    )


def _mean(vectors: list[list[float]]) -> list[float]:
    if len(vectors) == 1:
        return vectors[0]
    n = len(vectors)
    return [math.fsum(column) / n for column in zip(*vectors, strict=True)]


def _prediction_vector(pred: Any, i: int, provider: str) -> tuple[list[float], int | None]:
    """(vector, token count) of one prediction."""
    where = f"predictions[{i}]"
    if not isinstance(pred, Mapping):
        raise InternalServerError(
            f"{provider} sent {where} that is not an object", provider=provider
        )
    emb = pred.get("embeddings")
    if isinstance(emb, Mapping):
        stats = emb.get("statistics")
        count = stats.get("token_count") if isinstance(stats, Mapping) else None
        return _floats(emb.get("values"), f"{where}.embeddings.values", provider), (
            count if isinstance(count, int) else None
        )
    for key in ("textEmbedding", "imageEmbedding"):
        if key in pred:
            return _floats(pred[key], f"{where}.{key}", provider), None
    segments = pred.get("videoEmbeddings")
    if isinstance(segments, list) and segments:
        vectors = [
            _floats(
                s.get("embedding") if isinstance(s, Mapping) else None,
                f"{where}.videoEmbeddings[{k}].embedding",
                provider,
            )
            for k, s in enumerate(segments)
        ]
        return _mean(vectors), None
    raise InternalServerError(
        f"{provider} sent {where} without an embedding (keys: {sorted(pred)[:6]})",
        provider=provider,
    )


def decode(body: Any, *, provider: str = "vertex_ai") -> EmbeddingResult:
    """``PredictResponse`` -> IR: one vector per prediction, in order; usage from
    ``statistics.token_count`` when the model reports it."""
    if isinstance(body, Mapping) and "error" in body:
        err = body["error"]
        code = err.get("code") if isinstance(err, Mapping) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else 500
        raise error_from_response(status, body, provider=provider, model=None)
    predictions = body.get("predictions") if isinstance(body, Mapping) else None
    if not isinstance(predictions, list):
        raise InternalServerError(
            f"{provider} sent an embeddings answer without predictions", provider=provider
        )
    vectors: list[list[float]] = []
    counts: list[int] = []
    for i, pred in enumerate(predictions):
        vector, count = _prediction_vector(pred, i, provider)
        vectors.append(vector)
        if count is not None:
            counts.append(count)
    usage = EmbeddingUsage(sum(counts), sum(counts)) if counts else None
    return EmbeddingResult("", vectors, usage, provider)  # the flow names the model
