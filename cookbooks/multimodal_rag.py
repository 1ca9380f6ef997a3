"""Multimodal RAG: pictures and texts in one vector store, a text question, a vision answer.

    python cookbooks/multimodal_rag.py                    # offline, on the built-in emulator
    GOOGLE_APPLICATION_CREDENTIALS=/path/to/sa.json VERTEXAI_PROJECT=my-project \\
        python cookbooks/multimodal_rag.py                # live, Vertex AI (multimodal vectors)
    OPENAI_API_KEY=... python cookbooks/multimodal_rag.py --setup openai   # live, OpenAI

The pipeline (LCEL): question -> retriever over an ``InMemoryVectorStore`` -> a prompt that
carries the retrieved picture as an image content block -> ``ChatPolymodal`` (a vision model)
-> answer.

Two setups:

* ``vertex`` (the default): ``vertex_ai/multimodalembedding@001`` embeds the pictures themselves
  and the texts into ONE vector space (``PolymodalEmbeddings.embed_multimodal``), so a text
  question finds a picture by what it shows; ``vertex_ai/gemini-2.5-flash`` answers looking at
  the retrieved picture.
* ``openai``: OpenAI's embeddings are text-only, so each picture is indexed by its caption
  (``openai/text-embedding-3-small``) and ``openai/gpt-4o`` answers looking at the picture.

Without credentials the script starts ``polymodal.testing.Emulator`` (a real HTTP server on
127.0.0.1 that speaks the providers' wire formats and, for Vertex, Google's OAuth2 token
endpoint, with a service account it made) and says so: the vectors and the answer then come
from the emulator, not from a model (its embeddings are word-hashing vectors and its answer
quotes the question), while the requests are exactly what would go to the provider. The
pictures are small PNGs drawn by this script, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import struct
import sys
import threading
import zlib
from typing import Any

import httpx
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_polymodal import ChatPolymodal, PolymodalEmbeddings

QUESTION = "Which picture shows the sea at sunset, and what colours does it have?"
# (name, caption, colour bands from top to bottom as RGB)
PICTURES = [
    ("sunset.png", "A sunset over the sea: an orange sky above dark blue water.",
     [(250, 140, 40), (240, 90, 30), (20, 40, 110)]),
    ("forest.png", "A pine forest in summer: rows of dense green trees.",
     [(120, 180, 240), (30, 120, 40), (20, 80, 30)]),
    ("mountain.png", "A snowy mountain peak under a pale grey sky.",
     [(200, 200, 205), (245, 245, 250), (110, 110, 120)]),
]  # fmt: skip
TEXTS = [
    "Lighthouses guide ships along dangerous coasts with a rotating light.",
    "Pine trees keep their needles all year and grow well in cold climates.",
    "Alpine glaciers are retreating as summers get warmer.",
]
SETUPS = {
    "vertex": {
        "embeddings": "vertex_ai/multimodalembedding@001",
        "chat": "vertex_ai/gemini-2.5-flash",
        "live_env": ("GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT"),
    },
    "openai": {
        "embeddings": "openai/text-embedding-3-small",
        "chat": "openai/gpt-4o",
        "live_env": ("OPENAI_API_KEY",),
    },
}


def draw_png(
    bands: list[tuple[int, int, int]], caption: str, size: tuple[int, int] = (96, 64)
) -> bytes:
    """A PNG of horizontal colour bands carrying ``caption`` as its ``Description`` (a standard
    PNG ``tEXt`` chunk). A real multimodal model embeds the pixels; the emulator, which can't
    see, embeds an image by the words of its caption, so offline retrieval still means
    something."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    width, height = size
    rows = b"".join(
        b"\x00" + bytes(bands[min(y * len(bands) // height, len(bands) - 1)]) * width
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Description\x00" + caption.encode("latin-1"))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _short(value: Any) -> Any:
    """Long strings (base64 images, vectors) shortened so the wire dump stays readable."""
    if isinstance(value, str) and len(value) > 100:
        return value[:50] + f"... ({len(value)} chars)"
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) > 6 and all(isinstance(v, int | float) for v in value):
            return [*value[:3], f"... ({len(value)} numbers)"]
        return [_short(v) for v in value]
    return value


class Wire:
    """Prints every request polymodal sends (an httpx event hook: no monkeypatching)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # batches of embeddings go out from several threads

    def hook(self, request: httpx.Request) -> None:
        body = json.loads(request.content) if request.content else {}
        text = json.dumps(_short(body), ensure_ascii=False)
        with self._lock:
            print(f"  >> {request.method} {request.url.path}\n     {text[:700]}", flush=True)


def section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


class PictureAwareEmbeddings(Embeddings):
    """Lets ``InMemoryVectorStore`` index pictures next to texts with a multimodal model.

    A document whose ``page_content`` is an image ``data:`` URL is embedded as the image
    (``embed_multimodal``); anything else as text. Queries are text.
    """

    def __init__(self, inner: PolymodalEmbeddings) -> None:
        self.inner = inner

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        items = [{"image": t} if t.startswith("data:image/") else t for t in texts]
        return self.inner.embed_multimodal(items)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def index(setup: str, embeddings: PolymodalEmbeddings) -> InMemoryVectorStore:
    pictures = [
        (name, caption, data_url(draw_png(bands, caption))) for name, caption, bands in PICTURES
    ]
    if setup == "vertex":
        # The picture itself is embedded: its vector lives in the same space as the texts'.
        store = InMemoryVectorStore(PictureAwareEmbeddings(embeddings))
        docs = [
            Document(page_content=url, metadata={"kind": "picture", "name": name,
                                                 "caption": caption, "image": url})
            for name, caption, url in pictures
        ]  # fmt: skip
    else:
        # A text-only model can't see pictures: each is indexed by its caption.
        store = InMemoryVectorStore(embeddings)
        docs = [
            Document(page_content=caption, metadata={"kind": "picture", "name": name,
                                                     "caption": caption, "image": url})
            for name, caption, url in pictures
        ]  # fmt: skip
    docs += [Document(page_content=t, metadata={"kind": "text"}) for t in TEXTS]
    store.add_documents(docs)
    return store


def to_messages(inputs: dict[str, Any]) -> list[Any]:
    """The retrieved documents -> a vision prompt carrying the picture as an image block."""
    content: list[dict[str, Any]] = [{"type": "text", "text": inputs["question"]}]
    for doc in inputs["docs"]:
        if doc.metadata.get("kind") == "picture":
            mime, _, b64 = doc.metadata["image"].removeprefix("data:").partition(";base64,")
            content.append({"type": "text", "text": f"Picture {doc.metadata['name']}:"})
            content.append({"type": "image", "base64": b64, "mime_type": mime})
        else:
            content.append({"type": "text", "text": f"Note: {doc.page_content}"})
    return [
        SystemMessage("Answer from the pictures and notes you are given, in one sentence."),
        HumanMessage(content=content),  # type: ignore[arg-type]
    ]


def describe(doc: Document) -> str:
    if doc.metadata.get("kind") == "picture":
        return f"picture {doc.metadata['name']} ({doc.metadata['caption']})"
    return f"text: {doc.page_content}"


def run(setup: str, embeddings: PolymodalEmbeddings, llm: ChatPolymodal) -> str:
    section(f"1. Index {len(PICTURES)} pictures and {len(TEXTS)} texts with {embeddings.model}")
    store = index(setup, embeddings)
    print(f"indexed {len(store.store)} documents")

    section("2. Retrieve for a text question")
    print(f"question: {QUESTION}")
    for doc, score in store.similarity_search_with_score(QUESTION, k=len(store.store)):
        print(f"  {score:+.3f}  {describe(doc)}")

    section(f"3. Answer with {llm.model}, shown the retrieved picture")
    retriever = store.as_retriever(search_kwargs={"k": 1})
    chain = RunnableParallel(docs=retriever, question=RunnablePassthrough()).assign(
        answer=RunnableLambda(to_messages) | llm | StrOutputParser()
    )
    out = chain.invoke(QUESTION)
    answer: str = out["answer"]
    print(f"retrieved: {describe(out['docs'][0])}")
    print(f"answer: {answer}")
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--setup", choices=sorted(SETUPS), default="vertex",
                        help="which provider's models to use (default: %(default)s)")  # fmt: skip
    parser.add_argument("--offline", action="store_true", help="use the emulator even with keys")
    args = parser.parse_args(argv)
    setup = SETUPS[args.setup]
    wire = Wire()
    http_client = httpx.Client(event_hooks={"request": [wire.hook]})
    common: dict[str, Any] = {"http_client": http_client}
    live_env: tuple[str, ...] = setup["live_env"]  # type: ignore[assignment]
    live = not args.offline and all(os.environ.get(name) for name in live_env)
    if args.setup == "vertex":
        print("Setup: vertex -- pictures and texts embedded into one space by "
              f"{setup['embeddings']}; {setup['chat']} answers.")  # fmt: skip
    else:
        print("Setup: openai -- a text-only embedding model, so pictures are indexed by their "
              f"captions ({setup['embeddings']}); {setup['chat']} answers.")  # fmt: skip

    if live:
        print(f"Live: credentials from {', '.join(live_env)}.")
        if args.setup == "vertex":
            common["vertex_project"] = os.environ["VERTEXAI_PROJECT"]
            common["vertex_location"] = os.environ.get("VERTEXAI_LOCATION", "us-central1")
        run(args.setup, PolymodalEmbeddings(model=str(setup["embeddings"]), **common),
            ChatPolymodal(model=str(setup["chat"]), **common))  # fmt: skip
        return 0

    from polymodal.testing import Emulator

    with Emulator() as emu:
        print(
            f"Offline: no {' / '.join(live_env)} set, so the vectors and the answer below come "
            f"from polymodal's local emulator at {emu.url}, not from a model.\n"
            "The requests are the real thing: the same bytes would go to the provider."
        )
        if args.setup == "vertex":
            from polymodal.testing.google_oauth import service_account_json

            print("The emulator can't see: it embeds each picture by the caption stored in the "
                  "PNG's Description field, where Vertex AI would embed the pixels.")  # fmt: skip
            common.update(
                vertex_credentials=service_account_json(emu.url),
                vertex_project="emulator-project",
                vertex_location="us-central1",
                api_base=emu.url,
            )
        else:
            common.update(api_base=emu.openai_base, api_key="emulator-key")
        run(args.setup, PolymodalEmbeddings(model=str(setup["embeddings"]), **common),
            ChatPolymodal(model=str(setup["chat"]), **common))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
