"""The OpenAI Speech wire format (``POST /audio/speech``): pure check / encode / decode.

The answer is the audio file itself. Its mime type is decided by :func:`audio_mime`: the
bytes' own signature first (a server that ignored ``response_format`` is still labelled
right), then the response's ``Content-Type``, then the requested format (``MIME_TYPES``).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from polymodal._warn import warn_dropped
from polymodal.errors import (
    BadRequestError,
    InternalServerError,
    UnsupportedParamsError,
    error_from_response,
)
from polymodal.types import SpeechRequest, SpeechResult

OFFICIAL = frozenset({"openai", "azure"})
DEFAULT_FORMAT = "mp3"
PCM_MIME = "audio/L16;rate=24000;channels=1"
MIME_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",  # Opus in an Ogg container
    "aac": "audio/aac",  # ADTS
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": PCM_MIME,  # raw 24 kHz 16-bit mono, little-endian
}
SPEED_RANGE = (0.25, 4.0)
MAX_INPUT = 4096
# Models that take no ``instructions`` ("Does not work with tts-1 or tts-1-hd").
_NO_INSTRUCTIONS = ("tts-1",)
# Keys of CreateSpeechRequest without a dedicated field, sent as given.
PASSTHROUGH = frozenset({"stream_format"})


# --------------------------------------------------------------------------- check


def _bad(message: str, model: str, param: str) -> BadRequestError:
    return BadRequestError(message, model=model, param=param)


def _check_voice(req: SpeechRequest, dialect: str) -> None:
    voice = req.voice
    if voice is None:
        raise _bad(
            f"voice is required for OpenAI speech (model {req.model!r}): a built-in voice such "
            "as 'alloy', 'coral' or 'nova', or {'id': '<custom voice id>'}",
            req.model,
            "voice",
        )
    custom = isinstance(voice, dict) and isinstance(voice.get("id"), str) and len(voice) == 1
    if not (isinstance(voice, str) and voice) and not custom:
        raise _bad(f"voice must be a voice name or {{'id': '<custom voice id>'}}, got {voice!r}",
                   req.model, "voice")  # fmt: skip


def check(req: SpeechRequest, *, dialect: str, drop_params: bool = False) -> SpeechRequest:
    """Validate ``req`` for this format (before any I/O); returns it with dropped params removed."""
    model = req.model
    if not isinstance(req.input, str) or not req.input:
        raise _bad("input must be a non-empty string (the text to speak)", model, "input")
    if dialect in OFFICIAL and len(req.input) > MAX_INPUT:
        raise _bad(f"input is {len(req.input)} characters; OpenAI speech takes at most "
                   f"{MAX_INPUT} per request: split the text", model, "input")  # fmt: skip
    _check_voice(req, dialect)
    fmt = req.response_format
    if fmt is not None and (
        not isinstance(fmt, str) or (dialect in OFFICIAL and fmt not in MIME_TYPES)
    ):
        raise _bad(f"response_format must be one of {', '.join(MIME_TYPES)}, got {fmt!r}", model,
                   "response_format")  # fmt: skip
    speed = req.speed
    if speed is not None:
        low, high = SPEED_RANGE
        if isinstance(speed, bool) or not isinstance(speed, int | float) or speed <= 0:
            raise _bad(f"speed must be a positive number, got {speed!r}", model, "speed")
        if dialect in OFFICIAL and not low <= speed <= high:
            raise _bad(f"speed must be from {low} to {high}, got {speed!r}", model, "speed")
    if req.instructions is not None and not isinstance(req.instructions, str):
        raise _bad(f"instructions must be a string, got {req.instructions!r}", model,
                   "instructions")  # fmt: skip
    problems: list[str] = [k for k in sorted(req.params) if k not in PASSTHROUGH]
    if req.instructions is not None and model.lower().startswith(_NO_INSTRUCTIONS):
        problems.insert(0, "instructions")
    if not problems:
        return req
    if not drop_params:
        name = problems[0]
        why = (
            "tts-1 and tts-1-hd take no instructions (gpt-4o-mini-tts does)"
            if name == "instructions"
            else f"{name} is not an OpenAI speech parameter"
        )
        raise UnsupportedParamsError(
            f"{why} (model {model!r}); pass drop_params=True to drop it, or extra_body={{...}} "
            "to send a server-specific field as given",
            model=model,
            param=name,
        )
    warn_dropped(problems, model, "not taken by the OpenAI speech API")
    return replace(
        req,
        instructions=None if "instructions" in problems else req.instructions,
        params={k: v for k, v in req.params.items() if k not in problems},
    )


# --------------------------------------------------------------------------- encode


def encode(req: SpeechRequest, *, dialect: str = "openai") -> dict[str, Any]:
    """IR (already checked) -> ``CreateSpeechRequest`` body."""
    body: dict[str, Any] = {"model": req.model, "input": req.input, "voice": req.voice}
    for key in ("response_format", "speed", "instructions"):
        value = getattr(req, key)
        if value is not None:
            body[key] = value
    body.update(req.params)
    body.update(req.extra_body)
    return body


# --------------------------------------------------------------------------- decode


def sniff_audio(content: bytes) -> str | None:
    """The audio type from the file signature (WAV, FLAC, Ogg, MP3, ADTS AAC), if any."""
    head = content[:12]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:3] == b"ID3":
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # Frame sync: layer bits 00 mean ADTS (AAC), anything else MPEG audio (MP3).
        return "audio/aac" if head[1] & 0x06 == 0 else "audio/mpeg"
    return None


def audio_mime(content: bytes, content_type: str | None, response_format: str | None) -> str:
    """The mime type of speech bytes; see the module docstring for the order of evidence."""
    found = sniff_audio(content)
    if found:
        return found
    fmt = response_format or DEFAULT_FORMAT
    header = (content_type or "").strip()
    base = header.split(";", 1)[0].strip().lower()
    if fmt == "pcm" and (base not in ("audio/pcm", "audio/l16") or "rate=" not in header):
        return PCM_MIME
    if base.startswith("audio/") and base not in ("audio/octet-stream",):
        return header
    return MIME_TYPES.get(fmt, "application/octet-stream")


def decode(
    content: bytes,
    content_type: str | None,
    req: SpeechRequest,
    *,
    provider: str = "openai",
) -> SpeechResult:
    """The response body (the audio file) -> IR. A JSON body here is an error or a misfit."""
    if (content_type or "").lower().startswith("application/json"):
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        if isinstance(body, dict) and "error" in body:
            raise error_from_response(500, body, provider=provider, model=req.model)
        raise InternalServerError(
            f"{provider} answered speech with JSON instead of audio: {content[:200]!r}",
            provider=provider,
            model=req.model,
        )
    if not content:
        raise InternalServerError(f"{provider} answered speech with an empty body",
                                  provider=provider, model=req.model)  # fmt: skip
    mime = audio_mime(content, content_type, req.response_format)
    return SpeechResult(content, mime, req.response_format or DEFAULT_FORMAT, req.model, provider)


__all__ = [
    "DEFAULT_FORMAT",
    "MIME_TYPES",
    "PCM_MIME",
    "audio_mime",
    "check",
    "decode",
    "encode",
    "sniff_audio",
]
