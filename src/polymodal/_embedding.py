"""The embeddings flow: parse -> route -> check -> split into batches -> send -> decode -> join.

``prepare_embedding`` does everything that can fail before I/O. Inputs longer than the wire
format's per-request limit (``api.max_inputs``; OpenAI: 2,048) are sent in batches whose vectors
are re-joined in input order, with usage summed; the async path sends batches concurrently.
``run_embedding`` / ``arun_embedding`` return the IR so the LangChain layer can skip the
OpenAI-object rendering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from polymodal import http, routing
from polymodal._chat import _attributed
from polymodal.errors import BadRequestError, InternalServerError
from polymodal.options import CallOptions, pop_options
from polymodal.providers import Target, target
from polymodal.results import EmbeddingResponse, EmbeddingUsage, embeddings
from polymodal.types import (
    AudioPart,
    EmbeddingItem,
    EmbeddingRequest,
    EmbeddingResult,
    FilePart,
    ImagePart,
    VideoPart,
)
from polymodal.types import EmbeddingUsage as IRUsage

MAX_CONCURRENT_BATCHES = 4
_MEDIA = (ImagePart, AudioPart, VideoPart, FilePart)


# --------------------------------------------------------------------------- parse


def _bad(message: str, model: str, param: str) -> BadRequestError:
    return BadRequestError(message, model=model, param=param)


def _is_tokens(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(type(t) is int for t in value)  # bool is not a token id
    )


def parse_inputs(value: Any, label: str) -> tuple[list[EmbeddingItem], bool]:
    """``input`` in OpenAI's shapes -> (items, whether one item was given alone)."""
    if isinstance(value, str):
        return [value], True
    if not isinstance(value, list | tuple) or not value:
        raise _bad(
            "input must be a string, a non-empty list of strings, or token ids "
            f"(list of ints or list of lists of ints), got {type(value).__name__}"
            + (" (empty)" if isinstance(value, list | tuple) else ""),
            label,
            "input",
        )
    items = list(value)
    if all(type(x) is str for x in items):  # the common case, checked fast
        return items, False
    if all(type(x) is int for x in items):
        return [items], True
    for i, x in enumerate(items):
        if isinstance(x, Mapping):
            # A multimodal item ({"image": "gs://..."}): the wire format checks its keys.
            items[i] = dict(x)
        elif not (isinstance(x, (str, *_MEDIA)) or _is_tokens(x)):
            raise _bad(
                f"input[{i}] must be a string, a non-empty list of token ids or a multimodal item "
                f"({{'text' | 'image' | 'video': ...}}), got {x!r:.80}",
                label,
                "input",
            )
    return items, False


def parse_embedding(
    model: str, value: Any, params: Mapping[str, Any], *, model_label: str | None = None
) -> EmbeddingRequest:
    """OpenAI-format embedding arguments -> :class:`EmbeddingRequest` (raises before any I/O)."""
    label = model_label or model
    inputs, scalar = parse_inputs(value, label)
    params = dict(params)
    dimensions = params.pop("dimensions", None)
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise _bad(f"dimensions must be a positive integer, got {dimensions!r}", label,
                   "dimensions")  # fmt: skip
    input_type = params.pop("input_type", None)
    encoding_format = params.pop("encoding_format", None)
    user = params.pop("user", None)
    for name, v in (("input_type", input_type), ("encoding_format", encoding_format),
                    ("user", user)):  # fmt: skip
        if v is not None and not isinstance(v, str):
            raise _bad(f"{name} must be a string, got {v!r}", label, name)
    extra_body = params.pop("extra_body", None) or {}
    if not isinstance(extra_body, Mapping):
        raise _bad("extra_body must be an object", label, "extra_body")
    return EmbeddingRequest(
        model=model,
        inputs=inputs,
        scalar=scalar,
        dimensions=dimensions,
        input_type=input_type,
        encoding_format=encoding_format,
        user=user,
        provider_params={k: v for k, v in params.items() if v is not None},
        extra_body=dict(extra_body),
    )


# --------------------------------------------------------------------------- prepare


@dataclass(slots=True)
class PreparedEmbedding:
    route: routing.Route
    options: CallOptions
    request: EmbeddingRequest
    target: Target

    def batches(self) -> list[EmbeddingRequest]:
        """The request split at the wire format's per-request input limit."""
        req = self.request
        split = getattr(self.target.api, "batches", None)
        if split is not None:  # formats with more limits than a count (Vertex: tokens per call)
            batches: list[EmbeddingRequest] = split(req, self.target.dialect)
            return batches
        size = self.target.api.max_inputs(self.target.dialect)
        if len(req.inputs) <= size:
            return [req]
        return [
            replace(req, inputs=req.inputs[i : i + size]) for i in range(0, len(req.inputs), size)
        ]

    def http_request(self, req: EmbeddingRequest) -> http.HTTPRequest:
        return self.target.endpoint.post(
            self.target.api.encode(req, dialect=self.target.dialect), self.route
        )

    def decode(self, body: Any, sent: EmbeddingRequest) -> EmbeddingResult:
        with _attributed(self.route):
            result: EmbeddingResult = self.target.api.decode(body, provider=self.route.provider)
        result.model = result.model or self.route.model  # Google's answers name no model
        if len(result.vectors) != len(sent.inputs):
            raise InternalServerError(
                f"{self.route.provider} returned {len(result.vectors)} embeddings for "
                f"{len(sent.inputs)} inputs",
                provider=self.route.provider,
                model=self.route.model,
            )
        return result


def prepare_embedding(
    model: str,
    value: Any,
    params: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any] | None = None,
) -> PreparedEmbedding:
    """Validate, route and build everything for an embeddings call; raises before any I/O."""
    params = dict(params)
    opts = pop_options(params, defaults)
    route = routing.resolve(model, custom_llm_provider=opts.custom_llm_provider)
    with _attributed(route):
        req = parse_embedding(route.model, value, params, model_label=route.model_string)
        found = target(route, "embeddings", opts)
        req = found.api.check(req, dialect=found.dialect, drop_params=opts.drop_params)
    return PreparedEmbedding(route, opts, req, found)


# --------------------------------------------------------------------------- run


def join(results: Sequence[EmbeddingResult]) -> EmbeddingResult:
    """Batch results (in batch order) -> one result: vectors concatenated, usage summed."""
    if len(results) == 1:
        return results[0]
    first = results[0]
    vectors = [v for r in results for v in r.vectors]
    usages = [r.usage for r in results if r.usage is not None]
    usage = None
    if usages:
        usage = IRUsage(sum(u.prompt_tokens for u in usages), sum(u.total_tokens for u in usages))
    return EmbeddingResult(
        first.model, vectors, usage, first.provider, first.provider_specific_fields
    )


def _send(prepared: PreparedEmbedding, req: EmbeddingRequest) -> EmbeddingResult:
    sent = prepared.http_request(req)
    opts = prepared.options
    body = http.send_json(sent, timeout=opts.effective_timeout,
                          max_retries=opts.effective_max_retries, client=opts.client)  # fmt: skip
    return prepared.decode(body, req)


async def _asend(
    prepared: PreparedEmbedding, req: EmbeddingRequest, gate: asyncio.Semaphore
) -> EmbeddingResult:
    sent = prepared.http_request(req)
    opts = prepared.options
    async with gate:
        resp = await http.asend(sent, timeout=opts.effective_timeout,
                                max_retries=opts.effective_max_retries, client=opts.client)  # fmt: skip
    return prepared.decode(http.parse_json(resp, sent), req)


def run_embedding(prepared: PreparedEmbedding) -> EmbeddingResult:
    return join([_send(prepared, batch) for batch in prepared.batches()])


async def arun_embedding(prepared: PreparedEmbedding) -> EmbeddingResult:
    batches = prepared.batches()
    if len(batches) == 1:
        return await _asend(prepared, batches[0], asyncio.Semaphore(1))
    gate = asyncio.Semaphore(MAX_CONCURRENT_BATCHES)
    return join(await asyncio.gather(*(_asend(prepared, b, gate) for b in batches)))


def render_embedding(result: EmbeddingResult) -> EmbeddingResponse:
    """IR -> ``EmbeddingResponse`` (constructed without re-validating every float)."""
    data = embeddings(result.vectors)
    usage = None
    if result.usage is not None:
        usage = EmbeddingUsage.model_construct(
            prompt_tokens=result.usage.prompt_tokens, total_tokens=result.usage.total_tokens
        )
    return EmbeddingResponse.model_construct(
        object="list",
        data=data,
        model=result.model,
        usage=usage,
        provider_specific_fields=result.provider_specific_fields or None,
    )


__all__ = [
    "PreparedEmbedding",
    "arun_embedding",
    "join",
    "parse_embedding",
    "parse_inputs",
    "prepare_embedding",
    "render_embedding",
    "run_embedding",
]
