"""Google Cloud Text-to-Speech (``POST https://texttospeech.googleapis.com/v1/text:synthesize``):
pure check / encode / decode. Serves ``polymodal.speech(model="vertex_ai/...")``.

Body ``{"input", "voice", "audioConfig"}`` (``SynthesizeSpeechRequest``):

* ``input``: ``{"ssml": ...}`` when the text contains ``<speak`` or ``use_ssml=True`` (a forced
  text without a ``<speak>`` root is wrapped in one), else ``{"text": ...}``; at most 5,000 bytes.
  ``instructions`` -> ``input.prompt`` (the style prompt of the Gemini-TTS models only).
* ``voice``: a name (``"en-US-Studio-O"``: ``languageCode`` is taken from the name, ``en-US``
  when the name carries none, e.g. Gemini's ``"Kore"``), or a dict
  (``{"languageCode", "name", "ssmlGender", "modelName", ...}``, snake_case accepted); none
  given: ``{"languageCode": "en-US"}`` (Google picks the voice). ``language_code=...`` sets the
  language of a name or of the default. OpenAI's voice names (``alloy``, ...) are not Google
  voices: refused, or replaced by the default with ``drop_params``. The model of
  ``vertex_ai/gemini-2.5-flash-tts`` (any ``gemini-*tts*`` name) becomes ``voice.modelName``;
  other model names (``vertex_ai/chirp``, the docs' ``vertex_ai/test``) select nothing: Cloud TTS
  picks by voice.
* ``audioConfig``: ``response_format`` -> ``audioEncoding`` (:data:`ENCODINGS`: mp3 -> MP3, wav ->
  LINEAR16 (WAV header), opus -> OGG_OPUS, pcm -> PCM (raw 16-bit little-endian mono, no header;
  ``sampleRateHertz`` 24000 is sent unless given, so the type is exact), mulaw -> MULAW, alaw ->
  ALAW (8-bit G.711 in a WAV header), m4a -> M4A); ``speed`` -> ``speakingRate`` (0.25-2.0);
  ``audioConfig=`` / ``audio_config=`` is passed through (snake_case accepted), as are the
  ``AudioConfig`` fields given alone (``pitch``, ``volume_gain_db``, ``sample_rate_hertz``,
  ``effects_profile_id``); a value given twice must agree. ``audioEncoding``, ``speakingRate``,
  ``pitch``, ``volumeGainDb`` and ``sampleRateHertz`` are checked as Google documents them.
  ``advanced_voice_options`` is sent as ``advancedVoiceOptions``. Default: MP3.

Answer: ``{"audioContent": base64}`` -> the bytes, typed by their own signature, else by the
encoding (:data:`MIME_TYPES`; PCM: ``audio/L16;rate=<rate>;channels=1``, little-endian).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from polymodal._warn import refuse_or_drop
from polymodal.apis.openai_audio import sniff_audio
from polymodal.errors import BadRequestError, InternalServerError, error_from_response
from polymodal.types import SpeechRequest, SpeechResult

__all__ = [
    "AUDIO_ENCODINGS",
    "DEFAULT_LANGUAGE",
    "ENCODINGS",
    "MAX_INPUT_BYTES",
    "MIME_TYPES",
    "PCM_RATE",
    "check",
    "decode",
    "encode",
    "is_gemini_tts",
    "language_of",
]

ENCODINGS = {
    "mp3": "MP3",
    "wav": "LINEAR16",
    "opus": "OGG_OPUS",
    "pcm": "PCM",
    "mulaw": "MULAW",
    "alaw": "ALAW",
    "m4a": "M4A",
}
AUDIO_ENCODINGS = ("LINEAR16", "MP3", "OGG_OPUS", "MULAW", "ALAW", "PCM", "M4A")
MIME_TYPES = {
    "MP3": "audio/mpeg",
    "LINEAR16": "audio/wav",
    "OGG_OPUS": "audio/ogg",
    "MULAW": "audio/wav",
    "ALAW": "audio/wav",
    "M4A": "audio/mp4",
}
PCM_RATE = 24000
MAX_INPUT_BYTES = 5000
DEFAULT_LANGUAGE = "en-US"
SSML_GENDERS = ("SSML_VOICE_GENDER_UNSPECIFIED", "MALE", "FEMALE", "NEUTRAL")
_OPENAI_VOICES = frozenset(
    {
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "onyx",
        "nova",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
    }
)
_RANGES = {"speakingRate": (0.25, 2.0), "pitch": (-20.0, 20.0), "volumeGainDb": (-96.0, 16.0)}
_AUDIO_FIELDS = {
    "audio_encoding": "audioEncoding",
    "speaking_rate": "speakingRate",
    "pitch": "pitch",
    "volume_gain_db": "volumeGainDb",
    "sample_rate_hertz": "sampleRateHertz",
    "effects_profile_id": "effectsProfileId",
}
_VOICE_FIELDS = {
    "language_code": "languageCode",
    "ssml_gender": "ssmlGender",
    "model_name": "modelName",
    "custom_voice": "customVoice",
    "voice_clone": "voiceClone",
    "multi_speaker_voice_config": "multiSpeakerVoiceConfig",
}
_PARAMS = frozenset(
    {
        "use_ssml",
        "audioConfig",
        "audio_config",
        "advancedVoiceOptions",
        "advanced_voice_options",
        "language_code",
        "languageCode",
        *_AUDIO_FIELDS,
        *_AUDIO_FIELDS.values(),
    }
)
_LANGUAGE = re.compile(r"^([a-z]{2,3}-(?:[a-z]{2}|\d{3}))-.", re.IGNORECASE)
_GEMINI_TTS = re.compile(r"^gemini-.*tts", re.IGNORECASE)


def is_gemini_tts(model: str) -> bool:
    """Whether ``model`` names a Gemini-TTS model (sent as ``voice.modelName``)."""
    return bool(_GEMINI_TTS.match(model.rsplit("/", 1)[-1]))


def language_of(voice_name: str) -> str | None:
    """The BCP-47 language a Google voice name starts with (``en-US-Studio-O`` -> ``en-US``)."""
    match = _LANGUAGE.match(voice_name)
    return match.group(1) if match else None


def _bad(message: str, model: str, param: str) -> BadRequestError:
    return BadRequestError(message, model=model, param=param)


def _camel(obj: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    return {names.get(k, k): v for k, v in obj.items()}


# --------------------------------------------------------------------------- building blocks


def _language(req: SpeechRequest) -> str | None:
    value = req.params.get("language_code", req.params.get("languageCode"))
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _bad(
            f"language_code must be a language tag like 'en-US', got {value!r}",
            req.model,
            "language_code",
        )
    return value.strip() if isinstance(value, str) else None


def _voice(req: SpeechRequest) -> dict[str, Any]:
    language = _language(req)
    voice = req.voice
    if voice is None:
        out: dict[str, Any] = {"languageCode": language or DEFAULT_LANGUAGE}
    elif isinstance(voice, str):
        if not voice.strip():
            raise _bad(
                "voice must be a Google voice name, e.g. 'en-US-Studio-O'", req.model, "voice"
            )
        out = {"languageCode": language or language_of(voice) or DEFAULT_LANGUAGE, "name": voice}
    elif isinstance(voice, Mapping):
        out = _camel(voice, _VOICE_FIELDS)
        name = out.get("name")
        if name is not None and not isinstance(name, str):
            raise _bad(f"voice name must be a string, got {name!r}", req.model, "voice")
        if language and out.get("languageCode") not in (None, language):
            raise _bad(
                f"language_code={language!r} disagrees with the voice's languageCode "
                f"{out['languageCode']!r}",
                req.model,
                "language_code",
            )
        if "languageCode" not in out:
            out["languageCode"] = (
                language or (language_of(name) if name else None) or DEFAULT_LANGUAGE
            )
        gender = out.get("ssmlGender")
        if gender is not None:
            if not isinstance(gender, str) or gender.upper() not in SSML_GENDERS:
                raise _bad(
                    f"ssmlGender must be one of {', '.join(SSML_GENDERS)}, got {gender!r}",
                    req.model,
                    "voice",
                )
            out["ssmlGender"] = gender.upper()
    else:
        raise _bad(
            f"voice must be a voice name or a dict like {{'languageCode': 'en-US', "
            f"'name': 'en-US-Studio-O'}}, got {voice!r}",
            req.model,
            "voice",
        )
    if is_gemini_tts(req.model) and "modelName" not in out:
        out["modelName"] = req.model.rsplit("/", 1)[-1]
    return out


def _input(req: SpeechRequest) -> dict[str, Any]:
    text = req.input
    forced = req.params.get("use_ssml")
    if forced is not None and not isinstance(forced, bool):
        raise _bad(f"use_ssml must be True or False, got {forced!r}", req.model, "use_ssml")
    out: dict[str, Any]
    if forced or "<speak" in text.lower():
        ssml = text if "<speak" in text.lower() else f"<speak>{text}</speak>"
        out = {"ssml": ssml}
    else:
        out = {"text": text}
    if req.instructions is not None:
        if not isinstance(req.instructions, str):
            raise _bad("instructions must be a string", req.model, "instructions")
        out["prompt"] = req.instructions
    size = sum(len(v.encode("utf-8")) for v in out.values())
    if size > MAX_INPUT_BYTES:
        raise _bad(
            f"input is {size} bytes; Google Text-to-Speech takes at most "
            f"{MAX_INPUT_BYTES} per request: split the text",
            req.model,
            "input",
        )
    return out


def _number(value: Any, name: str, model: str) -> float:
    if isinstance(value, bool):
        raise _bad(f"{name} must be a number, got {value!r}", model, name)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(f"{name} must be a number, got {value!r}", model, name) from None


def _agree(config: dict[str, Any], key: str, value: Any, model: str, param: str) -> None:
    if (
        key in config
        and config[key] != value
        and not (key == "speakingRate" and _number(config[key], key, model) == value)
    ):
        raise _bad(
            f"{param}={value!r} disagrees with audioConfig.{key}={config[key]!r}; pass one of them",
            model,
            param,
        )
    config[key] = value


def _audio_config(req: SpeechRequest) -> dict[str, Any]:
    model = req.model
    config: dict[str, Any] = {}
    raw = req.params.get("audioConfig", req.params.get("audio_config"))
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise _bad("audioConfig must be an object", model, "audioConfig")
        config = _camel(raw, _AUDIO_FIELDS)
    for key, value in req.params.items():
        if key in _AUDIO_FIELDS or key in _AUDIO_FIELDS.values():
            _agree(config, _AUDIO_FIELDS.get(key, key), value, model, key)
    fmt = req.response_format
    if fmt is not None:
        if fmt not in ENCODINGS:
            raise _bad(
                f"response_format must be one of {', '.join(ENCODINGS)} for Google "
                f"Text-to-Speech, got {fmt!r}",
                model,
                "response_format",
            )
        _agree(config, "audioEncoding", ENCODINGS[fmt], model, "response_format")
    if req.speed is not None:
        _agree(config, "speakingRate", _number(req.speed, "speed", model), model, "speed")
    config.setdefault("audioEncoding", "MP3")
    encoding = config["audioEncoding"]
    if encoding not in AUDIO_ENCODINGS:
        raise _bad(
            f"audioEncoding must be one of {', '.join(AUDIO_ENCODINGS)}, got {encoding!r}",
            model,
            "audioEncoding",
        )
    for key, (low, high) in _RANGES.items():
        if key in config:
            value = _number(config[key], key, model)
            if not (low <= value <= high or (key == "speakingRate" and value == 0)):
                raise _bad(f"{key} must be from {low} to {high}, got {config[key]!r}", model, key)
    rate = config.get("sampleRateHertz")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0):
        raise _bad(
            f"sampleRateHertz must be a positive integer, got {rate!r}", model, "sampleRateHertz"
        )
    if encoding == "PCM":
        config.setdefault("sampleRateHertz", PCM_RATE)
    return config


def _body(req: SpeechRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input": _input(req),
        "voice": _voice(req),
        "audioConfig": _audio_config(req),
    }
    advanced = req.params.get("advancedVoiceOptions", req.params.get("advanced_voice_options"))
    if advanced is not None:
        body["advancedVoiceOptions"] = advanced
    return body


# --------------------------------------------------------------------------- check / encode


def check(
    req: SpeechRequest, *, dialect: str = "google", drop_params: bool = False
) -> SpeechRequest:
    """Validate ``req`` (before any I/O); returns it with dropped params removed."""
    if not isinstance(req.input, str) or not req.input:
        raise _bad("input must be a non-empty string (the text to speak)", req.model, "input")
    problems = [k for k in sorted(req.params) if k not in _PARAMS]
    voice = req.voice
    if isinstance(voice, str) and voice.lower() in _OPENAI_VOICES:
        problems.insert(0, "voice")
    if req.instructions is not None and not is_gemini_tts(req.model):
        problems.append("instructions")
    fmt = req.response_format
    if fmt is not None and fmt not in ENCODINGS:
        problems.append("response_format")
    reasons = {
        "voice": f"{voice!r} is an OpenAI voice, not a Google one (e.g. 'en-US-Studio-O', "
        "'en-US-Chirp3-HD-Charon', or {'languageCode': 'en-US', 'name': ...})",
        "instructions": "only the Gemini-TTS models (vertex_ai/gemini-2.5-flash-tts, ...) take "
        "a style prompt",
        "response_format": f"Google Text-to-Speech returns {', '.join(ENCODINGS)}",
    }
    reason = "; ".join(reasons.get(p, f"{p} is not a Text-to-Speech parameter") for p in problems)
    refuse_or_drop(
        problems,
        model=req.model,
        drop_params=drop_params,
        reason=reason,
        hint="pass drop_params=True to drop it",
        provider="vertex_ai",
    )
    if problems:
        req = replace(
            req,
            voice=None if "voice" in problems else req.voice,
            instructions=None if "instructions" in problems else req.instructions,
            response_format=None if "response_format" in problems else req.response_format,
            params={k: v for k, v in req.params.items() if k not in problems},
        )
    _body(req)  # every remaining value is checked here, before any I/O
    return req


def encode(req: SpeechRequest, *, dialect: str = "google") -> dict[str, Any]:
    """IR (already checked) -> ``SynthesizeSpeechRequest``."""
    body = _body(req)
    body.update(req.extra_body)
    return body


# --------------------------------------------------------------------------- decode


def _format_name(encoding: str) -> str:
    return next((k for k, v in ENCODINGS.items() if v == encoding), encoding.lower())


def decode(
    content: bytes, content_type: str | None, req: SpeechRequest, *, provider: str = "vertex_ai"
) -> SpeechResult:
    """``SynthesizeSpeechResponse`` (JSON) -> the audio bytes with their mime type."""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if isinstance(body, Mapping) and "error" in body:
        raise error_from_response(500, body, provider=provider, model=req.model)
    audio = body.get("audioContent") if isinstance(body, Mapping) else None
    if not isinstance(audio, str) or not audio:
        raise InternalServerError(
            f"{provider} answered speech without audioContent: {content[:200]!r}",
            provider=provider,
            model=req.model,
        )
    try:
        data = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise InternalServerError(
            f"{provider} sent audioContent that is not base64", provider=provider, model=req.model
        ) from None
    config = _audio_config(req)
    encoding = str(config["audioEncoding"])
    if encoding == "PCM":
        mime = f"audio/L16;rate={config['sampleRateHertz']};channels=1"
    else:
        mime = sniff_audio(data) or MIME_TYPES.get(encoding, "application/octet-stream")
    return SpeechResult(data, mime, _format_name(encoding), req.model, provider)
