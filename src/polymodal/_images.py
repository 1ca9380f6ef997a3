"""The image-generation flow: parse -> route -> check -> encode -> send -> decode -> render.

``prepare_images`` does everything that can fail before I/O (per-model rules live in the wire
format's ``check``); ``run_images`` / ``arun_images`` return the IR so the LangChain layer can
skip the OpenAI-object rendering.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from polymodal import http, routing
from polymodal._chat import _attributed
from polymodal.errors import BadRequestError
from polymodal.options import CallOptions, pop_options
from polymodal.providers import Target, target
from polymodal.results import Image, ImageResponse
from polymodal.types import ImageRequest, ImageResult

DEFAULT_MODEL = "openai/gpt-image-1"  # the image-generation docs' default
_FIELDS = ("n", "size", "quality", "style", "response_format", "user")
# Response keys with a field of their own on ImageResponse.
_TOP_LEVEL = ("background", "output_format", "quality", "size")


def parse_images(
    model: str, prompt: Any, params: Mapping[str, Any], *, model_label: str | None = None
) -> ImageRequest:
    """OpenAI-format image arguments -> :class:`ImageRequest`; other keys become ``params``."""
    label = model_label or model
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequestError("prompt must be a non-empty string describing the image",
                              model=label, param="prompt")  # fmt: skip
    rest = {k: v for k, v in params.items() if v is not None}
    extra_body = rest.pop("extra_body", None) or {}
    if not isinstance(extra_body, Mapping):
        raise BadRequestError("extra_body must be an object", model=label, param="extra_body")
    fields = {k: rest.pop(k) for k in _FIELDS if k in rest}
    return ImageRequest(model=model, prompt=prompt, **fields, params=rest,
                        extra_body=dict(extra_body))  # fmt: skip


@dataclass(slots=True)
class PreparedImages:
    route: routing.Route
    options: CallOptions
    request: ImageRequest
    target: Target

    def http_request(self) -> http.HTTPRequest:
        return self.target.endpoint.post(
            self.target.api.encode(self.request, dialect=self.target.dialect), self.route
        )

    def decode(self, body: Any) -> ImageResult:
        with _attributed(self.route):
            result: ImageResult = self.target.api.decode(body, provider=self.route.provider)
        result.model = result.model or self.route.model
        result.created = result.created or int(time.time())  # Imagen's answers carry no time
        return result


def prepare_images(
    prompt: Any,
    model: str | None,
    params: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any] | None = None,
) -> PreparedImages:
    """Validate, route and build everything for an image call; raises before any I/O."""
    params = dict(params)
    opts = pop_options(params, defaults)
    route = routing.resolve(model or DEFAULT_MODEL, custom_llm_provider=opts.custom_llm_provider)
    with _attributed(route):
        req = parse_images(route.model, prompt, params, model_label=route.model_string)
        found = target(route, "images", opts)
        req = found.api.check(req, dialect=found.dialect, drop_params=opts.drop_params)
    return PreparedImages(route, opts, req, found)


def run_images(prepared: PreparedImages) -> ImageResult:
    req = prepared.http_request()
    opts = prepared.options
    body = http.send_json(req, timeout=opts.effective_timeout,
                          max_retries=opts.effective_max_retries, client=opts.client)  # fmt: skip
    return prepared.decode(body)


async def arun_images(prepared: PreparedImages) -> ImageResult:
    req = prepared.http_request()
    opts = prepared.options
    resp = await http.asend(req, timeout=opts.effective_timeout,
                            max_retries=opts.effective_max_retries, client=opts.client)  # fmt: skip
    return prepared.decode(http.parse_json(resp, req))


def render_images(result: ImageResult) -> ImageResponse:
    """IR -> ``ImageResponse`` (OpenAI's ``ImagesResponse`` shape)."""
    data = [
        Image.model_construct(url=i.url, b64_json=i.b64_json, revised_prompt=i.revised_prompt)
        for i in result.images
    ]
    extra = dict(result.provider_specific_fields)
    top = {k: extra.pop(k) for k in _TOP_LEVEL if k in extra}
    return ImageResponse.model_construct(
        created=result.created,
        data=data,
        usage=result.usage,
        **top,
        provider_specific_fields=extra or None,
    )


__all__ = [
    "DEFAULT_MODEL",
    "PreparedImages",
    "arun_images",
    "parse_images",
    "prepare_images",
    "render_images",
    "run_images",
]
