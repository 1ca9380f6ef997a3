"""The OpenAI-shaped results of ``embedding``, ``image_generation`` and ``speech`` (pydantic v2).

``EmbeddingResponse`` and ``ImageResponse`` follow OpenAI's ``CreateEmbeddingResponse`` and
``ImagesResponse`` field for field (attribute and dict-style access, unknown keys kept, as in
:mod:`polymodal.objects`). ``SpeechResponse`` holds the audio bytes with their mime type.
They are built with ``model_construct`` from already-decoded data: a 2,000-vector answer is
not validated float by float.
"""

from __future__ import annotations

import base64
import functools
import os
from typing import Any

from pydantic import field_serializer

from polymodal.objects import OpenAIObject


class Embedding(OpenAIObject):
    object: str = "embedding"
    index: int
    embedding: list[float]


class EmbeddingUsage(OpenAIObject):
    prompt_tokens: int = 0
    total_tokens: int = 0


_EMBEDDING_FIELDS = {"object", "index", "embedding"}  # shared: every field is always set


def _fast_embedding(index: int, vector: list[float]) -> Embedding:
    """What ``Embedding.model_construct(object=..., index=..., embedding=...)`` builds, in a
    third of its allocations: with thousands of long float lists alive, each allocation brings
    the cyclic GC closer to re-walking them (measured: 2,000 x 1,536 floats, render 34 ms ->
    under 10 ms). Used only if :func:`_fast_ok` finds it identical to ``model_construct``."""
    obj = object.__new__(Embedding)
    object.__setattr__(
        obj, "__dict__", {"object": "embedding", "index": index, "embedding": vector}
    )
    object.__setattr__(obj, "__pydantic_fields_set__", _EMBEDDING_FIELDS)
    object.__setattr__(obj, "__pydantic_extra__", {})
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


@functools.cache
def _fast_ok() -> bool:
    """Whether this pydantic builds models the way :func:`_fast_embedding` assumes."""
    try:
        ours = _fast_embedding(3, [0.5])
        theirs = Embedding.model_construct(object="embedding", index=3, embedding=[0.5])
        return (
            ours == theirs
            and ours.model_dump() == theirs.model_dump()
            and ours.__pydantic_fields_set__ == theirs.__pydantic_fields_set__
            and ours.__pydantic_extra__ == theirs.__pydantic_extra__
            and ours.__pydantic_private__ == theirs.__pydantic_private__
            and set(vars(ours)) == set(vars(theirs))
        )
    except Exception:  # any change in pydantic's internals: use the public constructor
        return False


def embeddings(vectors: list[list[float]]) -> list[Embedding]:
    """``Embedding`` objects for ``vectors`` (``index`` = position), without validation."""
    if _fast_ok():
        return [_fast_embedding(i, v) for i, v in enumerate(vectors)]
    return [
        Embedding.model_construct(object="embedding", index=i, embedding=v)
        for i, v in enumerate(vectors)
    ]


class EmbeddingResponse(OpenAIObject):
    """``.data[i].embedding`` is the vector of input ``i`` (input order, always floats)."""

    object: str = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage | None = None
    provider_specific_fields: dict[str, Any] | None = None


class Image(OpenAIObject):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class ImageResponse(OpenAIObject):
    """``.data[i].url`` or ``.data[i].b64_json``; ``.usage`` when the model reports it."""

    created: int
    data: list[Image]
    usage: dict[str, Any] | None = None
    background: str | None = None
    output_format: str | None = None
    quality: str | None = None
    size: str | None = None
    provider_specific_fields: dict[str, Any] | None = None

    @property
    def revised_prompt(self) -> str | None:
        """The first image's revised prompt (DALL-E 3 rewrites prompts), if any."""
        return next((d.revised_prompt for d in self.data if d.revised_prompt), None)


class SpeechResponse(OpenAIObject):
    """Synthesised audio: ``content`` (bytes) and its ``mime_type``.

    ``mime_type`` follows what came back (the bytes' own signature, else the response's
    ``Content-Type``, else the requested ``response_format``): mp3 ``audio/mpeg``, opus
    ``audio/ogg`` (Opus in Ogg), aac ``audio/aac``, flac ``audio/flac``, wav ``audio/wav``, pcm
    ``audio/L16;rate=24000;channels=1`` (OpenAI's pcm is 24 kHz 16-bit mono, little-endian;
    RFC 2586 L16 is big-endian, so swap bytes before handing it to a strict L16 consumer).
    """

    content: bytes
    mime_type: str
    response_format: str | None = None
    model: str | None = None

    def __repr__(self) -> str:
        return (
            f"SpeechResponse(mime_type={self.mime_type!r}, {len(self.content)} bytes, "
            f"response_format={self.response_format!r}, model={self.model!r})"
        )

    __str__ = __repr__

    @field_serializer("content", when_used="json")
    def _content_as_base64(self, content: bytes) -> str:
        """JSON has no bytes: the audio goes as standard base64 (``to_base64()``)."""
        return base64.b64encode(content).decode("ascii")

    def read(self) -> bytes:
        """The audio bytes (as the OpenAI SDK's binary responses offer)."""
        return self.content

    def to_base64(self) -> str:
        return base64.b64encode(self.content).decode("ascii")

    def stream_to_file(self, path: str | os.PathLike[str]) -> None:
        """Write the audio to ``path`` (the bytes are already here: one write)."""
        with open(path, "wb") as f:
            f.write(self.content)

    write_to_file = stream_to_file


__all__ = [
    "Embedding",
    "EmbeddingResponse",
    "EmbeddingUsage",
    "Image",
    "ImageResponse",
    "SpeechResponse",
    "embeddings",
]
