"""Vertex AI ``:predict`` (text and multimodal embeddings, Imagen), Gemini ``embedContent`` /
``batchEmbedContents`` (Vertex and Google AI Studio) and Google Cloud Text-to-Speech.

Paths (``{v}``: ``v1`` or ``v1beta1`` on Vertex and TTS; ``v1``, ``v1beta``, ``v1alpha`` on AI
Studio):

* ``/{v}/projects/{p}/locations/{l}/publishers/google/models/{m}:predict``: ``multimodalembedding*``
  -> multimodal embeddings; ``imagen-*`` / ``imagegeneration@*`` -> Imagen; any other model ->
  text embeddings (``gemini-embedding-001`` takes one instance per request, the others 250);
  ``/{v}/projects/{p}/locations/{l}/endpoints/{id}:predict`` (a tuned / custom model) -> text
  embeddings.
* ``.../publishers/google/models/{m}:embedContent`` and ``:batchEmbedContents`` (Vertex) and
  ``/{v}/models/{m}:embedContent|batchEmbedContents`` (AI Studio, at most 100 requests).
* ``{any prefix}/{v}/text:synthesize``: Cloud Text-to-Speech.

Credentials: Vertex and TTS requests must carry ``Authorization: Bearer emu-token-<n>`` (from the
emulator's ``POST /token``) or get Google's 401; AI Studio requests need ``x-goog-api-key`` (or
``?key=``), and with the emulator's ``api_key`` set it must match.

Default answers are deterministic:

* Embeddings are :func:`polymodal.testing.openai_media.embed_text` vectors (bag-of-words hashing,
  unit length): text, images and video share one space, so retrieval demos work. An image or a
  video is embedded as the words of its **caption**, found in this order: a caption registered
  with :meth:`VertexMedia.add_caption` (key: the ``gs://`` URI, or ``"sha256:<hex>"`` of the
  bytes; or the ``captions=`` mapping given to the constructor); for inline bytes, the image's
  own text metadata (PNG ``tEXt`` / ``iTXt`` chunks named ``Description``, ``Caption``, ``Title``
  or ``Comment``; a JPEG ``COM`` segment); for a URI, the words of its file name
  (``gs://b/red-bicycle.png`` -> ``"red bicycle"``); else a hash of the bytes. Imagen's PNGs carry
  their prompt as ``Description``, so a generated image embeds near its prompt. Sizes:
  ``outputDimensionality`` / ``dimension``, else the model's registry size (768, 1408 for
  multimodal, 3072 for Gemini). ``statistics.token_count`` / ``usageMetadata`` count tokens like
  the rest of the emulator. Videos are 60 seconds long here: ``videoSegmentConfig`` (default
  0-60 s, 16 s intervals) yields one 1408-long vector per segment.
* Imagen: ``sampleCount`` PNGs (or baseline JPEGs with ``outputOptions.mimeType: image/jpeg``) at
  Imagen's size for the aspect ratio (1:1 1024x1024, 16:9 1408x768, 9:16 768x1408, 4:3 1280x896,
  3:4 896x1280); ``storageUri`` answers ``gcsUri``s instead of bytes; ``enhancePrompt`` adds the
  rewritten ``prompt``; ``[emulator:unsafe]`` in the prompt has every image filtered (an empty
  answer, or ``raiFilteredReason`` entries with ``includeRaiReason``).
* Text-to-Speech: about 0.3 s of audio per word (divided by ``speakingRate``) in the requested
  ``audioEncoding``: ``LINEAR16`` (WAV with a 440 Hz beep per word), ``PCM`` (the same samples,
  no header), ``MULAW`` / ``ALAW`` (G.711 in WAV), ``MP3`` and ``OGG_OPUS`` (silent frames), at
  ``sampleRateHertz`` (default 24 kHz); ``M4A`` is a minimal ISO-BMFF file (``ftyp M4A`` and an
  empty ``moov``), the one documented shortcut.

Requests are checked like Google checks them (instance and parameter names, task types,
``title`` only for documents, dimensions, per-request limits, aspect ratios, Imagen enums,
``seed`` only without a watermark, SSML root, voice language, audio encodings and ranges), in
Google's error envelope.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import zlib
from array import array
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

from .base import Context, Endpoint, RecordedRequest
from .gemini import google_error
from .google_oauth import is_emulator_token
from .openai_media import RATE, embed_text, make_jpeg, make_mp3, make_opus, make_png, make_samples
from .replies import ErrorReply, JsonReply, Sendable
from .text import count_tokens

__all__ = [
    "VIDEO_SECONDS",
    "VertexMedia",
    "caption_of_image",
    "make_tts_audio",
    "png_with_caption",
]

_VERTEX = re.compile(
    r"^/(?P<version>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/"
    r"(?:publishers/google/models/(?P<model>[^/:]+)|endpoints/(?P<endpoint>[^/:]+))"
    r":(?P<method>predict|embedContent|batchEmbedContents)$"
)
_STUDIO = re.compile(
    r"^/(?P<version>v1|v1beta|v1alpha)/models/(?P<model>[^/:]+)"
    r":(?P<method>embedContent|batchEmbedContents)$"
)
_TTS = re.compile(r"^(?:/[^:]*)?/(?:v1|v1beta1)/text:synthesize$")
_TASK_TYPES = frozenset(
    {
        "RETRIEVAL_QUERY",
        "RETRIEVAL_DOCUMENT",
        "SEMANTIC_SIMILARITY",
        "CLASSIFICATION",
        "CLUSTERING",
        "QUESTION_ANSWERING",
        "FACT_VERIFICATION",
        "CODE_RETRIEVAL_QUERY",
    }
)
_NO_CREDENTIAL = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_BAD_CREDENTIAL = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). Please "
    "use API Key or other form of API consumer identity to call this API."
)
_UNSAFE = "[emulator:unsafe]"
VIDEO_SECONDS = 60
_MULTIMODAL_DIMENSIONS = (128, 256, 512, 1408)
_TEXT_LIMIT = 250
_TOKEN_LIMIT = 20_000
_INPUT_TOKENS = 2048
_STUDIO_BATCH = 100


def _error(status: int, message: str) -> ErrorReply:
    return ErrorReply(status, google_error(status, message))


def _bad(message: str) -> ErrorReply:
    return _error(400, message)


def _unknown(name: str, where: str) -> ErrorReply:
    return _bad(
        f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
    )


def _bearer_denial(request: RecordedRequest, service: str) -> ErrorReply | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token and is_emulator_token(token):
        return None
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "CREDENTIALS_MISSING" if not token else "ACCESS_TOKEN_TYPE_UNSUPPORTED",
        "domain": "googleapis.com",
        "metadata": {"service": service},
    }
    message = _NO_CREDENTIAL if not token else _BAD_CREDENTIAL
    return ErrorReply(401, google_error(401, message, details=[info]))


def _studio_key(request: RecordedRequest) -> str | None:
    key = request.headers.get("x-goog-api-key", "").strip() or request.query.get("key", "").strip()
    return key or None


def _json(request: RecordedRequest) -> dict[str, Any] | ErrorReply:
    if request.method != "POST":
        return _error(405, f"Method {request.method} is not allowed.")
    try:
        body = json.loads(request.body) if request.body else None
    except (ValueError, UnicodeDecodeError):
        return _bad("Invalid JSON payload received. Unexpected token.")
    return body if isinstance(body, dict) else _bad("Invalid JSON payload received.")


class VertexMedia:
    """The Google media endpoints (a :class:`~.base.WireFormat`); see the module docstring."""

    name = "vertex-media"

    def __init__(self, captions: Mapping[str, str] | None = None) -> None:
        self.captions: dict[str, str] = dict(captions or {})

    def add_caption(self, key: str, caption: str) -> None:
        """What an image or video "shows": ``key`` is a ``gs://`` URI or ``sha256:<hex>``."""
        self.captions[key] = caption

    def match(self, request: RecordedRequest) -> Endpoint | None:
        path = request.path
        vertex = _VERTEX.match(path)
        if vertex is not None:
            return self._vertex(vertex)
        studio = _STUDIO.match(path)
        if studio is not None:
            return self._studio(studio)
        if _TTS.match(path):
            return self._tts
        return None

    def _vertex(self, m: re.Match[str]) -> Endpoint:
        model = unquote(m.group("model") or "")
        endpoint_id = m.group("endpoint")
        method = m.group("method")

        def answer(request: RecordedRequest, ctx: Context) -> Sendable:
            denied = _bearer_denial(request, "aiplatform.googleapis.com")
            if denied is not None:
                return denied
            body = _json(request)
            if isinstance(body, ErrorReply):
                return body
            if method != "predict":
                if endpoint_id is not None:
                    return _error(404, f"Method {method} is not found for this endpoint.")
                return self._embed_content(body, model, method, vertex=True)
            if endpoint_id is not None:
                return self._text_embeddings(body, "custom-endpoint-" + endpoint_id, 768)
            lower = model.lower()
            if lower.startswith("multimodalembedding"):
                return self._multimodal(body)
            if lower.startswith(("imagen-", "imagegeneration")):
                return _imagen(body, model, ctx)
            if "embedding" in lower or "gecko" in lower:
                return self._text_embeddings(body, model, _native(f"vertex_ai/{model}", 768))
            return _bad(
                f"Publisher model `publishers/google/models/{model}` does not support "
                "the Predict method."
            )

        return answer

    def _studio(self, m: re.Match[str]) -> Endpoint:
        model = unquote(m.group("model"))
        method = m.group("method")

        def answer(request: RecordedRequest, ctx: Context) -> Sendable:
            if _studio_key(request) is None:
                return _error(403, _NO_KEY)
            body = _json(request)
            if isinstance(body, ErrorReply):
                return body
            return self._embed_content(body, model, method, vertex=False)

        return answer

    def _tts(self, request: RecordedRequest, ctx: Context) -> Sendable:
        denied = _bearer_denial(request, "texttospeech.googleapis.com")
        if denied is not None:
            return denied
        body = _json(request)
        if isinstance(body, ErrorReply):
            return body
        return _synthesize(body)

    def authorize(self, request: RecordedRequest, api_key: str) -> Sendable | None:
        if _VERTEX.match(request.path):
            return _bearer_denial(request, "aiplatform.googleapis.com")
        if _TTS.match(request.path):
            return _bearer_denial(request, "texttospeech.googleapis.com")
        offered = _studio_key(request)
        if offered is None:
            return _error(403, _NO_KEY)
        if offered != api_key:
            return _bad("API key not valid. Please pass a valid API key.")
        return None

    def error_body(self, request: RecordedRequest, status: int, message: str) -> Any:
        return google_error(status, message)

    def not_found(self, request: RecordedRequest) -> Sendable:
        return _error(404, "Requested entity was not found.")

    # -- captions ---------------------------------------------------------------------------

    def caption(self, uri: str | None = None, data: bytes | None = None) -> str:
        """The words an image or video is embedded as (see the module docstring)."""
        if uri is not None and uri in self.captions:
            return self.captions[uri]
        if data is not None:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            if digest in self.captions:
                return self.captions[digest]
            return caption_of_image(data) or digest
        if uri is not None:
            stem = uri.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
            return " ".join(re.findall(r"[A-Za-z]+|\d+", stem)) or uri
        return ""

    # -- text embeddings --------------------------------------------------------------------

    def _text_embeddings(self, body: dict[str, Any], model: str, native: int) -> Sendable:
        for key in body:
            if key not in ("instances", "parameters"):
                return _unknown(key, "PredictRequest")
        instances = body.get("instances")
        if not isinstance(instances, list) or not instances:
            return _bad("instances must be a non-empty list.")
        limit = 1 if model.startswith("gemini-embedding-001") else _TEXT_LIMIT
        if len(instances) > limit:
            return _bad(
                f"Unable to submit request because {model} supports at most {limit} "
                f"instance(s) per request; got {len(instances)}."
            )
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            return _bad("parameters must be an object.")
        for key in params:
            if key not in ("outputDimensionality", "autoTruncate"):
                return _bad(f"Unknown parameter {key!r} for {model}.")
        dim = params.get("outputDimensionality", native)
        if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= native:
            return _bad(f"outputDimensionality must be an integer from 1 to {native}; got {dim!r}.")
        auto = params.get("autoTruncate", True)
        predictions = []
        total = 0
        for i, inst in enumerate(instances):
            problem = _check_text_instance(inst, i)
            if problem is not None:
                return problem
            tokens = count_tokens(inst["content"])
            total += tokens
            if tokens > _INPUT_TOKENS and auto is False:
                return _bad(
                    f"instances[{i}]: the input has {tokens} tokens, more than the "
                    f"{_INPUT_TOKENS} allowed, and autoTruncate is false."
                )
            text = _document(inst)
            stats = {"token_count": min(tokens, _INPUT_TOKENS), "truncated": tokens > _INPUT_TOKENS}
            predictions.append({"embeddings": {"statistics": stats, "values": _vector(text, dim)}})
        if total > _TOKEN_LIMIT:
            return _bad(
                f"Unable to submit request because the input token count is {total} but "
                f"{model} supports up to {_TOKEN_LIMIT}."
            )
        chars = sum(len(str(inst["content"])) for inst in instances)
        return JsonReply(
            {"predictions": predictions, "metadata": {"billableCharacterCount": chars}}
        )

    # -- multimodal embeddings --------------------------------------------------------------

    def _multimodal(self, body: dict[str, Any]) -> Sendable:
        for key in body:
            if key not in ("instances", "parameters"):
                return _unknown(key, "PredictRequest")
        instances = body.get("instances")
        if not isinstance(instances, list) or len(instances) != 1:
            return _bad("multimodalembedding takes exactly one instance per request.")
        params = body.get("parameters") or {}
        if not isinstance(params, dict) or set(params) - {"dimension"}:
            return _bad(f"Unknown parameters {sorted(set(params) - {'dimension'})}.")
        dim = params.get("dimension", 1408)
        if dim not in _MULTIMODAL_DIMENSIONS:
            return _bad(f"dimension must be one of 128, 256, 512, 1408; got {dim!r}.")
        inst = instances[0]
        if not isinstance(inst, dict) or not inst or set(inst) - {"text", "image", "video"}:
            return _bad("An instance takes 'text', 'image' and/or 'video'.")
        prediction: dict[str, Any] = {}
        if "text" in inst:
            if not isinstance(inst["text"], str) or not inst["text"]:
                return _bad("text must be a non-empty string.")
            prediction["textEmbedding"] = _vector(inst["text"], dim)
        if "image" in inst:
            caption = self._media_caption(inst["image"], "image", ("mimeType",))
            if isinstance(caption, ErrorReply):
                return caption
            prediction["imageEmbedding"] = _vector(caption, dim)
        if "video" in inst:
            caption = self._media_caption(inst["video"], "video", ("videoSegmentConfig",))
            if isinstance(caption, ErrorReply):
                return caption
            segments = _segments(inst["video"].get("videoSegmentConfig") or {})
            if isinstance(segments, ErrorReply):
                return segments
            prediction["videoEmbeddings"] = [
                {"startOffsetSec": a, "endOffsetSec": b, "embedding": _vector(caption, 1408)}
                for a, b in segments
            ]
        return JsonReply({"predictions": [prediction], "deployedModelId": "emulator"})

    def _media_caption(self, spec: Any, kind: str, extra: tuple[str, ...]) -> str | ErrorReply:
        if not isinstance(spec, dict):
            return _bad(f"{kind} must be an object.")
        unknown = set(spec) - {"gcsUri", "bytesBase64Encoded", *extra}
        if unknown:
            return _unknown(sorted(unknown)[0], kind)
        has_uri, has_bytes = "gcsUri" in spec, "bytesBase64Encoded" in spec
        if has_uri == has_bytes:
            return _bad(f"{kind}: exactly one of gcsUri and bytesBase64Encoded must be set.")
        if has_uri:
            uri = spec["gcsUri"]
            if not isinstance(uri, str) or not uri.startswith("gs://"):
                return _bad(f"{kind}.gcsUri must be a gs:// URI.")
            return self.caption(uri=uri)
        try:
            data = base64.b64decode(spec["bytesBase64Encoded"], validate=True)
        except (ValueError, TypeError):
            return _bad(f"{kind}.bytesBase64Encoded is not valid base64.")
        return self.caption(data=data)

    # -- embedContent / batchEmbedContents --------------------------------------------------

    def _embed_content(
        self, body: dict[str, Any], model: str, method: str, *, vertex: bool
    ) -> Sendable:
        if method == "batchEmbedContents":
            requests = body.get("requests")
            if set(body) - {"requests"} or not isinstance(requests, list) or not requests:
                return _bad("requests must be a non-empty list.")
            if not vertex and len(requests) > _STUDIO_BATCH:
                return _bad(
                    f"* BatchEmbedContentsRequest.requests: at most {_STUDIO_BATCH} "
                    "requests can be in one batch"
                )
        else:
            requests = [body]
        out = []
        tokens = 0
        for req in requests:
            result = self._embed_one(req, model, vertex, batch=method == "batchEmbedContents")
            if isinstance(result, ErrorReply):
                return result
            out.append({"values": result[0]})
            tokens += result[1]
        usage = {"promptTokenCount": tokens, "totalTokenCount": tokens}
        if method == "embedContent":
            return JsonReply({"embedding": out[0], "usageMetadata": usage})
        return JsonReply({"embeddings": out, "usageMetadata": usage})

    def _embed_one(
        self, req: Any, model: str, vertex: bool, *, batch: bool
    ) -> tuple[list[float], int] | ErrorReply:
        if not isinstance(req, dict):
            return _bad("Each request must be an object.")
        config = req.get("embedContentConfig") if vertex else None
        fields = dict(req)
        fields.pop("embedContentConfig", None)
        if isinstance(config, dict):
            fields.update(config)
        allowed = {"content", "taskType", "title", "outputDimensionality", "model"}
        if vertex:
            allowed |= {"autoTruncate", "documentOcr", "audioTrackExtraction"}
        for key in fields:
            if key not in allowed:
                return _unknown(key, "EmbedContentRequest")
        named = fields.get("model")
        if named is not None and named.rsplit("/", 1)[-1] != model:
            return _bad(f"The model in the request ({named}) does not match {model}.")
        if not vertex and batch and named is None:
            return _bad("* BatchEmbedContentsRequest.requests[].model: required")
        task = fields.get("taskType")
        if task is not None and task not in _TASK_TYPES:
            return _bad(f"Invalid value at 'taskType', {task!r}.")
        if "title" in fields and task != "RETRIEVAL_DOCUMENT":
            return _bad("Title is only applicable when TaskType is RETRIEVAL_DOCUMENT.")
        native = 3072 if "gemini" in model else 768
        dim = fields.get("outputDimensionality", native)
        if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= native:
            return _bad(f"outputDimensionality must be from 1 to {native}; got {dim!r}.")
        words = self._content_words(fields.get("content"), model, vertex)
        if isinstance(words, ErrorReply):
            return words
        return _vector(words, dim), count_tokens(words)

    def _content_words(self, content: Any, model: str, vertex: bool) -> str | ErrorReply:
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list) or not parts:
            return _bad("content.parts must be a non-empty list.")
        multimodal = "gemini" in model and not model.startswith("gemini-embedding-001")
        words = []
        for part in parts:
            if not isinstance(part, dict) or len(part) != 1:
                return _bad("Each part must have exactly one of text, inlineData, fileData.")
            if "text" in part and isinstance(part["text"], str):
                words.append(part["text"])
                continue
            if not multimodal:
                return _bad(f"{model} embeds text only.")
            if "inlineData" in part:
                try:
                    data = base64.b64decode(part["inlineData"]["data"], validate=True)
                except (KeyError, TypeError, ValueError):
                    return _bad("inlineData.data must be base64.")
                words.append(self.caption(data=data))
            elif "fileData" in part and vertex:
                uri = (
                    part["fileData"].get("fileUri") if isinstance(part["fileData"], dict) else None
                )
                if not isinstance(uri, str):
                    return _bad("fileData.fileUri is required.")
                words.append(self.caption(uri=uri))
            else:
                return _bad(f"Unsupported part: {sorted(part)}.")
        return " ".join(words)


# --------------------------------------------------------------------------- helpers


def _native(registry_key: str, default: int) -> int:
    from polymodal import registry

    info = registry.lookup(registry_key)
    return info.output_vector_size if info is not None and info.output_vector_size else default


def _vector(text: str, dim: int) -> list[float]:
    values = array("f")
    values.frombytes(embed_text(text or "-", dim))
    return [round(x, 9) for x in values]


def _document(inst: Mapping[str, Any]) -> str:
    title = inst.get("title")
    return (
        f"{title} {inst['content']}" if isinstance(title, str) and title else str(inst["content"])
    )


def _check_text_instance(inst: Any, i: int) -> ErrorReply | None:
    if not isinstance(inst, dict):
        return _bad(f"instances[{i}] must be an object.")
    for key in inst:
        if key not in ("content", "task_type", "title"):
            return _bad(
                f"instances[{i}]: unknown field {key!r} (text embedding instances take "
                "content, task_type and title)."
            )
    content = inst.get("content")
    if not isinstance(content, str) or not content:
        return _bad(f"instances[{i}].content must be a non-empty string.")
    task = inst.get("task_type")
    if task is not None and task not in _TASK_TYPES:
        return _bad(f"instances[{i}].task_type {task!r} is not a valid task type.")
    if "title" in inst and task != "RETRIEVAL_DOCUMENT":
        return _bad(f"instances[{i}]: title is only valid with task_type RETRIEVAL_DOCUMENT.")
    return None


def _segments(config: Any) -> list[tuple[int, int]] | ErrorReply:
    if not isinstance(config, dict) or set(config) - {
        "startOffsetSec",
        "endOffsetSec",
        "intervalSec",
    }:
        return _bad("videoSegmentConfig takes startOffsetSec, endOffsetSec and intervalSec.")
    start = config.get("startOffsetSec")
    end = config.get("endOffsetSec")
    interval = config.get("intervalSec", 16)
    for value in (start, end, interval):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return _bad("videoSegmentConfig values must be integers.")
    if start is None:
        start = max(0, (end or VIDEO_SECONDS) - 120)
    end = min(VIDEO_SECONDS, end if end is not None else start + 120)
    if interval < 4 or end <= start:
        return _bad("videoSegmentConfig: intervalSec must be at least 4 and the segment non-empty.")
    return [(a, min(a + interval, end)) for a in range(start, end, interval)]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _text_chunks(png: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"tEXt" and b"\x00" in data:
            key, _, value = data.partition(b"\x00")
            out[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt" and b"\x00" in data:
            key, _, rest = data.partition(b"\x00")
            if rest[:1] == b"\x00":  # uncompressed: flag, method, language\0, keyword\0, text
                fields = rest[2:].split(b"\x00", 2)
                if len(fields) == 3:
                    out[key.decode("latin-1")] = fields[2].decode("utf-8", "replace")
        elif kind == b"IEND":
            break
        pos += 12 + length
    return out


def caption_of_image(data: bytes) -> str | None:
    """Text metadata an image carries: PNG ``tEXt``/``iTXt`` (Description, Caption, Title,
    Comment) or a JPEG ``COM`` segment."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        chunks = _text_chunks(data)
        return next(
            (chunks[k] for k in ("Description", "Caption", "Title", "Comment") if chunks.get(k)),
            None,
        )
    if data.startswith(b"\xff\xd8"):
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            if marker == 0xFE:
                return data[pos + 4 : pos + 2 + length].decode("utf-8", "replace") or None
            if marker == 0xDA:
                break
            pos += 2 + length
    return None


# --------------------------------------------------------------------------- Imagen

_IMAGEN_SIZES = {
    "1:1": (1024, 1024),
    "16:9": (1408, 768),
    "9:16": (768, 1408),
    "4:3": (1280, 896),
    "3:4": (896, 1280),
}
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
_IMAGEN_PARAMS = frozenset(
    {
        "sampleCount",
        "aspectRatio",
        "negativePrompt",
        "seed",
        "addWatermark",
        "safetySetting",
        "personGeneration",
        "enhancePrompt",
        "language",
        "guidanceScale",
        "includeRaiReason",
        "includeSafetyAttributes",
        "sampleImageSize",
        "storageUri",
        "outputOptions",
    }
)


def png_with_caption(width: int, height: int, color: str, caption: str) -> bytes:
    """:func:`~.openai_media.make_png` with a ``tEXt`` ``Description`` chunk after ``IHDR``."""
    png = make_png(width, height, color)
    text = _png_chunk(b"tEXt", b"Description\x00" + caption.encode("latin-1", "replace"))
    return png[:33] + text + png[33:]


def _check_imagen(body: dict[str, Any], model: str) -> ErrorReply | None:
    for key in body:
        if key not in ("instances", "parameters", "labels"):
            return _unknown(key, "PredictRequest")
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        return _bad("Imagen takes exactly one instance.")
    prompt = instances[0].get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return _bad("instances[0].prompt must be a non-empty string.")
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        return _bad("parameters must be an object.")
    unknown = sorted(set(params) - _IMAGEN_PARAMS)
    if unknown:
        return _bad(f"Unsupported parameter(s) for {model}: {', '.join(unknown)}.")
    top = 8 if model == "imagegeneration@002" else 4
    count = params.get("sampleCount", 4)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= top:
        return _bad(f"sampleCount must be from 1 to {top}; got {count!r}.")
    ratio = params.get("aspectRatio", "1:1")
    if ratio not in _IMAGEN_SIZES:
        return _bad(f"Unsupported aspect ratio {ratio!r}: use one of {', '.join(_IMAGEN_SIZES)}.")
    for name, allowed in (("personGeneration", _PERSON), ("safetySetting", _SAFETY)):
        value = params.get(name)
        if value is not None and (not isinstance(value, str) or value.lower() not in allowed):
            return _bad(f"Invalid {name} {value!r}.")
    watermark = model not in ("imagegeneration@002", "imagegeneration@005")
    if "seed" in params and watermark and params.get("addWatermark", True) is not False:
        return _bad(
            "Seed is not supported when addWatermark is enabled; set addWatermark to "
            "false to use a seed."
        )
    mime = (params.get("outputOptions") or {}).get("mimeType", "image/png")
    if mime not in ("image/png", "image/jpeg"):
        return _bad(f"Unsupported output mime type {mime!r}.")
    return None


def _imagen(body: dict[str, Any], model: str, ctx: Context) -> Sendable:
    problem = _check_imagen(body, model)
    if problem is not None:
        return problem
    prompt = str(body["instances"][0]["prompt"])
    params = body.get("parameters") or {}
    count = params.get("sampleCount", 4)
    width, height = _IMAGEN_SIZES[params.get("aspectRatio", "1:1")]
    mime = (params.get("outputOptions") or {}).get("mimeType", "image/png")
    if _UNSAFE in prompt:
        if params.get("includeRaiReason"):
            reason = (
                "Your current safety filter threshold filtered out the generated image. "
                "Support codes: 58061214"
            )
            return JsonReply({"predictions": [{"raiFilteredReason": reason}] * count})
        return JsonReply({})
    predictions = []
    run = ctx.next("imagen")
    for i in range(count):
        pred: dict[str, Any] = {"mimeType": mime}
        storage = params.get("storageUri")
        if isinstance(storage, str):
            ext = "png" if mime == "image/png" else "jpg"
            pred["gcsUri"] = f"{storage.rstrip('/')}/{run}/sample_{i}.{ext}"
        else:
            color = hashlib.blake2b(f"{i}:{prompt}".encode(), digest_size=3).hexdigest()
            raw = (
                make_jpeg(width, height)
                if mime == "image/jpeg"
                else png_with_caption(width, height, color, prompt)
            )
            pred["bytesBase64Encoded"] = base64.b64encode(raw).decode()
        if params.get("enhancePrompt"):
            pred["prompt"] = f"A detailed, high-quality image of {prompt.strip()}"
        predictions.append(pred)
    return JsonReply({"predictions": predictions})


# --------------------------------------------------------------------------- Text-to-Speech

_ENCODINGS = ("LINEAR16", "MP3", "OGG_OPUS", "MULAW", "ALAW", "PCM", "M4A")
_RANGES = {"speakingRate": (0.25, 2.0), "pitch": (-20.0, 20.0), "volumeGainDb": (-96.0, 16.0)}
_AUDIO_FIELDS = frozenset(
    {
        "audioEncoding",
        "speakingRate",
        "pitch",
        "volumeGainDb",
        "sampleRateHertz",
        "effectsProfileId",
    }
)
_VOICE_FIELDS = frozenset(
    {
        "languageCode",
        "name",
        "ssmlGender",
        "modelName",
        "customVoice",
        "voiceClone",
        "multiSpeakerVoiceConfig",
    }
)
_INPUT_FIELDS = frozenset(
    {"text", "ssml", "markup", "prompt", "customPronunciations", "multiSpeakerMarkup"}
)
_GENDERS = ("SSML_VOICE_GENDER_UNSPECIFIED", "MALE", "FEMALE", "NEUTRAL")
_VOICE_LANGUAGE = re.compile(r"^([a-z]{2,3}-(?:[a-z]{2}|\d{3}))-", re.IGNORECASE)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _check_tts(body: dict[str, Any]) -> ErrorReply | None:
    for key in body:
        if key not in ("input", "voice", "audioConfig", "advancedVoiceOptions"):
            return _unknown(key, "SynthesizeSpeechRequest")
    inp, voice, config = body.get("input"), body.get("voice"), body.get("audioConfig")
    if not isinstance(inp, dict) or set(inp) - _INPUT_FIELDS:
        return _bad("input must be an object with text or ssml.")
    if ("text" in inp) == ("ssml" in inp):
        return _bad("Either `input.text` or `input.ssml` must be set, and not both.")
    ssml = inp.get("ssml")
    if ssml is not None:
        try:
            root = ElementTree.fromstring(ssml)
        except ElementTree.ParseError:
            return _bad("Invalid SSML: the document is not well-formed XML.")
        if root.tag.rsplit("}", 1)[-1] != "speak":
            return _bad("Invalid SSML: the root element must be <speak>.")
    size = sum(len(str(v).encode()) for k, v in inp.items() if k in ("text", "ssml", "prompt"))
    if size > 5000:
        return _bad("Either `input.text` or `input.ssml` is longer than the limit of 5000 bytes.")
    if not isinstance(voice, dict) or set(voice) - _VOICE_FIELDS:
        return _bad("voice must be an object (languageCode, name, ssmlGender, ...).")
    language = voice.get("languageCode")
    if not isinstance(language, str) or not language:
        return _bad("voice.languageCode is required.")
    name = voice.get("name")
    named = _VOICE_LANGUAGE.match(name) if isinstance(name, str) else None
    if named is not None and named.group(1).lower() != language.lower():
        return _bad(
            f"Requested language code '{language}' doesn't match the voice '{name}''s "
            "language code."
        )
    if voice.get("ssmlGender") not in (None, *_GENDERS):
        return _bad(f"Invalid value at 'voice.ssml_gender', {voice.get('ssmlGender')!r}.")
    if not isinstance(config, dict) or set(config) - _AUDIO_FIELDS:
        return _bad("audioConfig is required and takes audioEncoding, speakingRate, pitch, ...")
    if config.get("audioEncoding") not in _ENCODINGS:
        return _bad(
            f"Invalid value at 'audio_config.audio_encoding', {config.get('audioEncoding')!r}."
        )
    for key, (low, high) in _RANGES.items():
        if key in config:
            value = _number(config[key])
            if value is None or not (low <= value <= high or (key == "speakingRate" and not value)):
                return _bad(f"audio_config.{key} must be in [{low}, {high}]; got {config[key]!r}.")
    rate = config.get("sampleRateHertz")
    if rate is not None and (not isinstance(rate, int) or not 8000 <= rate <= 48000):
        return _bad(f"Unsupported sample rate {rate!r}.")
    return None


def _synthesize(body: dict[str, Any]) -> Sendable:
    problem = _check_tts(body)
    if problem is not None:
        return problem
    inp = body["input"]
    text = inp.get("text") or re.sub(r"<[^>]+>", " ", inp.get("ssml", ""))
    config = body["audioConfig"]
    speed = _number(config.get("speakingRate")) or 1.0
    audio = make_tts_audio(
        config["audioEncoding"],
        max(1, len(text.split())),
        speed,
        int(config.get("sampleRateHertz") or RATE),
    )
    return JsonReply({"audioContent": base64.b64encode(audio).decode()})


def _resample(pcm: bytes, rate: int) -> bytes:
    if rate == RATE:
        return pcm
    samples = array("h")
    samples.frombytes(pcm)
    count = max(1, len(samples) * rate // RATE)
    return array("h", (samples[i * RATE // rate] for i in range(count))).tobytes()


def _wav(payload: bytes, rate: int, fmt: int, bits: int) -> bytes:
    block = bits // 8
    head = struct.pack("<HHIIHH", fmt, 1, rate, rate * block, block, bits)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(head)) + head
    riff += b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(riff)) + riff


def _mulaw(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _alaw(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(sample), 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


def _m4a(seconds: float) -> bytes:
    ftyp = b"ftypM4A " + struct.pack(">I", 0) + b"M4A isomiso2"
    scale, duration = 1000, int(seconds * 1000)
    mvhd = b"mvhd" + bytes(4) + struct.pack(">IIII", 0, 0, scale, duration) + bytes(80)
    moov = b"moov" + struct.pack(">I", len(mvhd) + 4) + mvhd
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", len(moov) + 4) + moov


def make_tts_audio(encoding: str, words: int, speed: float, rate: int = RATE) -> bytes:
    """A short, well-formed clip in a Cloud TTS ``audioEncoding`` (see the module docstring)."""
    pcm = _resample(make_samples(words, speed), rate)
    seconds = len(pcm) / 2 / rate
    if encoding == "LINEAR16":
        return _wav(pcm, rate, 1, 16)
    if encoding == "PCM":
        return pcm
    if encoding in ("MULAW", "ALAW"):
        samples = array("h")
        samples.frombytes(pcm)
        law = _mulaw if encoding == "MULAW" else _alaw
        return _wav(bytes(law(s) for s in samples), rate, 7 if encoding == "MULAW" else 6, 8)
    if encoding == "OGG_OPUS":
        return make_opus(seconds)
    if encoding == "M4A":
        return _m4a(seconds)
    return make_mp3(seconds)
