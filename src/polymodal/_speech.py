"""The text-to-speech flow: parse -> route -> check -> encode -> send -> decode -> render.

The answer is binary: it is read with ``polymodal.http.send`` / ``asend`` (the whole
``httpx.Response``), and the wire format's ``decode`` takes the bytes and the
``Content-Type``. ``run_speech`` / ``arun_speech`` return the IR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from polymodal import http, routing
from polymodal._chat import _attributed
from polymodal.errors import BadRequestError
from polymodal.options import CallOptions, pop_options
from polymodal.providers import Target, target
from polymodal.results import SpeechResponse
from polymodal.types import SpeechRequest, SpeechResult

_FIELDS = ("voice", "response_format", "speed", "instructions")


def parse_speech(
    model: str, text: Any, params: Mapping[str, Any], *, model_label: str | None = None
) -> SpeechRequest:
    """OpenAI-format speech arguments -> :class:`SpeechRequest`; other keys become ``params``."""
    label = model_label or model
    if not isinstance(text, str) or not text:
        raise BadRequestError("input must be a non-empty string (the text to speak)",
                              model=label, param="input")  # fmt: skip
    rest = {k: v for k, v in params.items() if v is not None}
    extra_body = rest.pop("extra_body", None) or {}
    if not isinstance(extra_body, Mapping):
        raise BadRequestError("extra_body must be an object", model=label, param="extra_body")
    fields = {k: rest.pop(k) for k in _FIELDS if k in rest}
    return SpeechRequest(model=model, input=text, **fields, params=rest,
                         extra_body=dict(extra_body))  # fmt: skip


@dataclass(slots=True)
class PreparedSpeech:
    route: routing.Route
    options: CallOptions
    request: SpeechRequest
    target: Target

    def http_request(self) -> http.HTTPRequest:
        return self.target.endpoint.post(
            self.target.api.encode(self.request, dialect=self.target.dialect), self.route
        )

    def decode(self, resp: httpx.Response) -> SpeechResult:
        with _attributed(self.route):
            result: SpeechResult = self.target.api.decode(
                resp.content,
                resp.headers.get("content-type"),
                self.request,
                provider=self.route.provider,
            )
        return result


def prepare_speech(
    model: str,
    text: Any,
    params: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any] | None = None,
) -> PreparedSpeech:
    """Validate, route and build everything for a speech call; raises before any I/O."""
    params = dict(params)
    opts = pop_options(params, defaults)
    route = routing.resolve(model, custom_llm_provider=opts.custom_llm_provider)
    with _attributed(route):
        req = parse_speech(route.model, text, params, model_label=route.model_string)
        found = target(route, "speech", opts)
        req = found.api.check(req, dialect=found.dialect, drop_params=opts.drop_params)
    return PreparedSpeech(route, opts, req, found)


def run_speech(prepared: PreparedSpeech) -> SpeechResult:
    req = prepared.http_request()
    opts = prepared.options
    resp = http.send(req, timeout=opts.effective_timeout,
                     max_retries=opts.effective_max_retries, client=opts.client)  # fmt: skip
    return prepared.decode(resp)


async def arun_speech(prepared: PreparedSpeech) -> SpeechResult:
    req = prepared.http_request()
    opts = prepared.options
    resp = await http.asend(req, timeout=opts.effective_timeout,
                            max_retries=opts.effective_max_retries, client=opts.client)  # fmt: skip
    return prepared.decode(resp)


def render_speech(result: SpeechResult) -> SpeechResponse:
    return SpeechResponse.model_construct(
        content=result.content,
        mime_type=result.mime_type,
        response_format=result.response_format,
        model=result.model or None,
    )


__all__ = [
    "PreparedSpeech",
    "arun_speech",
    "parse_speech",
    "prepare_speech",
    "render_speech",
    "run_speech",
]
