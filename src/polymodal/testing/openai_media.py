"""OpenAI Embeddings, Images and Speech, as served by OpenAI, Azure and compatible servers.

Paths (``{any prefix}`` as for chat; Azure's ``/openai/deployments/{d}/...`` needs
``?api-version=``): ``/embeddings``, ``/images/generations``, ``/audio/speech``, and
``GET /files/images/...`` serving the images whose URLs ``response_format="url"`` returns.
Default answers are deterministic:

* embeddings: a bag-of-words hashing vector per input (each word adds a few signed unit
  components at positions its hash picks; a small text-seeded dense part keeps different
  texts apart), unit length. The same text always gets the same vector and texts sharing
  words are close, so retrieval demos retrieve sensibly. Size: ``dimensions``, else the
  registry's ``output_vector_size`` for the model, else 1536. ``encoding_format="base64"``
  gives little-endian float32 bytes, as OpenAI does.
* images: a PNG of the requested size (horizontal colour bands picked by the prompt's hash),
  as ``b64_json`` or a URL on this server; ``revised_prompt`` for dall-e-3; GPT image models
  answer in base64 with ``usage`` and ``output_format`` (``jpeg``: a mid-grey baseline JPEG of
  the requested size; ``webp``: a fixed 1x1 lossless WebP, the one documented shortcut).
* speech: 24 kHz mono audio, about 0.3 s per word (at most 10 s, scaled by ``speed``): a soft
  440 Hz beep per word for ``wav``, ``pcm`` and ``flac`` (verbatim subframes); silence for
  ``mp3`` (MPEG-2 Layer III frames), ``aac`` (ADTS frames) and ``opus`` (Ogg Opus with empty
  20 ms frames, which decoders play as silence). Every file is well-formed for its container.

Requests are checked the way OpenAI checks them (model rules for sizes, qualities, styles,
``n``, ``response_format``; voices, formats, speed, ``instructions``), in OpenAI's error
envelope (Azure's for Azure paths).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import sys
import zlib
from array import array
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from .base import Context, Endpoint, RecordedRequest
from .openai import OpenAIChat
from .openai_checks import invalid
from .replies import ErrorReply, JsonReply, RawReply, Sendable
from .text import count_tokens

__all__ = ["OpenAIMedia"]

_AZURE = re.compile(r"/openai/deployments/([^/]+)/(embeddings|images/generations|audio/speech)/?$")
_SUFFIXES = {
    "/embeddings": "embeddings",
    "/images/generations": "images",
    "/audio/speech": "speech",
}
_FILES = re.compile(r"^/files/images/(\d{1,5})x(\d{1,5})/([0-9a-f]{6})\.png$")
_PARSE_ERROR = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent "
    "was not valid JSON.)"
)
_BIG_ENDIAN = sys.byteorder == "big"


def _unknown(param: str) -> ErrorReply:
    return invalid(f"Unknown parameter: '{param}'.", param, "unknown_parameter")


def _bad_value(param: str, value: Any, allowed: tuple[str, ...]) -> ErrorReply:
    listed = ", ".join(f"'{a}'" for a in allowed[:-1]) + f", and '{allowed[-1]}'"
    message = f"Invalid value: '{value}'. Supported values are: {listed}."
    return invalid(message, param, "invalid_value")


def _json_body(request: RecordedRequest) -> dict[str, Any] | ErrorReply:
    if request.method != "POST":
        return invalid(f"Invalid method for URL ({request.method} {request.path})", status=405)
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return invalid(_PARSE_ERROR)
    return body if isinstance(body, dict) else invalid(_PARSE_ERROR)


class OpenAIMedia:
    """The OpenAI family's embeddings, images and speech endpoints (a WireFormat)."""

    name = "openai-media"

    def __init__(self) -> None:
        self._chat = OpenAIChat()  # same credentials, error envelopes and 404s

    def match(self, request: RecordedRequest) -> Endpoint | None:
        if request.path.startswith("/files/images/"):
            return _serve_image
        kind = next((k for s, k in _SUFFIXES.items() if request.path.rstrip("/").endswith(s)), None)
        if kind is None:
            return None
        azure = _AZURE.search(request.path)
        deployment = unquote(azure.group(1)) if azure else None
        handler = _HANDLERS[kind]

        def answer(req: RecordedRequest, ctx: Context) -> Sendable:
            if deployment is not None and "api-version" not in req.query:
                return ErrorReply(404, {"error": {"code": "404", "message": "Resource not found"}})
            body = _json_body(req)
            if isinstance(body, ErrorReply):
                return body
            if deployment is None and not isinstance(body.get("model"), str) and kind != "images":
                return invalid("you must provide a model parameter")
            return handler(req, ctx, body, deployment)

        return answer

    def authorize(self, request: RecordedRequest, api_key: str) -> Sendable | None:
        if request.path.startswith("/files/images/"):
            return None  # like OpenAI's signed blob URLs: no key needed
        return self._chat.authorize(request, api_key)

    def error_body(self, request: RecordedRequest, status: int, message: str) -> Any:
        return self._chat.error_body(request, status, message)

    def not_found(self, request: RecordedRequest) -> Sendable:
        return self._chat.not_found(request)


# --------------------------------------------------------------------------- embeddings

_WORD = re.compile(r"\w+")
_PER_WORD = 4  # signed components each word adds
_NOISE = 0.25  # norm of the text-seeded dense part, relative to the words' part
_EMBEDDING_MODELS_WITHOUT_DIMENSIONS = ("text-embedding-ada-002",)


@lru_cache(maxsize=8192)
def embed_text(text: str, dim: int) -> bytes:
    """The emulator's vector for ``text``: ``dim`` little-endian float32 values, unit length."""
    vec = [0.0] * dim
    words = _WORD.findall(text.lower()) or [text]
    for word in words:
        digest = hashlib.blake2b(word.encode(), digest_size=4 * _PER_WORD).digest()
        for k in range(_PER_WORD):
            chunk = int.from_bytes(digest[4 * k : 4 * k + 4], "little")
            vec[(chunk >> 1) % dim] += 1.0 if chunk & 1 else -1.0
    word_norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    noise = array("b", hashlib.shake_256(text.encode()).digest(dim))
    noise_norm = math.sqrt(sum(x * x for x in noise)) or 1.0
    scale = _NOISE * word_norm / noise_norm
    vec = [v + n * scale for v, n in zip(vec, noise, strict=True)]
    norm = math.sqrt(sum(x * x for x in vec))
    out = array("f", [x / norm for x in vec])
    if _BIG_ENDIAN:
        out.byteswap()
    return out.tobytes()


def _floats(raw: bytes) -> list[float]:
    values = array("f")
    values.frombytes(raw)
    if _BIG_ENDIAN:
        values.byteswap()
    return [round(x, 9) for x in values]


def _embedding_inputs(value: Any) -> list[str | list[int]] | ErrorReply:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(type(x) is int for x in value):
            return [value]
        if all(type(x) is str for x in value) or all(
            isinstance(x, list) and x and all(type(t) is int for t in x) for x in value
        ):
            if len(value) > 2048:
                return invalid(
                    f"Invalid 'input': array too long. Expected an array with maximum length "
                    f"2048, but got an array with length {len(value)} instead.",
                    "input",
                    "array_above_max_length",
                )
            return list(value)
    if value is None:
        return invalid(
            "Missing required parameter: 'input'.", "input", "missing_required_parameter"
        )
    return invalid(
        "'$.input' is invalid. Please check the API reference: "
        "https://platform.openai.com/docs/api-reference.",
        None,
    )


def _embedding_size(model: str, dimensions: Any) -> int | ErrorReply:
    from polymodal import registry

    info = registry.lookup(f"openai/{model}")
    native = info.output_vector_size if info is not None else None
    if dimensions is None:
        return native or 1536
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
        return invalid(
            f"Invalid 'dimensions': expected a positive integer, got {dimensions!r}.",
            "dimensions",
            "invalid_value",
        )
    if model.startswith(_EMBEDDING_MODELS_WITHOUT_DIMENSIONS):
        return invalid("This model does not support specifying dimensions.", None)
    if native is not None and dimensions > native:
        return invalid(
            f"This model's maximum dimensions is {native}; you requested {dimensions}.",
            "dimensions",
        )
    return dimensions


def _embeddings(
    request: RecordedRequest, ctx: Context, body: dict[str, Any], deployment: str | None
) -> Sendable:
    model = str(body.get("model") or deployment)
    inputs = _embedding_inputs(body.get("input"))
    if isinstance(inputs, ErrorReply):
        return inputs
    if any(item == "" for item in inputs):
        return invalid(
            "'$.input' is invalid. Please check the API reference: "
            "https://platform.openai.com/docs/api-reference.",
            None,
        )
    fmt = body.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        return _bad_value("encoding_format", fmt, ("float", "base64"))
    dim = _embedding_size(model, body.get("dimensions"))
    if isinstance(dim, ErrorReply):
        return dim
    data = []
    tokens = 0
    for i, item in enumerate(inputs):
        text = item if isinstance(item, str) else " ".join(map(str, item))
        tokens += count_tokens(item) if isinstance(item, str) else len(item)
        raw = embed_text(text, dim)
        vector: Any = base64.b64encode(raw).decode() if fmt == "base64" else _floats(raw)
        data.append({"object": "embedding", "index": i, "embedding": vector})
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    answer = {"object": "list", "data": data, "model": model, "usage": usage}
    return JsonReply(answer, headers={"x-request-id": f"req_emu_emb_{ctx.next('embedding')}"})


# --------------------------------------------------------------------------- images

_GPT_ONLY = ("background", "moderation", "output_format", "output_compression")
_IMAGE_RULES: dict[str, dict[str, tuple[str, ...]]] = {
    "dall-e-2": {
        "size": ("256x256", "512x512", "1024x1024"),
        "quality": ("standard", "auto"),
        "style": (),
    },
    "dall-e-3": {
        "size": ("1024x1024", "1792x1024", "1024x1792"),
        "quality": ("standard", "hd", "auto"),
        "style": ("vivid", "natural"),
    },
    "gpt-image": {
        "size": ("1024x1024", "1536x1024", "1024x1536", "auto"),
        "quality": ("low", "medium", "high", "auto"),
        "style": (),
    },
}
_DEFAULT_SIZE = {"dall-e-2": "1024x1024", "dall-e-3": "1024x1024", "gpt-image": "1024x1024"}
# A fixed 1x1 lossless WebP (the emulator does not encode WebP).
_WEBP_1X1 = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")


def _family(model: str) -> str | None:
    name = model.lower()
    if name.startswith("dall-e-2"):
        return "dall-e-2"
    if name.startswith("dall-e-3"):
        return "dall-e-3"
    if name.startswith(("gpt-image-", "chatgpt-image-")):
        return "gpt-image"
    return None


def _check_image(body: Mapping[str, Any], family: str | None) -> ErrorReply | None:
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        return invalid(
            "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
        )
    n = body.get("n", 1)
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10):
        return invalid(
            f"Invalid 'n': expected an integer from 1 to 10, got {n!r}.", "n", "invalid_value"
        )
    fmt = body.get("response_format")
    if fmt is not None and fmt not in ("url", "b64_json"):
        return _bad_value("response_format", fmt, ("url", "b64_json"))
    if family is None:
        return None
    rules = _IMAGE_RULES[family]
    if family == "dall-e-3" and n not in (None, 1):
        return invalid("You must provide n=1 for this model.", "n", "invalid_value")
    for param in ("size", "quality", "style"):
        value = body.get(param)
        if value is None:
            continue
        if not rules[param]:
            return _unknown(param)
        if value not in rules[param]:
            return _bad_value(param, value, rules[param])
    if family == "gpt-image" and "response_format" in body:
        return _unknown("response_format")
    if family != "gpt-image":
        for param in _GPT_ONLY:
            if param in body:
                return _unknown(param)
    return None


def _size(body: Mapping[str, Any], family: str | None) -> tuple[int, int]:
    size = body.get("size")
    if not isinstance(size, str) or size == "auto":
        size = _DEFAULT_SIZE.get(family or "", "1024x1024")
    width, _, height = size.partition("x")
    try:
        return max(1, min(int(width), 4096)), max(1, min(int(height), 4096))
    except ValueError:
        return 1024, 1024


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@lru_cache(maxsize=64)
def make_png(width: int, height: int, color: str) -> bytes:
    """An RGB PNG of ``width`` x ``height`` in four horizontal bands around ``color`` (hex)."""
    base = bytes.fromhex(color)
    bands = [bytes((c + shift) % 256 for c in base) for shift in (0, 40, 80, 120)]
    rows = [b"\x00" + bands[min(3, 4 * y // height)] * width for y in range(height)]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 6)),
            _png_chunk(b"IEND", b""),
        )
    )


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", marker, len(payload) + 2) + payload


@lru_cache(maxsize=16)
def make_jpeg(width: int, height: int) -> bytes:
    """A baseline grayscale JPEG of ``width`` x ``height``, mid-grey (every DC and AC is 0)."""
    blocks = math.ceil(width / 8) * math.ceil(height / 8)
    # Each block: DC category 0 ("0") then end-of-block ("0"): two zero bits.
    bits = 2 * blocks
    scan = b"\x00" * (bits // 8) + (bytes([0xFF >> (bits % 8)]) if bits % 8 else b"")
    one_code = bytes([1] + [0] * 15) + b"\x00"  # one code of length 1, for symbol 0
    return b"".join(
        (
            b"\xff\xd8",
            _jpeg_segment(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _jpeg_segment(0xFFDB, b"\x00" + b"\x01" * 64),
            _jpeg_segment(0xFFC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"),
            _jpeg_segment(0xFFC4, b"\x00" + one_code + b"\x10" + one_code),
            _jpeg_segment(0xFFDA, b"\x01\x01\x00\x00\x3f\x00"),
            scan,
            b"\xff\xd9",
        )
    )


def _color(prompt: str, index: int) -> str:
    return hashlib.blake2b(f"{index}:{prompt}".encode(), digest_size=3).hexdigest()


def _images(
    request: RecordedRequest, ctx: Context, body: dict[str, Any], deployment: str | None
) -> Sendable:
    model = str(body.get("model") or deployment or "dall-e-2")  # OpenAI's own default
    family = _family(model)
    problem = _check_image(body, family)
    if problem is not None:
        return problem
    prompt = str(body["prompt"])
    width, height = _size(body, family)
    gpt = family == "gpt-image"
    as_url = not gpt and body.get("response_format", "url") == "url"
    output_format = str(body.get("output_format") or "png") if gpt else "png"
    host = request.headers.get("host", "127.0.0.1")
    data = []
    for i in range(body.get("n") or 1):
        color = _color(prompt, i)
        item: dict[str, Any] = {}
        if as_url:
            item["url"] = f"http://{host}/files/images/{width}x{height}/{color}.png"
        else:
            raw = _image_bytes(output_format, width, height, color)
            item["b64_json"] = base64.b64encode(raw).decode()
        if family == "dall-e-3":
            item["revised_prompt"] = f"A detailed, high-quality image of {prompt.strip()}"
        data.append(item)
    answer: dict[str, Any] = {"created": ctx.created, "data": data}
    if gpt:
        prompt_tokens = count_tokens(prompt)
        answer.update(
            background=body.get("background") or "opaque",
            output_format=output_format,
            quality=body.get("quality") if body.get("quality") not in (None, "auto") else "medium",
            size=f"{width}x{height}",
            usage={
                "input_tokens": prompt_tokens,
                "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": 0},
                "output_tokens": 272 * len(data),
                "total_tokens": prompt_tokens + 272 * len(data),
            },
        )
    return JsonReply(answer, headers={"x-request-id": f"req_emu_img_{ctx.next('image')}"})


def _image_bytes(output_format: str, width: int, height: int, color: str) -> bytes:
    if output_format == "jpeg":
        return make_jpeg(width, height)
    if output_format == "webp":
        return _WEBP_1X1
    return make_png(width, height, color)


def _serve_image(request: RecordedRequest, ctx: Context) -> Sendable:
    match = _FILES.match(request.path)
    if request.method != "GET" or match is None:
        return ErrorReply(404, {"error": {"message": "The specified blob does not exist."}})
    width, height = min(int(match.group(1)), 4096), min(int(match.group(2)), 4096)
    png = make_png(max(1, width), max(1, height), match.group(3))
    return RawReply(200, png, {"content-type": "image/png"})


# --------------------------------------------------------------------------- speech

RATE = 24000
_VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer",
    "verse", "marin", "cedar",
)  # fmt: skip
_AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def _check_speech(body: Mapping[str, Any], model: str) -> ErrorReply | None:
    text = body.get("input")
    if not isinstance(text, str) or not text:
        return invalid(
            "Missing required parameter: 'input'.", "input", "missing_required_parameter"
        )
    if len(text) > 4096:
        return invalid(
            f"Invalid 'input': string too long. Expected a string with maximum length 4096, "
            f"but got a string with length {len(text)} instead.",
            "input",
            "string_above_max_length",
        )
    voice = body.get("voice")
    if voice is None:
        return invalid(
            "Missing required parameter: 'voice'.", "voice", "missing_required_parameter"
        )
    if not (isinstance(voice, dict) and isinstance(voice.get("id"), str)) and voice not in _VOICES:
        return _bad_value("voice", voice, _VOICES)
    fmt = body.get("response_format", "mp3")
    if fmt not in _AUDIO_TYPES:
        return _bad_value("response_format", fmt, tuple(_AUDIO_TYPES))
    speed = body.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0.25 <= speed <= 4:
        return invalid(
            f"Invalid 'speed': expected a number from 0.25 to 4.0, got {speed!r}.",
            "speed",
            "invalid_value",
        )
    if "instructions" in body and model.lower().startswith("tts-1"):
        return invalid("Instructions are not supported for tts-1 or tts-1-hd.", "instructions")
    return None


@lru_cache(maxsize=256)
def make_samples(words: int, speed: float) -> bytes:
    """Little-endian 16-bit mono samples at 24 kHz: a soft beep per word, then a short gap."""
    seconds = min(10.0, max(0.5, 0.3 * words / speed))
    total = round(seconds * RATE)
    per_word = max(1, total // max(1, words))
    beep = int(per_word * 0.6)
    step = 2 * math.pi * 440 / RATE
    samples = array(
        "h",
        [int(3000 * math.sin(step * i)) if i % per_word < beep else 0 for i in range(total)],
    )
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples.tobytes()


def make_wav(pcm: bytes) -> bytes:
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm


def make_mp3(seconds: float) -> bytes:
    """Silent MPEG-2 Layer III frames, 24 kHz mono, 64 kbit/s (576 samples, 192 bytes each)."""
    frame = b"\xff\xf3\x84\xc4" + bytes(188)  # header, then zero side info and no main data
    return frame * max(1, math.ceil(seconds * RATE / 576))


def make_aac(seconds: float) -> bytes:
    """Silent AAC-LC frames in ADTS, 24 kHz mono (1,024 samples each)."""
    # ADTS header (no CRC, LC, 24 kHz, mono, 11-byte frame) + one silent single-channel
    # element (max_sfb 0: every coefficient zero) + END.
    frame = b"\xff\xf1\x58\x40\x01\x7f\xfc" + b"\x00\x00\x00\x07"
    return frame * max(1, math.ceil(seconds * RATE / 1024))


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def make_flac(pcm: bytes) -> bytes:
    """FLAC with verbatim subframes (no compression), 24 kHz mono 16-bit, 4,096-sample blocks."""
    samples = array("h")
    samples.frombytes(pcm)
    if _BIG_ENDIAN:
        samples.byteswap()
    block = 4096
    frames = []
    for number, start in enumerate(range(0, len(samples), block)):
        chunk = samples[start : start + block]
        # sync + fixed blocksize; block size "16-bit at end", 24 kHz; mono, 16 bit; frame number
        head = b"\xff\xf8\x77\x08" + _utf8_number(number) + struct.pack(">H", len(chunk) - 1)
        head += bytes([_crc8(head)])
        be = array("h", chunk)
        if not _BIG_ENDIAN:
            be.byteswap()
        frame = head + b"\x02" + be.tobytes()  # subframe: VERBATIM
        frames.append(frame + struct.pack(">H", _crc16(frame)))
    total = len(samples)
    info = struct.pack(">HH", block, block) + b"\x00\x00\x00\x00\x00\x00"
    # sample rate (20 bits) | channels-1 (3) | bits-1 (5) | total samples (36)
    packed = (RATE << 44) | (0 << 41) | (15 << 36) | total
    info += packed.to_bytes(8, "big") + bytes(16)  # MD5 unknown
    return b"fLaC" + b"\x80" + len(info).to_bytes(3, "big") + info + b"".join(frames)


def _utf8_number(n: int) -> bytes:
    """FLAC's frame-number coding is UTF-8's (clips are far shorter than 0xD800 frames)."""
    return chr(n).encode("utf-8")


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = (
                ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF
                if crc & 0x80000000
                else (crc << 1) & 0xFFFFFFFF
            )
    return crc


def _ogg_page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    lacing = b"".join(bytes([255] * (len(p) // 255) + [len(p) % 255]) for p in packets)
    head = b"OggS\x00" + bytes([flags]) + struct.pack("<qII", granule, 0x706D6F64, sequence)
    page = head + b"\x00\x00\x00\x00" + bytes([len(lacing)]) + lacing + b"".join(packets)
    crc = _ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


def make_opus(seconds: float) -> bytes:
    """Ogg Opus, mono: empty 20 ms CELT frames (a one-byte TOC each), played as silence."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 9) + b"polymodal" + struct.pack("<I", 0)
    frames = max(1, math.ceil(seconds / 0.02))
    pages = [_ogg_page([head], 0, 0, 0x02), _ogg_page([tags], 0, 1, 0)]
    sequence, done = 2, 0
    while done < frames:
        count = min(200, frames - done)
        done += count
        granule = 960 * done + 312
        pages.append(_ogg_page([b"\xf8"] * count, granule, sequence, 0x04 if done == frames else 0))
        sequence += 1
    return b"".join(pages)


def make_audio(fmt: str, words: int, speed: float) -> bytes:
    pcm = make_samples(words, speed)
    seconds = len(pcm) / 2 / RATE
    if fmt == "wav":
        return make_wav(pcm)
    if fmt == "pcm":
        return pcm
    if fmt == "flac":
        return make_flac(pcm)
    if fmt == "aac":
        return make_aac(seconds)
    if fmt == "opus":
        return make_opus(seconds)
    return make_mp3(seconds)


def _speech(
    request: RecordedRequest, ctx: Context, body: dict[str, Any], deployment: str | None
) -> Sendable:
    model = str(body.get("model") or deployment)
    problem = _check_speech(body, model)
    if problem is not None:
        return problem
    fmt = str(body.get("response_format", "mp3"))
    words = max(1, len(str(body["input"]).split()))
    audio = make_audio(fmt, words, float(body.get("speed", 1.0)))
    headers = {"content-type": _AUDIO_TYPES[fmt], "x-request-id": f"req_emu_tts_{ctx.next('tts')}"}
    return RawReply(200, audio, headers)


_HANDLERS = {"embeddings": _embeddings, "images": _images, "speech": _speech}
