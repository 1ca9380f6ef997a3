"""The OpenAI Images wire format (``POST /images/generations``): pure check / encode / decode.

Used by OpenAI, Azure OpenAI (deployment URLs) and OpenAI-compatible servers. ``check``
applies each model family's rules as OpenAI documents them (``IMAGE_MODELS``); a model whose
name matches no family (an Azure deployment name, a compatible server's model) is sent as
given and its server decides. Translation: the GPT image models always answer in base64 and
reject ``response_format`` (OpenAI: "Unknown parameter: 'response_format'"), so
``response_format="b64_json"`` is satisfied by leaving the key out, while ``"url"`` is refused
(or dropped with ``drop_params``). Keys that are not OpenAI parameters are sent as given (the
image-generation docs: non-OpenAI params go to the provider as provider-specific params).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from polymodal._warn import warn_dropped
from polymodal.errors import (
    BadRequestError,
    InternalServerError,
    UnsupportedParamsError,
    error_from_response,
)
from polymodal.types import GeneratedImage, ImageRequest, ImageResult

RESPONSE_FORMATS = frozenset({"url", "b64_json"})
_GPT_IMAGE_PARAMS: dict[str, frozenset[str] | None] = {
    "background": frozenset({"transparent", "opaque", "auto"}),
    "moderation": frozenset({"low", "auto"}),
    "output_format": frozenset({"png", "jpeg", "webp"}),
    "output_compression": None,  # an integer 0-100
}
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True, slots=True)
class ImageModel:
    """What one model family takes (``None``: any value of the right shape)."""

    family: str
    max_n: int
    sizes: frozenset[str] | None
    qualities: frozenset[str]
    styles: frozenset[str]
    response_formats: frozenset[str]
    max_prompt: int
    gpt_image: bool = False


_DALL_E_2 = ImageModel(
    "dall-e-2",
    max_n=10,
    sizes=frozenset({"256x256", "512x512", "1024x1024"}),
    qualities=frozenset({"standard", "auto"}),
    styles=frozenset(),
    response_formats=RESPONSE_FORMATS,
    max_prompt=1000,
)
_DALL_E_3 = ImageModel(
    "dall-e-3",
    max_n=1,
    sizes=frozenset({"1024x1024", "1792x1024", "1024x1792"}),
    qualities=frozenset({"standard", "hd", "auto"}),
    styles=frozenset({"vivid", "natural"}),
    response_formats=RESPONSE_FORMATS,
    max_prompt=4000,
)
_GPT_IMAGE_1 = ImageModel(
    "gpt-image-1",
    max_n=10,
    sizes=frozenset({"1024x1024", "1536x1024", "1024x1536", "auto"}),
    qualities=frozenset({"low", "medium", "high", "auto"}),
    styles=frozenset(),
    response_formats=frozenset(),
    max_prompt=32000,
    gpt_image=True,
)
# Later GPT image models take arbitrary WIDTHxHEIGHT sizes (multiples of 16).
_GPT_IMAGE_FLEX = replace(_GPT_IMAGE_1, family="gpt-image", sizes=None)


def image_model(model: str) -> ImageModel | None:
    """The rules of the family ``model`` belongs to, or None for a name no family matches."""
    name = model.rsplit("/", 1)[-1].lower()
    if name.startswith("dall-e-2"):
        return _DALL_E_2
    if name.startswith("dall-e-3"):
        return _DALL_E_3
    if name.startswith("gpt-image-1"):
        return _GPT_IMAGE_1
    if name.startswith(("gpt-image-", "chatgpt-image-")):
        return _GPT_IMAGE_FLEX
    return None


IMAGE_MODELS = {m.family: m for m in (_DALL_E_2, _DALL_E_3, _GPT_IMAGE_1, _GPT_IMAGE_FLEX)}


# --------------------------------------------------------------------------- check


def _listed(values: frozenset[str]) -> str:
    return ", ".join(repr(v) for v in sorted(values)) if values else "none"


def _bad(message: str, model: str, param: str) -> BadRequestError:
    return BadRequestError(message, model=model, param=param)


def _check_shapes(req: ImageRequest) -> None:
    """Rules that hold for every model: types and OpenAI's documented ranges."""
    model = req.model
    if not isinstance(req.prompt, str) or not req.prompt.strip():
        raise _bad("prompt must be a non-empty string", model, "prompt")
    n = req.n
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10):
        raise _bad(f"n must be an integer from 1 to 10, got {n!r}", model, "n")
    for name in ("size", "quality", "style", "response_format", "user"):
        value = getattr(req, name)
        if value is not None and not isinstance(value, str):
            raise _bad(f"{name} must be a string, got {value!r}", model, name)
    if req.size is not None and req.size != "auto" and not _SIZE.match(req.size):
        raise _bad(f"size must be 'WIDTHxHEIGHT' (e.g. '1024x1024') or 'auto', got "
                   f"{req.size!r}", model, "size")  # fmt: skip
    if req.params.get("stream") or req.params.get("partial_images"):
        raise UnsupportedParamsError(
            "streaming image generation (stream, partial_images) is not supported by "
            f"polymodal.image_generation (model {model!r}); leave them out",
            model=model,
            param="stream",
        )


def _flex_size_ok(size: str) -> bool:
    match = _SIZE.match(size)
    if match is None:
        return size == "auto"
    width, height = int(match.group(1)), int(match.group(2))
    return width % 16 == 0 and height % 16 == 0 and 1 / 3 <= width / height <= 3


def _rule_problems(req: ImageRequest, rules: ImageModel) -> list[tuple[str, str]]:
    """(param, why) for each value the family does not take."""
    out: list[tuple[str, str]] = []
    if req.n is not None and req.n > rules.max_n:
        out.append(("n", f"n={req.n}: {rules.family} makes at most {rules.max_n} per request"))
    if req.size is not None:
        ok = req.size in rules.sizes if rules.sizes is not None else _flex_size_ok(req.size)
        if not ok:
            allowed = (
                _listed(rules.sizes)
                if rules.sizes is not None
                else "'auto' or WIDTHxHEIGHT in multiples of 16, aspect 1:3 to 3:1"
            )
            out.append(("size", f"size={req.size!r}: {rules.family} takes {allowed}"))
    for name, allowed_values in (("quality", rules.qualities), ("style", rules.styles)):
        value = getattr(req, name)
        if value is not None and value not in allowed_values:
            out.append((name, f"{name}={value!r}: {rules.family} takes {_listed(allowed_values)}"))
    for name in _GPT_IMAGE_PARAMS:
        if name in req.params and not rules.gpt_image:
            out.append((name, f"{name}: only the GPT image models take it, not {rules.family}"))
    return out


def _check_gpt_params(req: ImageRequest) -> None:
    for name, allowed in _GPT_IMAGE_PARAMS.items():
        value = req.params.get(name)
        if value is None:
            continue
        if allowed is None:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                raise _bad(f"{name} must be an integer from 0 to 100, got {value!r}", req.model,
                           name)  # fmt: skip
        elif value not in allowed:
            raise _bad(f"{name} must be one of {_listed(allowed)}, got {value!r}", req.model, name)


def check(req: ImageRequest, *, dialect: str, drop_params: bool = False) -> ImageRequest:
    """Validate ``req`` for this format (before any I/O); returns it with dropped params removed."""
    _check_shapes(req)
    if req.response_format is not None and req.response_format not in RESPONSE_FORMATS:
        raise _bad(f"response_format must be 'url' or 'b64_json', got {req.response_format!r}",
                   req.model, "response_format")  # fmt: skip
    rules = image_model(req.model)
    if rules is None:
        return req
    _check_gpt_params(req)
    if len(req.prompt) > rules.max_prompt:
        raise _bad(f"prompt is {len(req.prompt)} characters; {rules.family} takes at most "
                   f"{rules.max_prompt}", req.model, "prompt")  # fmt: skip
    problems = _rule_problems(req, rules)
    fmt = req.response_format
    if rules.gpt_image and fmt == "b64_json":
        req = replace(req, response_format=None)  # what these models return anyway
    elif fmt is not None and fmt not in rules.response_formats:
        why = f"response_format={fmt!r}: {rules.family} always returns base64 (b64_json)"
        problems.append(("response_format", why))
    if not problems:
        return req
    if not drop_params:
        param, why = problems[0]
        raise UnsupportedParamsError(
            f"{why} (model {req.model!r}); pass drop_params=True to drop it",
            model=req.model,
            param=param,
        )
    names = {param for param, _ in problems}
    warn_dropped(names, req.model, f"not taken by {rules.family}")
    return replace(
        req,
        n=None if "n" in names else req.n,
        size=None if "size" in names else req.size,
        quality=None if "quality" in names else req.quality,
        style=None if "style" in names else req.style,
        response_format=None if "response_format" in names else req.response_format,
        params={k: v for k, v in req.params.items() if k not in names},
    )


# --------------------------------------------------------------------------- encode


def encode(req: ImageRequest, *, dialect: str = "openai") -> dict[str, Any]:
    """IR (already checked) -> ``CreateImageRequest`` body."""
    body: dict[str, Any] = {"model": req.model, "prompt": req.prompt}
    for key in ("n", "size", "quality", "style", "response_format", "user"):
        value = getattr(req, key)
        if value is not None:
            body[key] = value
    body.update(req.params)
    body.update(req.extra_body)
    return body


# --------------------------------------------------------------------------- decode


def sniff_mime(b64: str) -> str | None:
    """The image type from the first base64 characters (PNG, JPEG, WebP, GIF)."""
    if b64.startswith("iVBORw0KGgo"):
        return "image/png"
    if b64.startswith("/9j/"):
        return "image/jpeg"
    if b64.startswith("UklGR"):
        return "image/webp"
    if b64.startswith("R0lGOD"):
        return "image/gif"
    return None


def _mime(item: dict[str, Any], output_format: Any) -> str | None:
    b64 = item.get("b64_json")
    if isinstance(b64, str):
        found = sniff_mime(b64)
        if found:
            return found
    if isinstance(output_format, str) and output_format in _MIME:
        return _MIME[output_format]
    url = item.get("url")
    if isinstance(url, str):
        ext = url.split("?", 1)[0].rsplit(".", 1)[-1].lower()
        return _MIME.get(ext)
    return None


_RESPONSE_FIELDS = frozenset({"created", "data", "usage"})


def decode(body: Any, *, provider: str = "openai") -> ImageResult:
    """``ImagesResponse`` -> IR."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        if isinstance(body, dict) and "error" in body:
            err = body["error"]
            code = err.get("code") if isinstance(err, dict) else None
            status = code if isinstance(code, int) and 400 <= code < 600 else 500
            if isinstance(code, str) and "content_policy" in code:
                status = 400
            raise error_from_response(status, body, provider=provider, model=None)
        raise InternalServerError(
            f"{provider} sent an image answer without a data list", provider=provider
        )
    output_format = body.get("output_format")
    images = []
    for item in body["data"]:
        if not isinstance(item, dict):
            continue
        images.append(
            GeneratedImage(
                url=item.get("url"),
                b64_json=item.get("b64_json"),
                revised_prompt=item.get("revised_prompt"),
                mime_type=_mime(item, output_format),
            )
        )
    usage = body.get("usage")
    extra = {k: v for k, v in body.items() if k not in _RESPONSE_FIELDS and v is not None}
    return ImageResult(
        created=body.get("created") or 0,
        images=images,
        usage=usage if isinstance(usage, dict) else None,
        model=str(body.get("model") or ""),
        provider=provider,
        provider_specific_fields=extra,
    )


__all__ = [
    "IMAGE_MODELS",
    "RESPONSE_FORMATS",
    "ImageModel",
    "check",
    "decode",
    "encode",
    "image_model",
    "sniff_mime",
]
