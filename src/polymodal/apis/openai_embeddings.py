"""The OpenAI Embeddings wire format (``POST /embeddings``): pure check / encode / decode.

Used by OpenAI, Azure OpenAI and OpenAI-compatible servers (``dialect`` ``"openai"``,
``"azure"`` or ``"compatible"``).

Transfer: unless the user names ``encoding_format``, the body asks for ``"base64"`` (as
OpenAI's own SDK does for every server): each vector then travels as little-endian float32
bytes, 2.7x fewer bytes than float JSON and 4.5x faster to decode here (2,000 x 1,536
floats: 190 ms against 845 ms for ``json.loads`` of the float form, measured with the stdlib
only). A server that ignores the request and sends floats is read just the same. The caller
always gets ``list[float]``.
"""

from __future__ import annotations

import binascii
import sys
from array import array
from dataclasses import replace
from typing import Any

from polymodal._warn import warn_dropped
from polymodal.errors import (
    BadRequestError,
    InternalServerError,
    UnsupportedParamsError,
    error_from_response,
)
from polymodal.types import EmbeddingRequest, EmbeddingResult, EmbeddingUsage

OFFICIAL = frozenset({"openai", "azure"})
MAX_INPUTS = 2048  # OpenAI: "any array must be 2048 dimensions or less"
ENCODING_FORMATS = frozenset({"float", "base64"})
# Models that take no ``dimensions`` ("Only supported in text-embedding-3 and later models").
_FIXED_SIZE_PREFIXES = ("text-embedding-ada-002", "text-similarity-", "text-search-")
_BIG_ENDIAN = sys.byteorder == "big"


def max_inputs(dialect: str) -> int:
    """The most inputs one request may carry (longer lists are split by the caller)."""
    return MAX_INPUTS


# --------------------------------------------------------------------------- check


def _refuse(param: str, message: str, model: str) -> UnsupportedParamsError:
    return UnsupportedParamsError(message, model=model, param=param)


def _check_items(req: EmbeddingRequest, dialect: str, allow_token_ids: bool) -> None:
    for i, item in enumerate(req.inputs):
        if isinstance(item, str):
            if not item and dialect in OFFICIAL:
                raise BadRequestError(
                    f"input[{i}] is an empty string, which {dialect} rejects (model "
                    f"{req.model!r}); remove it or replace it with a placeholder",
                    model=req.model,
                    param="input",
                )
        elif isinstance(item, list):
            if dialect not in OFFICIAL and not allow_token_ids:
                raise _refuse(
                    "input",
                    f"input[{i}] is a list of token ids: OpenAI and Azure take them, but many "
                    f"OpenAI-compatible servers reject them or tokenize differently (model "
                    f"{req.model!r}); send text, or pass allow_token_ids=True if your server "
                    "takes token ids from the model's own tokenizer",
                    req.model,
                )
        else:
            raise BadRequestError(
                f"input[{i}]: model {req.model!r} embeds text (or token ids), not "
                f"{type(item).__name__}; use a multimodal embedding model for media",
                model=req.model,
                param="input",
            )


def check(req: EmbeddingRequest, *, dialect: str, drop_params: bool = False) -> EmbeddingRequest:
    """Validate ``req`` for this format (before any I/O); returns it with dropped params removed.

    ``allow_token_ids=True`` (a provider param, never sent) lets token-id inputs through to a
    compatible server.
    """
    params = dict(req.provider_params)
    allow_token_ids = bool(params.pop("allow_token_ids", False))
    _check_items(req, dialect, allow_token_ids)
    if req.encoding_format is not None and req.encoding_format not in ENCODING_FORMATS:
        raise BadRequestError(
            f"encoding_format must be 'float' or 'base64', got {req.encoding_format!r}",
            model=req.model,
            param="encoding_format",
        )
    problems: list[tuple[str, str]] = []  # (param, why)
    if req.input_type is not None:
        problems.append(("input_type", "not an OpenAI embeddings parameter (Vertex AI takes it)"))
    problems.extend((k, "not an OpenAI embeddings parameter") for k in sorted(params))
    if (
        req.dimensions is not None
        and dialect in OFFICIAL
        and req.model.startswith(_FIXED_SIZE_PREFIXES)
    ):
        problems.append(("dimensions", "only text-embedding-3 and later models take it"))
    if problems and not drop_params:
        param, why = problems[0]
        raise _refuse(
            param,
            f"{param}: {why} (model {req.model!r}); pass drop_params=True to drop it, or "
            "extra_body={...} to send a server-specific field as given",
            req.model,
        )
    names = {param for param, _ in problems}
    if names:
        warn_dropped(names, req.model, "not taken by the OpenAI embeddings API")
    return replace(
        req,
        input_type=None,
        dimensions=None if "dimensions" in names else req.dimensions,
        provider_params={},
    )


# --------------------------------------------------------------------------- encode


def encode(req: EmbeddingRequest, *, dialect: str = "openai") -> dict[str, Any]:
    """IR (already checked) -> ``CreateEmbeddingRequest`` body. One item given alone is sent
    alone (a string, or one token list), as the user wrote it."""
    body: dict[str, Any] = {
        "model": req.model,
        "input": req.inputs[0] if req.scalar else req.inputs,
        "encoding_format": req.encoding_format or "base64",
    }
    if req.dimensions is not None:
        body["dimensions"] = req.dimensions
    if req.user is not None:
        body["user"] = req.user
    if req.extra_body:
        body.update(req.extra_body)
    return body


# --------------------------------------------------------------------------- decode


def floats_from_base64(data: str) -> list[float]:
    """Little-endian float32 bytes, base64-encoded -> floats (stdlib only, no numpy)."""
    raw = binascii.a2b_base64(data)
    if len(raw) % 4:
        raise ValueError(f"{len(raw)} bytes is not a whole number of float32 values")
    values = array("f")
    values.frombytes(raw)
    if _BIG_ENDIAN:
        values.byteswap()
    return values.tolist()


def _vector(raw: Any, position: int, provider: str, model: str) -> list[float]:
    if type(raw) is list:
        return raw
    if isinstance(raw, str):
        try:
            return floats_from_base64(raw)
        except (ValueError, binascii.Error) as exc:
            reason = str(exc)
    else:
        reason = f"got {type(raw).__name__}"
    raise InternalServerError(
        f"{provider} sent an embedding (data[{position}]) that is neither floats nor base64 "
        f"float32: {reason}",
        provider=provider,
        model=model,
    )


_RESPONSE_FIELDS = frozenset({"object", "data", "model", "usage"})


def decode(body: Any, *, provider: str = "openai") -> EmbeddingResult:
    """``CreateEmbeddingResponse`` -> IR, vectors sorted by ``index`` (input order)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        if isinstance(body, dict) and "error" in body:
            err = body["error"]
            code = err.get("code") if isinstance(err, dict) else None
            status = code if isinstance(code, int) and 400 <= code < 600 else 500
            raise error_from_response(status, body, provider=provider, model=body.get("model"))
        raise InternalServerError(
            f"{provider} sent an embeddings answer without a data list",
            provider=provider,
        )
    model = body.get("model") or ""
    items = body["data"]
    try:
        if not all(item.get("index", i) == i for i, item in enumerate(items)):
            items = sorted(items, key=lambda item: item.get("index") or 0)
    except (AttributeError, TypeError):
        raise InternalServerError(
            f"{provider} sent embeddings data items that are not objects with an integer index",
            provider=provider,
            model=model,
        ) from None
    vectors = [_vector(item.get("embedding"), i, provider, model) for i, item in enumerate(items)]
    raw_usage = body.get("usage")
    usage = None
    if isinstance(raw_usage, dict):
        prompt = raw_usage.get("prompt_tokens") or 0
        usage = EmbeddingUsage(prompt, raw_usage.get("total_tokens") or prompt)
    extra = {k: v for k, v in body.items() if k not in _RESPONSE_FIELDS and v is not None}
    return EmbeddingResult(model, vectors, usage, provider, extra)


__all__ = [
    "ENCODING_FORMATS",
    "MAX_INPUTS",
    "check",
    "decode",
    "encode",
    "floats_from_base64",
    "max_inputs",
]
