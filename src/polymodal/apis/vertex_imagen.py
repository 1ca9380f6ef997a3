"""Vertex AI Imagen (``POST .../publishers/google/models/{m}:predict``): pure check / encode /
decode.

Models: ``imagegeneration@002/005/006``, ``imagen-3.0-generate-001/002``,
``imagen-3.0-fast-generate-001``, ``imagen-4.0-*`` (:func:`is_imagen`).

Body: ``{"instances": [{"prompt": ...}], "parameters": {"sampleCount": n, ...}}``.

* ``n`` -> ``sampleCount`` (1-4; 1-8 for ``imagegeneration@002``); when ``n`` is not given,
  ``sampleCount: 1`` is sent, OpenAI's default (Imagen's own default is up to 4 images).
* ``size`` (``"WIDTHxHEIGHT"``) -> ``aspectRatio``: the supported ratio (``1:1``, ``9:16``,
  ``16:9``, ``3:4``, ``4:3``) nearest to width/height on a log scale: 1024x1024 -> 1:1,
  1792x1024 -> 16:9, 1024x1792 -> 9:16, 1536x1024 -> 4:3, 1024x1536 -> 3:4. Imagen decides the
  pixel size itself; ``"auto"`` sends no ratio. An ``aspectRatio`` / ``aspect_ratio`` param is
  sent as given (it must agree with ``size`` when both are given).
* ``response_format="b64_json"`` is what Imagen returns anyway; ``"url"`` is refused (Imagen
  returns bytes; pass ``storage_uri="gs://..."`` to have Google write the files and get their
  ``gs://`` URLs), or dropped with ``drop_params``. ``quality``, ``style`` and ``user`` have no
  Imagen equivalent: refused, or dropped with ``drop_params``.
* Provider params go into ``parameters`` as given, camelCase or snake_case
  (:data:`PARAM_NAMES`: ``negative_prompt`` -> ``negativePrompt``, ``seed``, ``add_watermark``,
  ``safety_setting`` / ``safety_filter_level`` -> ``safetySetting``, ``person_generation``,
  ``enhance_prompt``, ``language``, ``guidance_scale``, ``include_rai_reason``,
  ``include_safety_attributes``, ``sample_image_size`` / ``image_size``, ``storage_uri`` /
  ``output_gcs_uri``); ``output_mime_type`` / ``output_format`` (``png`` / ``jpeg``) and
  ``output_compression_quality`` / ``output_compression`` -> ``outputOptions``; ``labels``
  -> the request's top-level ``labels``. Unknown names are sent as given (Imagen's parameters
  are model specific); ``personGeneration`` and ``safetySetting`` values are checked (Google's
  values, any case), and ``seed`` needs ``add_watermark=False`` on the watermarking models
  (Google: no seed while ``addWatermark`` is on, its default since ``imagegeneration@006``).

Answer: ``predictions[].bytesBase64Encoded`` -> ``b64_json`` with ``mimeType``;
``gcsUri`` (with a storage URI) -> ``url``; an enhanced prompt -> ``revised_prompt``.
Images the safety filters removed leave ``raiFilteredReason`` entries (with
``include_rai_reason``), kept in ``provider_specific_fields["rai_filtered_reasons"]``; an answer
with no image at all raises ``ContentPolicyViolationError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from polymodal._warn import refuse_or_drop
from polymodal.apis.openai_images import sniff_mime
from polymodal.errors import (
    BadRequestError,
    ContentPolicyViolationError,
    InternalServerError,
    error_from_response,
)
from polymodal.types import GeneratedImage, ImageRequest, ImageResult

__all__ = [
    "ASPECT_RATIOS",
    "PARAM_NAMES",
    "aspect_ratio",
    "check",
    "decode",
    "encode",
    "is_imagen",
    "max_images",
    "watermarks",
]

ASPECT_RATIOS = {"1:1": 1.0, "9:16": 9 / 16, "16:9": 16 / 9, "3:4": 3 / 4, "4:3": 4 / 3}
PARAM_NAMES = {
    "negative_prompt": "negativePrompt",
    "seed": "seed",
    "add_watermark": "addWatermark",
    "safety_setting": "safetySetting",
    "safety_filter_level": "safetySetting",
    "person_generation": "personGeneration",
    "enhance_prompt": "enhancePrompt",
    "language": "language",
    "guidance_scale": "guidanceScale",
    "include_rai_reason": "includeRaiReason",
    "include_safety_attributes": "includeSafetyAttributes",
    "sample_image_size": "sampleImageSize",
    "image_size": "sampleImageSize",
    "storage_uri": "storageUri",
    "output_gcs_uri": "storageUri",
    "aspect_ratio": "aspectRatio",
}
_OUTPUT_OPTIONS = {
    "output_mime_type": "mimeType",
    "output_format": "mimeType",
    "output_compression_quality": "compressionQuality",
    "output_compression": "compressionQuality",
}
_OUTPUT_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg"}
_PERSON = ("dont_allow", "allow_adult", "allow_all")
_SAFETY = (
    "block_low_and_above",
    "block_medium_and_above",
    "block_only_high",
    "block_none",
    "block_most",
    "block_some",
    "block_few",
    "block_fewest",
)
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_NAMES = re.compile(r"^(imagegeneration@\d+|imagen-[\d.]+-[a-z-]*generate[\w.@-]*)$")


def is_imagen(model: str) -> bool:
    """Whether a Vertex model name is an Imagen text-to-image model."""
    return bool(_NAMES.match(model.rsplit("/", 1)[-1].lower()))


def watermarks(model: str) -> bool:
    """Whether ``model`` adds a SynthID watermark by default (everything after
    ``imagegeneration@005``), which rules out ``seed``."""
    return model.rsplit("/", 1)[-1].lower() not in ("imagegeneration@002", "imagegeneration@005")


def max_images(model: str) -> int:
    return 8 if model.rsplit("/", 1)[-1].lower() == "imagegeneration@002" else 4


def aspect_ratio(size: str) -> str | None:
    """The supported aspect ratio nearest to ``"WIDTHxHEIGHT"`` (None for ``"auto"``)."""
    if size == "auto":
        return None
    match = _SIZE.match(size)
    if match is None or not int(match.group(1)) or not int(match.group(2)):
        raise ValueError(size)
    target = math.log(int(match.group(1)) / int(match.group(2)))
    return min(ASPECT_RATIOS, key=lambda r: abs(math.log(ASPECT_RATIOS[r]) - target))


# --------------------------------------------------------------------------- check


def _bad(message: str, model: str, param: str) -> BadRequestError:
    return BadRequestError(message, model=model, param=param)


def _parameters(req: ImageRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """(``parameters``, top-level extras) from ``req.params``; raises on bad known values."""
    params: dict[str, Any] = {}
    output: dict[str, Any] = {}
    top: dict[str, Any] = {}
    for key, value in req.params.items():
        if key == "labels":
            top["labels"] = value
        elif key in _OUTPUT_OPTIONS:
            name = _OUTPUT_OPTIONS[key]
            if name == "mimeType" and isinstance(value, str) and "/" not in value:
                if value.lower() not in _OUTPUT_FORMATS:
                    raise _bad(
                        f"{key} must be 'png' or 'jpeg' for Imagen, got {value!r}", req.model, key
                    )
                value = _OUTPUT_FORMATS[value.lower()]
            output[name] = value
        elif key == "outputOptions" and isinstance(value, Mapping):
            output.update(value)
        else:
            params[PARAM_NAMES.get(key, key)] = value
    if output:
        params["outputOptions"] = output
    for name, allowed in (("personGeneration", _PERSON), ("safetySetting", _SAFETY)):
        value = params.get(name)
        if value is not None and (not isinstance(value, str) or value.lower() not in allowed):
            raise _bad(
                f"{name} must be one of {', '.join(allowed)} (any case), got {value!r}",
                req.model,
                name,
            )
    return params, top


def _ratio(req: ImageRequest, params: Mapping[str, Any]) -> str | None:
    size_ratio = None
    if req.size is not None:
        try:
            size_ratio = aspect_ratio(req.size)
        except ValueError:
            raise _bad(
                f"size must be 'WIDTHxHEIGHT' (e.g. '1024x1024') or 'auto', got {req.size!r}",
                req.model,
                "size",
            ) from None
    given = params.get("aspectRatio")
    if given is not None:
        if given not in ASPECT_RATIOS:
            raise _bad(
                f"aspectRatio must be one of {', '.join(ASPECT_RATIOS)}, got {given!r}",
                req.model,
                "aspectRatio",
            )
        if size_ratio is not None and size_ratio != given:
            raise _bad(
                f"size={req.size!r} means aspect ratio {size_ratio}, but aspectRatio="
                f"{given!r} was given too; pass one of them",
                req.model,
                "aspectRatio",
            )
        return str(given)
    return size_ratio


def check(req: ImageRequest, *, dialect: str = "vertex", drop_params: bool = False) -> ImageRequest:
    """Validate ``req`` (before any I/O); returns it with dropped params removed."""
    model = req.model
    if not isinstance(req.prompt, str) or not req.prompt.strip():
        raise _bad("prompt must be a non-empty string", model, "prompt")
    n = req.n
    top = max_images(model)
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= top):
        raise _bad(f"n must be an integer from 1 to {top} for {model!r}, got {n!r}", model, "n")
    params, _ = _parameters(req)
    _ratio(req, params)
    if "seed" in params and params.get("addWatermark", True) is not False and watermarks(model):
        raise _bad(
            f"{model!r} takes a seed only without its watermark: pass add_watermark=False with "
            "seed (Google: the seed is not available while addWatermark is on, the default)",
            model,
            "seed",
        )
    unsupported = [k for k in ("quality", "style", "user") if getattr(req, k) is not None]
    fmt = req.response_format
    if fmt is not None and fmt not in ("url", "b64_json"):
        raise _bad(
            f"response_format must be 'url' or 'b64_json', got {fmt!r}", model, "response_format"
        )
    if fmt == "url" and "storageUri" not in params:
        unsupported.append("response_format")
    refuse_or_drop(
        unsupported,
        model=model,
        drop_params=drop_params,
        reason="Imagen has no such parameter"
        + (
            "; it returns image bytes (b64_json), not URLs"
            if "response_format" in unsupported
            else ""
        ),
        hint="pass drop_params=True to drop it"
        + (
            ", or storage_uri='gs://...' to get gs:// URLs"
            if "response_format" in unsupported
            else ""
        ),
        provider="vertex_ai",
    )
    return replace(req, quality=None, style=None, user=None, response_format=None)


# --------------------------------------------------------------------------- encode


def encode(req: ImageRequest, *, dialect: str = "vertex") -> dict[str, Any]:
    """IR (already checked) -> the Imagen ``PredictRequest`` body."""
    params, top = _parameters(req)
    ratio = _ratio(req, params)
    parameters: dict[str, Any] = {"sampleCount": req.n if req.n is not None else 1}
    if ratio is not None:
        parameters["aspectRatio"] = ratio
    parameters.update({k: v for k, v in params.items() if k != "aspectRatio"})
    body: dict[str, Any] = {"instances": [{"prompt": req.prompt}], "parameters": parameters}
    body.update(top)
    body.update(req.extra_body)
    return body


# --------------------------------------------------------------------------- decode


def _image(pred: Mapping[str, Any]) -> GeneratedImage | None:
    b64 = pred.get("bytesBase64Encoded")
    uri = pred.get("gcsUri")
    if not isinstance(b64, str) and not isinstance(uri, str):
        return None
    mime = pred.get("mimeType")
    if not isinstance(mime, str) or not mime:
        mime = sniff_mime(b64) if isinstance(b64, str) else None
    prompt = pred.get("prompt")
    return GeneratedImage(
        url=uri if isinstance(uri, str) else None,
        b64_json=b64 if isinstance(b64, str) else None,
        revised_prompt=prompt if isinstance(prompt, str) and prompt else None,
        mime_type=mime,
    )


def decode(body: Any, *, provider: str = "vertex_ai") -> ImageResult:
    """``PredictResponse`` -> IR; raises ``ContentPolicyViolationError`` when every image was
    filtered out."""
    if isinstance(body, Mapping) and "error" in body:
        err = body["error"]
        code = err.get("code") if isinstance(err, Mapping) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else 500
        raise error_from_response(status, body, provider=provider, model=None)
    if not isinstance(body, Mapping):
        raise InternalServerError(
            f"{provider} sent an image answer that is not an object", provider=provider
        )
    predictions = body.get("predictions") or []
    if not isinstance(predictions, list):
        raise InternalServerError(
            f"{provider} sent predictions that are not a list", provider=provider
        )
    images: list[GeneratedImage] = []
    filtered: list[str] = []
    safety: list[Any] = []
    for pred in predictions:
        if not isinstance(pred, Mapping):
            continue
        image = _image(pred)
        if image is not None:
            images.append(image)
        if isinstance(pred.get("raiFilteredReason"), str):
            filtered.append(pred["raiFilteredReason"])
        if "safetyAttributes" in pred:
            safety.append(pred["safetyAttributes"])
    extra: dict[str, Any] = {}
    if filtered:
        extra["rai_filtered_reasons"] = filtered
    if safety:
        extra["safety_attributes"] = safety
    if "positivePromptSafetyAttributes" in body:
        extra["prompt_safety_attributes"] = body["positivePromptSafetyAttributes"]
    if not images:
        why = "; ".join(filtered) or (
            "the prompt or every image was removed by Google's safety filters (pass "
            "include_rai_reason=True to be told why)"
        )
        raise ContentPolicyViolationError(
            f"Imagen returned no image: {why}", provider=provider, status_code=400, body=dict(body)
        )
    return ImageResult(created=0, images=images, provider=provider, provider_specific_fields=extra)
