"""The embeddings, image and speech classes end to end, over the emulator (real HTTP on loopback).

The emulator speaks OpenAI's wire formats: its embeddings are deterministic word-hashing unit
vectors (texts sharing words are close), its images real PNGs of the requested size, its speech
well-formed audio files, and its chat model calls the first tool it is offered, then answers
"The tool returned: ..." quoting the tool result it was sent.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain.agents import create_agent
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_polymodal import (
    ChatPolymodal,
    PolymodalEmbeddings,
    PolymodalImageGenerator,
    PolymodalSpeech,
)
from polymodal.testing import Emulator

KEY = "emulator-key"
DOCS = [
    "The Eiffel Tower is in Paris and was finished in 1889.",
    "Mount Fuji is the highest mountain in Japan.",
    "The Amazon river flows through Brazil into the Atlantic.",
    "Penguins live in the southern hemisphere, mostly in Antarctica.",
]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(api_key=KEY) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(emu: Emulator) -> None:
    emu.clear()


def openai(emu: Emulator) -> dict[str, Any]:
    return {"api_base": emu.openai_base, "api_key": KEY}


def paths(emu: Emulator) -> list[str]:
    return [r.path for r in emu.requests]


# --------------------------------------------------------------------------- embeddings


def test_embeddings_are_unit_vectors_in_input_order(emu: Emulator) -> None:
    emb = PolymodalEmbeddings(model="openai/text-embedding-3-large", dimensions=64,
                              batch_size=3, **openai(emu))  # fmt: skip
    vectors = emb.embed_documents(DOCS * 2)
    assert len(vectors) == 8 and all(len(v) == 64 for v in vectors)
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-5) for v in vectors)
    assert vectors[:4] == vectors[4:]  # same text, same vector, wherever it sat in the batches
    assert vectors[1] == emb.embed_query(DOCS[1])
    assert sorted(len(r.json["input"]) for r in emu.requests) == [1, 2, 3, 3]  # concurrent


async def test_async_embeddings_match_sync(emu: Emulator) -> None:
    emb = PolymodalEmbeddings(model="openai/text-embedding-3-small", batch_size=2,
                              max_concurrency=2, **openai(emu))  # fmt: skip
    sync = emb.embed_documents(DOCS)
    assert await emb.aembed_documents(DOCS) == sync
    assert await emb.aembed_query(DOCS[2]) == sync[2]
    assert len(sync[0]) == 1536  # the registry's size for the model


def test_the_emulator_refuses_a_bad_key_as_an_authentication_error(emu: Emulator) -> None:
    from langchain_core.exceptions import ModelAuthenticationError

    emb = PolymodalEmbeddings(model="openai/text-embedding-3-small", api_base=emu.openai_base,
                              api_key="wrong", max_retries=0)  # fmt: skip
    with pytest.raises(ModelAuthenticationError):
        emb.embed_query("hi")


# --------------------------------------------------------------------------- RAG in LCEL


def rag_chain(emu: Emulator, http_client: httpx.Client | None = None) -> Any:
    emb = PolymodalEmbeddings(model="openai/text-embedding-3-small", **openai(emu))
    store = InMemoryVectorStore.from_documents([Document(d) for d in DOCS], emb)
    retriever = store.as_retriever(search_kwargs={"k": 1})
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context.\nContext: {context}"), ("human", "{question}")]
    )
    llm = ChatPolymodal(model="openai/gpt-4o", http_client=http_client, **openai(emu))

    def join(docs: list[Document]) -> str:
        return "\n".join(d.page_content for d in docs)

    return (
        {"context": retriever | join, "question": RunnablePassthrough()}
        | prompt
        | llm
        | StrOutputParser()
    )


def test_retriever_prompt_chat_chain(emu: Emulator) -> None:
    answer = rag_chain(emu).invoke("Which mountain is the highest in Japan?")
    assert answer == 'Emulator reply to: "Which mountain is the highest in Japan?"'
    chat = [r for r in emu.requests if r.path.endswith("/chat/completions")]
    assert len(chat) == 1
    system = chat[0].json["messages"][0]["content"]
    assert system == f"Answer from the context.\nContext: {DOCS[1]}"  # retrieved by meaning


async def test_retriever_prompt_chat_chain_async(emu: Emulator) -> None:
    answer = await rag_chain(emu).ainvoke("Where is the Eiffel Tower?")
    assert answer == 'Emulator reply to: "Where is the Eiffel Tower?"'
    chat = [r for r in emu.requests if r.path.endswith("/chat/completions")]
    assert chat[0].json["messages"][0]["content"].endswith(DOCS[0])


# --------------------------------------------------------------------------- images and speech


def png_size(block: dict[str, Any]) -> tuple[int, int]:
    raw = base64.b64decode(block["base64"])
    assert raw.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def test_image_blocks_base64_and_url(emu: Emulator) -> None:
    gen = PolymodalImageGenerator(model="openai/dall-e-2", size="256x256", n=2,
                                  response_format="b64_json", **openai(emu))  # fmt: skip
    blocks = gen.invoke("two red boats")
    assert [b["mime_type"] for b in blocks] == ["image/png", "image/png"]
    assert [png_size(b) for b in blocks] == [(256, 256), (256, 256)]
    urls = gen.invoke("two red boats", response_format="url")
    assert all(set(b) == {"type", "url", "mime_type"} for b in urls)
    fetched = httpx.get(urls[0]["url"])
    assert fetched.content == base64.b64decode(blocks[0]["base64"])  # same prompt, same picture


async def test_image_and_speech_async(emu: Emulator) -> None:
    gen = PolymodalImageGenerator(model="openai/gpt-image-1", size="1024x1536", **openai(emu))
    blocks = await gen.ainvoke("a tall tower")
    assert png_size(blocks[0]) == (1024, 1536)
    speak = PolymodalSpeech(model="openai/tts-1", voice="alloy", **openai(emu))
    many = await speak.abatch(["one", "two words", "three more words"], response_format="wav")
    assert [b["mime_type"] for b in many] == ["audio/wav"] * 3
    sizes = [len(base64.b64decode(b["base64"])) for b in many]
    assert sizes[0] < sizes[1] < sizes[2]  # about 0.3 s a word
    assert sorted(r.json["input"] for r in emu.requests if r.path.endswith("/speech")) == [
        "one", "three more words", "two words",
    ]  # fmt: skip


def test_generated_images_go_straight_into_a_vision_chat(emu: Emulator) -> None:
    gen = PolymodalImageGenerator(model="openai/dall-e-3", response_format="b64_json",
                                  **openai(emu))  # fmt: skip
    llm = ChatPolymodal(model="openai/gpt-4o", **openai(emu))
    chain = gen | (
        lambda blocks: [HumanMessage([{"type": "text", "text": "Describe it"}, *blocks])]
    )
    answer = (chain | llm).invoke("a lighthouse")
    assert answer.text == 'Emulator reply to: "Describe it" (received 1 image(s))'
    sent = emu.requests[-1].json["messages"][0]["content"][1]
    assert sent["type"] == "image_url"
    assert sent["image_url"]["url"].startswith("data:image/png;base64,iVBOR")


def test_speech_formats(emu: Emulator) -> None:
    speak = PolymodalSpeech(model="openai/gpt-4o-mini-tts", voice="coral", **openai(emu))
    assert speak.invoke("Hello")["mime_type"] == "audio/mpeg"
    flac = speak.invoke("Hello", response_format="flac")
    assert flac["mime_type"] == "audio/flac"
    assert base64.b64decode(flac["base64"]).startswith(b"fLaC")


# --------------------------------------------------------------------------- Vertex AI


def vertex(emu: Emulator) -> dict[str, Any]:
    """An emulator service account: tokens come from the emulator's OAuth2 endpoint."""
    from polymodal.testing.google_oauth import service_account_json

    return {
        "vertex_credentials": service_account_json(emu.url),
        "vertex_project": "emulator-project",
        "vertex_location": "us-central1",
        "api_base": emu.url,
    }


def test_vertex_text_embeddings_send_document_and_query_task_types(emu: Emulator) -> None:
    emb = PolymodalEmbeddings(model="vertex_ai/text-embedding-004", dimensions=256, **vertex(emu))
    docs = emb.embed_documents(DOCS)
    query = emb.embed_query("Which mountain is the highest in Japan?")
    assert len(docs) == 4 and all(len(v) == 256 for v in [*docs, query])
    best = max(range(4), key=lambda i: sum(a * b for a, b in zip(docs[i], query, strict=True)))
    assert best == 1
    predicts = [r for r in emu.requests if r.path.endswith(":predict")]
    assert [{i["task_type"] for i in r.json["instances"]} for r in predicts] == [
        {"RETRIEVAL_DOCUMENT"}, {"RETRIEVAL_QUERY"},
    ]  # fmt: skip
    assert predicts[0].json["parameters"] == {"outputDimensionality": 256}
    assert predicts[0].headers["authorization"].startswith("Bearer emu-token-")


async def test_vertex_multimodal_embeddings_async(emu: Emulator) -> None:
    emb = PolymodalEmbeddings(model="vertex_ai/multimodalembedding@001", **vertex(emu))
    images = await emb.aembed_image(["gs://bucket/red-bicycle.png", "gs://bucket/blue-sea.png"])
    query = await emb.aembed_query("a red bicycle")
    assert all(len(v) == 1408 for v in [*images, query])
    scores = [sum(a * b for a, b in zip(v, query, strict=True)) for v in images]
    assert scores[0] > scores[1]  # the emulator embeds a gs:// image by its file name's words
    bodies = [r.json for r in emu.requests if r.path.endswith(":predict")]
    assert sorted(json.dumps(b) for b in bodies) == sorted(
        json.dumps(b) for b in (
            {"instances": [{"image": {"gcsUri": "gs://bucket/red-bicycle.png"}}]},
            {"instances": [{"image": {"gcsUri": "gs://bucket/blue-sea.png"}}]},
            {"instances": [{"text": "a red bicycle"}]},
        )
    )  # fmt: skip


def test_vertex_imagen_and_tts_blocks(emu: Emulator) -> None:
    gen = PolymodalImageGenerator(model="vertex_ai/imagen-3.0-generate-001", size="1792x1024",
                                  **vertex(emu))  # fmt: skip
    blocks = gen.invoke("a harbour at dawn")
    assert blocks[0]["type"] == "image" and blocks[0]["mime_type"] == "image/png"
    assert png_size(blocks[0]) == (1408, 768)  # Imagen's 16:9 size
    speak = PolymodalSpeech(model="vertex_ai/chirp", voice="en-US-Studio-O",
                            response_format="wav", **vertex(emu))  # fmt: skip
    block = speak.invoke("Good morning")
    assert block["mime_type"] == "audio/wav"
    assert base64.b64decode(block["base64"])[:4] == b"RIFF"
    synth = next(r for r in emu.requests if r.path.endswith("text:synthesize")).json
    assert synth["input"] == {"text": "Good morning"}
    assert synth["audioConfig"]["audioEncoding"] == "LINEAR16"


# --------------------------------------------------------------------------- agent tools


def image_agent(emu: Emulator) -> Any:
    draw = PolymodalImageGenerator(model="openai/dall-e-3", response_format="b64_json",
                                   **openai(emu)).as_tool()  # fmt: skip
    llm = ChatPolymodal(model="openai/gpt-4o", **openai(emu))
    return create_agent(llm, tools=[draw], system_prompt="Draw what the user asks for.")


def check_agent_run(result: dict[str, Any], emu: Emulator) -> None:
    messages = result["messages"]
    call = next(m for m in messages if isinstance(m, AIMessage) and m.tool_calls)
    assert call.tool_calls[0]["name"] == "generate_image"
    tool = next(m for m in messages if isinstance(m, ToolMessage))
    assert tool.name == "generate_image" and tool.status == "success"
    # the model got a summary; the caller got the picture itself
    assert tool.content.startswith("Generated 1 image (image/png, 1024x1024). The model drew it")
    assert isinstance(tool.artifact, list) and len(tool.artifact) == 1
    block = tool.artifact[0]
    assert block["type"] == "image" and block["mime_type"] == "image/png"
    assert png_size(block) == (1024, 1024)
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert final.text.startswith("The tool returned: Generated 1 image (image/png, 1024x1024).")
    assert block["extras"]["revised_prompt"] in tool.content  # dall-e-3 rewrites prompts
    # what went over the wire: the tool summary, never the image bytes, went back to the model
    chats = [r for r in emu.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 2
    sent = json.dumps(chats[1].json)
    assert block["base64"][:200] not in sent
    assert chats[1].json["messages"][-1]["content"] == tool.content
    images = [r for r in emu.requests if r.path.endswith("/images/generations")]
    assert len(images) == 1 and images[0].json["model"] == "dall-e-3"


def test_agent_loop_with_the_image_tool(emu: Emulator) -> None:
    result = image_agent(emu).invoke({"messages": [HumanMessage("Draw a heron in the reeds")]})
    check_agent_run(result, emu)


async def test_agent_loop_with_the_image_tool_async(emu: Emulator) -> None:
    agent = image_agent(emu)
    result = await agent.ainvoke({"messages": [HumanMessage("Draw a heron in the reeds")]})
    check_agent_run(result, emu)


def test_speech_tool_in_an_agent(emu: Emulator) -> None:
    speak = PolymodalSpeech(model="openai/tts-1", voice="nova", response_format="wav",
                            **openai(emu)).as_tool()  # fmt: skip
    llm = ChatPolymodal(model="openai/gpt-4o", **openai(emu))
    agent = create_agent(llm, tools=[speak])
    result = agent.invoke({"messages": [HumanMessage("Say good night")]})
    tool = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert tool.artifact["type"] == "audio" and tool.artifact["mime_type"] == "audio/wav"
    audio = base64.b64decode(tool.artifact["base64"])
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    assert tool.content.startswith("Spoke ") and "audio/wav" in tool.content
    spoken = next(r for r in emu.requests if r.path.endswith("/audio/speech")).json
    assert spoken["voice"] == "nova" and spoken["response_format"] == "wav"
