"""``PolymodalEmbeddings``: LangChain embeddings over the polymodal core, text and multimodal.

from langchain_polymodal import PolymodalEmbeddings

emb = PolymodalEmbeddings(model="openai/text-embedding-3-small", dimensions=512)
vectors = emb.embed_documents(["a red fox", "a lazy dog"])
query = emb.embed_query("which animal is quick?")

mm = PolymodalEmbeddings(model="vertex_ai/multimodalembedding@001")
pictures = mm.embed_image(["gs://bucket/fox.jpg", "data:image/png;base64,iVBOR..."])
words = mm.embed_query("a fox")       # same vector space as ``pictures``
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, TextIO

from langchain_core.embeddings import Embeddings
from pydantic import Field, PrivateAttr

from polymodal.errors import BadRequestError, PolymodalError

from ._media_common import ProviderFields, lc_error

if TYPE_CHECKING:
    from polymodal._embedding import PreparedEmbedding
    from polymodal.types import MediaPart

__all__ = ["PolymodalEmbeddings"]

DOCUMENT_TASK_TYPE = "RETRIEVAL_DOCUMENT"
QUERY_TASK_TYPE = "RETRIEVAL_QUERY"
# Inputs per request for the OpenAI family when ``batch_size`` is unset: OpenAI caps a request
# at 2,048 inputs *and* 300,000 tokens, so 2,048 inputs of a few hundred tokens each already
# fail; 1,000 leaves room for ~300-token chunks (the usual RAG chunk size). Other formats use
# the most inputs their API takes per request (the core knows it).
OPENAI_FAMILY_BATCH = 1000
_OPENAI_FORMAT = "polymodal.apis.openai_embeddings"
_TASK_TYPE_PARAMS = frozenset({"input_type", "task_type"})


class PolymodalEmbeddings(ProviderFields, Embeddings):
    """Embeddings from any model polymodal routes: ``openai/text-embedding-3-small``,
    ``azure/<deployment>``, ``openai/<model>`` + ``api_base`` for an OpenAI-compatible server
    (vLLM, TEI, Ollama, ...), ``vertex_ai/text-embedding-004`` and the multimodal
    ``vertex_ai/multimodalembedding@001`` where the core supports them.

    **Task types.** Documents are embedded with ``task_type`` and queries with
    ``query_task_type``. Left unset, they default to ``RETRIEVAL_DOCUMENT`` /
    ``RETRIEVAL_QUERY`` *for models whose wire format takes a task type* (the core's own
    check decides; Vertex text embeddings take one), and nothing is sent to the others
    (OpenAI refuses ``input_type``). A task type you set explicitly is always sent, so a model
    that can't take it fails with a clear ``UnsupportedParamsError`` instead of silently
    embedding without it.

    **Batching.** Inputs are sent ``batch_size`` per request (unset: 1,000 for the OpenAI
    family, else the most the provider takes per request), vectors returned in input order.
    The async methods send up to ``max_concurrency`` requests at once on the event loop; the
    sync methods do the same on a small thread pool (``max_concurrency`` threads, only when there
    is more than one batch; the pooled HTTP client is thread-safe). ``max_concurrency=1`` sends
    batches one after another.

    **Progress.** ``show_progress=True`` shows a bar per call: ``tqdm``'s if it is installed,
    else a one-line counter on stderr.

    **Multimodal.** ``embed_image``, ``embed_video`` and ``embed_multimodal`` embed media with a
    multimodal model, in the same vector space as its text vectors. A model the registry knows
    to embed text only is refused before any request.

    Errors are langchain-core's ``Model*Error`` classes that are polymodal's too
    (``langchain_polymodal.errors``).
    """

    model: str = Field(alias="model_name")
    """``provider/model``, e.g. ``openai/text-embedding-3-small``."""
    dimensions: int | None = None
    """Output size, for models that take one (``text-embedding-3-*``, Vertex models)."""
    task_type: str | None = None
    """Task type for ``embed_documents`` (and the multimodal methods' text); see above."""
    query_task_type: str | None = None
    """Task type for ``embed_query``; see above."""
    batch_size: int | None = Field(default=None, gt=0)
    """Inputs per request; unset: 1,000 for the OpenAI family, else the provider's maximum."""
    max_concurrency: int = Field(default=4, gt=0)
    """Requests in flight at once when a call needs several batches."""
    show_progress: bool = False
    """Show progress over the batches of each call (tqdm if installed, else stderr)."""
    user: str | None = None

    _task_type_taken: dict[str, bool] = PrivateAttr(default_factory=dict)

    # -- the Embeddings interface ----------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed ``texts`` (one vector per text, in order)."""
        return self._embed(self._texts(texts), self.task_type, DOCUMENT_TASK_TYPE)

    def embed_query(self, text: str) -> list[float]:
        """Embed one query text."""
        return self._embed(self._texts([text]), self.query_task_type, QUERY_TASK_TYPE)[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async twin of :meth:`embed_documents` (native async, batches sent concurrently)."""
        return await self._aembed(self._texts(texts), self.task_type, DOCUMENT_TASK_TYPE)

    async def aembed_query(self, text: str) -> list[float]:
        """Async twin of :meth:`embed_query`."""
        return (await self._aembed(self._texts([text]), self.query_task_type, QUERY_TASK_TYPE))[0]

    def _texts(self, texts: Sequence[str]) -> list[Any]:
        """Texts stay text: for a multimodal model (which reads a whole ``gs://`` URI or
        ``data:`` URL as media) such a text is sent as ``{"text": ...}``."""
        out: list[Any] = list(texts)
        if any(_looks_like_media(t) for t in out) and self._multimodal():
            out = [{"text": t} if _looks_like_media(t) else t for t in out]
        return out

    def _multimodal(self) -> bool:
        from polymodal import registry

        return registry.supports(self.model, "vision") is True

    # -- multimodal ------------------------------------------------------------------------

    def embed_image(self, uris: Sequence[str]) -> list[list[float]]:
        """Embed images given as ``gs://``, ``http(s)://`` or ``data:`` URLs (or bare base64),
        one vector per image, in the space of this model's text vectors."""
        return self.embed_multimodal([{"image": u} for u in _uri_list(uris)])

    async def aembed_image(self, uris: Sequence[str]) -> list[list[float]]:
        """Async twin of :meth:`embed_image`."""
        return await self.aembed_multimodal([{"image": u} for u in _uri_list(uris)])

    def embed_video(
        self,
        uris: Sequence[str],
        *,
        start_offset_sec: int | None = None,
        end_offset_sec: int | None = None,
        interval_sec: int | None = None,
    ) -> list[list[float]]:
        """Embed videos (``gs://...mp4`` or ``data:video/...`` URLs), one vector per video.

        The offsets pick the part of each video to embed; a provider that answers with one
        vector per ``interval_sec`` segment (Vertex) gets their mean from the core. For one
        vector per segment, embed each segment as its own item with :meth:`embed_multimodal`.
        """
        segment = _segment(start_offset_sec, end_offset_sec, interval_sec)
        return self.embed_multimodal([{"video": u, **segment} for u in _uri_list(uris)])

    async def aembed_video(
        self,
        uris: Sequence[str],
        *,
        start_offset_sec: int | None = None,
        end_offset_sec: int | None = None,
        interval_sec: int | None = None,
    ) -> list[list[float]]:
        """Async twin of :meth:`embed_video`."""
        segment = _segment(start_offset_sec, end_offset_sec, interval_sec)
        return await self.aembed_multimodal([{"video": u, **segment} for u in _uri_list(uris)])

    def embed_multimodal(self, items: Sequence[Any]) -> list[list[float]]:
        """Embed a mix of texts and media, one vector per item, in order.

        An item is a string (text), or the core's item format: ``{"text": ...}``,
        ``{"image": <gs:// or data: URL>, "mime_type": optional}``, ``{"video": <URL>,
        "start_offset_sec"/"end_offset_sec"/"interval_sec": optional}``; or a LangChain content
        block: ``{"type": "text", "text": ...}``, ``{"type": "image" | "video", "url" | "base64":
        ..., "mime_type": ...}``, OpenAI's ``{"type": "image_url", "image_url": {"url": ...}}``.
        Texts use ``task_type`` where the model takes one (Vertex's multimodal model does not).
        """
        inputs = self._multimodal_inputs(items)
        return self._embed(inputs, self.task_type, DOCUMENT_TASK_TYPE)

    async def aembed_multimodal(self, items: Sequence[Any]) -> list[list[float]]:
        """Async twin of :meth:`embed_multimodal`."""
        inputs = self._multimodal_inputs(items)
        return await self._aembed(inputs, self.task_type, DOCUMENT_TASK_TYPE)

    # -- request building ------------------------------------------------------------------

    def _params(self, async_: bool) -> dict[str, Any]:
        params = self._option_params(async_)
        for name in ("dimensions", "user"):
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        return params

    def _prepare(
        self, inputs: list[Any], explicit: str | None, default: str, async_: bool
    ) -> PreparedEmbedding:
        """Validate everything (all inputs, the task type) before any request is sent."""
        from polymodal._embedding import prepare_embedding

        params = self._params(async_)
        given = any(params.get(k) is not None for k in _TASK_TYPE_PARAMS)  # via model_kwargs
        if explicit is not None and not given:
            params["input_type"] = explicit
        use_default = explicit is None and not given
        taken = self._task_type_taken.get(self.model) if use_default else False
        try:
            if taken:
                return prepare_embedding(self.model, inputs, {**params, "input_type": default})
            prepared = prepare_embedding(self.model, inputs, params)
            if taken is None and self._takes_task_type(prepared, default):
                prepared = prepare_embedding(self.model, inputs, {**params, "input_type": default})
        except PolymodalError as exc:
            raise lc_error(exc) from exc.__cause__
        return prepared

    def _takes_task_type(self, prepared: PreparedEmbedding, task_type: str) -> bool:
        """Whether the wire format takes a task type for this model: asked once per model, of
        the format's own pure ``check`` (no request is sent, nothing is warned)."""
        target = prepared.target
        probe = dataclasses.replace(
            prepared.request, inputs=["probe"], scalar=False, input_type=task_type,
            dimensions=None, user=None, provider_params={}, extra_body={},
        )  # fmt: skip
        try:
            target.api.check(probe, dialect=target.dialect, drop_params=False)
            found = True
        except PolymodalError:
            found = False
        self._task_type_taken[self.model] = found
        return found

    def _batches(self, prepared: PreparedEmbedding) -> list[PreparedEmbedding]:
        """``batch_size`` inputs per request (capped at the provider's count limit), further
        split where the wire format has more limits than a count (Vertex: tokens per request),
        so every request this call makes is one unit of concurrency and of progress."""
        req = prepared.request
        api, dialect = prepared.target.api, prepared.target.dialect
        limit = api.max_inputs(dialect)
        size = self.batch_size
        if size is None:
            size = OPENAI_FAMILY_BATCH if api.__name__ == _OPENAI_FORMAT else limit
        size = max(1, min(size, limit))
        if len(req.inputs) <= size:
            requests = [req]
        else:
            requests = [
                dataclasses.replace(req, inputs=req.inputs[i : i + size])
                for i in range(0, len(req.inputs), size)
            ]
        split = getattr(api, "batches", None)
        if split is not None:
            requests = [part for r in requests for part in split(r, dialect)]
        if len(requests) == 1:
            return [prepared]
        return [dataclasses.replace(prepared, request=r) for r in requests]

    # -- sending ---------------------------------------------------------------------------

    def _embed(self, inputs: list[Any], explicit: str | None, default: str) -> list[list[float]]:
        if not inputs:
            return []
        from polymodal._embedding import run_embedding

        batches = self._batches(self._prepare(inputs, explicit, default, async_=False))
        progress = _Progress.start(self.show_progress, len(inputs), len(batches))
        results: list[list[list[float]] | None] = [None] * len(batches)

        def one(i: int) -> int:
            results[i] = run_embedding(batches[i]).vectors
            return i

        try:
            workers = min(self.max_concurrency, len(batches))
            if workers <= 1:
                for i in range(len(batches)):
                    one(i)
                    progress.advance(len(batches[i].request.inputs))
            else:
                with ThreadPoolExecutor(workers, thread_name_prefix="polymodal-embed") as pool:
                    futures = [pool.submit(one, i) for i in range(len(batches))]
                    try:
                        for future in as_completed(futures):
                            i = future.result()
                            progress.advance(len(batches[i].request.inputs))
                    except BaseException:
                        for f in futures:
                            f.cancel()
                        raise
        except PolymodalError as exc:
            raise lc_error(exc) from exc.__cause__
        finally:
            progress.close()
        return [v for vectors in results if vectors is not None for v in vectors]

    async def _aembed(
        self, inputs: list[Any], explicit: str | None, default: str
    ) -> list[list[float]]:
        if not inputs:
            return []
        from polymodal._embedding import arun_embedding

        batches = self._batches(self._prepare(inputs, explicit, default, async_=True))
        progress = _Progress.start(self.show_progress, len(inputs), len(batches))
        gate = asyncio.Semaphore(self.max_concurrency)

        async def one(batch: PreparedEmbedding) -> list[list[float]]:
            async with gate:
                vectors = (await arun_embedding(batch)).vectors
            progress.advance(len(batch.request.inputs))
            return vectors

        tasks = [asyncio.ensure_future(one(b)) for b in batches]
        try:
            done = await asyncio.gather(*tasks)
        except PolymodalError as exc:
            raise lc_error(exc) from exc.__cause__
        finally:
            for task in tasks:  # one batch failed (or we were cancelled): stop the others
                task.cancel()
            progress.close()
        return [v for vectors in done for v in vectors]

    # -- multimodal inputs -----------------------------------------------------------------

    def _multimodal_inputs(self, items: Sequence[Any]) -> list[Any]:
        if isinstance(items, str | bytes | Mapping):
            raise TypeError("embed_multimodal takes a list of items (strings or dicts)")
        try:
            inputs = [_core_item(item, i) for i, item in enumerate(items)]
        except PolymodalError as exc:
            raise lc_error(exc) from exc.__cause__
        self._check_media(inputs)
        return inputs

    def _check_media(self, inputs: list[Any]) -> None:
        """Refuse media for a model the registry knows to embed text only (before any I/O)."""
        from polymodal import registry

        kinds = _media_kinds(inputs)
        wanted: list[tuple[str, str]] = []
        if "image" in kinds:
            wanted.append(("images", "vision"))
        if "video" in kinds:
            wanted.append(("video", "video_input"))
        if not wanted:
            return
        info = registry.lookup(self.model)
        if info is None or info.mode not in (None, "embedding"):
            return  # unknown to the registry: the core and the provider decide
        for what, capability in wanted:
            if registry.supports(self.model, capability) is not True:
                exc = BadRequestError(
                    f"model {self.model!r} embeds text only (the registry lists no {what} "
                    f"input for {info.key!r}); use a multimodal embedding model such as "
                    "vertex_ai/multimodalembedding@001, or register_model("
                    f"{info.key!r}, supports_{capability}=True) if yours takes {what}",
                    model=self.model,
                    param="input",
                )
                raise lc_error(exc)


# --------------------------------------------------------------------------- helpers


def _uri_list(uris: Sequence[str]) -> list[str]:
    if isinstance(uris, str):
        raise TypeError("pass a list of URIs, e.g. embed_image([uri])")
    return list(uris)


_MEDIA_KEYS = ("image", "video")


def _segment(start: int | None, end: int | None, interval: int | None) -> dict[str, int]:
    given = {"start_offset_sec": start, "end_offset_sec": end, "interval_sec": interval}
    return {k: v for k, v in given.items() if v is not None}


_SEGMENT_KEYS = frozenset({"start_offset_sec", "end_offset_sec", "interval_sec"})
_LOOKS_LIKE_MEDIA = ("gs://", "data:")


def _core_item(item: Any, index: int) -> str | MediaPart | dict[str, Any]:
    """One multimodal item -> what the core's embedding ``input`` takes.

    Texts become strings (kept as ``{"text": ...}`` when they look like a ``gs://`` URI or a
    ``data:`` URL, which a multimodal model would otherwise read as media); images and videos
    become the core's ``ImagePart`` / ``VideoPart``; a video with segment settings
    (``start_offset_sec``, ``end_offset_sec``, ``interval_sec``) goes as the core's
    ``{"video": ..., ...}`` item, which carries them.
    """
    from polymodal import media
    from polymodal.types import ImagePart, MediaSource, VideoPart

    param = f"input[{index}]"
    if isinstance(item, str):
        return item
    if not isinstance(item, Mapping):
        raise BadRequestError(f"{param}: expected a string or a dict, got {type(item).__name__}",
                              param="input")  # fmt: skip
    kind = item.get("type")
    mime: Any = item.get("mime_type")
    if kind is None:  # the core's own item format: {"text"} / {"image", ...} / {"video", ...}
        keys = [k for k in ("text", *_MEDIA_KEYS) if k in item]
        if len(keys) != 1:
            raise BadRequestError(
                f"{param}: expected exactly one of 'text', 'image', 'video', got keys "
                f"{sorted(map(str, item))}",
                param="input",
            )
        kind, value = keys[0], item[keys[0]]
        if kind == "text":
            return _text_item(value, param)
        if kind == "video" and _SEGMENT_KEYS & item.keys():
            return dict(item)  # the core validates the segment settings
        url = value
    elif kind == "text":
        return _text_item(item.get("text"), param)
    elif kind == "image_url":
        inner = item.get("image_url")
        url = inner.get("url") if isinstance(inner, Mapping) else inner
        kind, mime = "image", None
    elif kind in _MEDIA_KEYS:
        if item.get("base64"):
            source = MediaSource(data=str(item["base64"]), mime_type=mime)
            return ImagePart(source) if kind == "image" else VideoPart(source)
        url = item.get("url")
    else:
        raise BadRequestError(f"{param}: content blocks of type {kind!r} can't be embedded "
                              "(text, image or video)", param="input")  # fmt: skip
    if not isinstance(url, str):
        raise BadRequestError(f"{param}: the {kind} needs a URL string", param="input")
    source = media.source_from_url(url, mime if isinstance(mime, str) else None, param=param)
    return ImagePart(source) if kind == "image" else VideoPart(source)


def _looks_like_media(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip()[:5].lower() in _LOOKS_LIKE_MEDIA


def _text_item(value: Any, param: str) -> str | dict[str, Any]:
    if not isinstance(value, str):
        raise BadRequestError(f"{param}: the text must be a string", param="input")
    return {"text": value} if _looks_like_media(value) else value


def _media_kinds(inputs: list[Any]) -> set[str]:
    from polymodal.types import ImagePart, VideoPart

    kinds: set[str] = set()
    for item in inputs:
        if isinstance(item, ImagePart) or (isinstance(item, Mapping) and "image" in item):
            kinds.add("image")
        elif isinstance(item, VideoPart) or (isinstance(item, Mapping) and "video" in item):
            kinds.add("video")
    return kinds


class _Progress:
    """Progress over one call's batches: tqdm if installed, else a stderr counter."""

    def __init__(self, total: int, batches: int) -> None:
        self.total = total
        self.batches = batches
        self.done = 0
        self.batches_done = 0
        self._bar: Any = None
        self._stream: TextIO = sys.stderr
        self._write: Callable[[], None] | None = None
        if importlib.util.find_spec("tqdm") is not None:  # optional: never a dependency
            tqdm = importlib.import_module("tqdm.auto").tqdm
            self._bar = tqdm(total=total, desc="Embedding", unit="input")
        else:
            self._write = self._line
            self._line()

    @classmethod
    def start(cls, show: bool, total: int, batches: int) -> _Progress | _NoProgress:
        return cls(total, batches) if show and batches > 1 else _NoProgress()

    def _line(self) -> None:
        self._stream.write(
            f"\rEmbedding: {self.done:,}/{self.total:,} inputs "
            f"({self.batches_done}/{self.batches} batches)"
        )
        self._stream.flush()

    def advance(self, n: int) -> None:
        self.done += n
        self.batches_done += 1
        if self._bar is not None:
            self._bar.update(n)
        elif self._write is not None:
            self._write()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._write is not None:
            self._stream.write("\n")
            self._stream.flush()
            self._write = None


class _NoProgress:
    def advance(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass
