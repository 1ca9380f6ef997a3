"""An agent that draws and speaks: image generation and text-to-speech as agent tools.

    python cookbooks/image_speech_agent.py                      # offline, on the built-in emulator
    OPENAI_API_KEY=... python cookbooks/image_speech_agent.py   # live, against OpenAI
    python cookbooks/image_speech_agent.py --out                # also write the files to a temp dir
    python cookbooks/image_speech_agent.py --out ./media        # ... or to ./media

``PolymodalImageGenerator(...).as_tool()`` and ``PolymodalSpeech(...).as_tool()`` are LangChain
tools with ``response_format="content_and_artifact"``: the model gets a one-line summary
("Generated 1 image (image/png, 1024x1024).") while the image and audio themselves travel as the
``artifact`` of each ``ToolMessage``, as standard content blocks (base64 + mime type). So the
caller gets the media straight from the agent's messages: no temp files, no bytes in the model's
context.

Without ``OPENAI_API_KEY`` the script starts ``polymodal.testing.Emulator`` (a real HTTP server on
127.0.0.1 that speaks OpenAI's chat, images and speech wire formats) and says so: the answers
then come from the emulator, not from a model, and its images are colour bands and its speech a
beep per word. The emulator picks the first tool on its own, so for the first turn it is
scripted to call both tools, as a real model would. Either way the script prints what went over
the wire.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_polymodal import ChatPolymodal, PolymodalImageGenerator, PolymodalSpeech

REQUEST = (
    "Draw a lighthouse on a cliff at dusk, watercolour style. Then read this caption aloud: "
    "'At dusk the lighthouse wakes, and the sea listens.'"
)
CAPTION = "At dusk the lighthouse wakes, and the sea listens."
SYSTEM = (
    "You are an illustrator and narrator. Draw with generate_image and speak with "
    "text_to_speech; call each tool at most once per request, then tell the user in one "
    "sentence what you made."
)
EXTENSIONS = {
    "image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "audio/mpeg": ".mp3",
    "audio/wav": ".wav", "audio/ogg": ".ogg", "audio/aac": ".aac", "audio/flac": ".flac",
}  # fmt: skip


def _short(value: Any) -> Any:
    """Long strings (base64 media) shortened so the wire dump stays readable."""
    if isinstance(value, str) and len(value) > 120:
        return value[:60] + f"... ({len(value)} chars)"
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value]
    return value


class Wire:
    """Prints every request polymodal sends (an httpx event hook: no monkeypatching)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the agent runs its tool calls in parallel threads

    def hook(self, request: httpx.Request) -> None:
        body = json.loads(request.content) if request.content else {}
        if request.url.path.endswith("/chat/completions"):
            tools = [t["function"]["name"] for t in body.get("tools", [])]
            last = json.dumps(_short(body["messages"][-1]), ensure_ascii=False)
            detail = (f"model={body.get('model')} tools={tools} "
                      f"messages={len(body['messages'])}, last: {last[:300]}")  # fmt: skip
        else:
            detail = json.dumps(_short(body), ensure_ascii=False)
        with self._lock:
            print(f"  >> {request.method} {request.url.path}\n     {detail}", flush=True)


def section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def describe(block: dict[str, Any]) -> str:
    size = len(base64.b64decode(block["base64"])) if "base64" in block else None
    where = f"{size:,} bytes" if size is not None else f"url {block.get('url')}"
    return f"{block['type']} {block.get('mime_type', '?')}, {where}"


def save(blocks: list[dict[str, Any]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for i, block in enumerate(blocks, 1):
        if "base64" not in block:
            print(f"  (block {i} is a URL; nothing to write)")
            continue
        mime = str(block.get("mime_type", "")).split(";")[0]
        path = out / f"{i:02d}-{block['type']}{EXTENSIONS.get(mime, '.bin')}"
        path.write_bytes(base64.b64decode(block["base64"]))
        print(f"  wrote {path}")


def run(agent: Any, out: Path | None) -> list[dict[str, Any]]:
    section("The agent at work (requests as they go out)")
    result = agent.invoke({"messages": [HumanMessage(REQUEST)]})

    section("What the agent's messages hold")
    media: list[dict[str, Any]] = []
    for message in result["messages"]:
        if isinstance(message, AIMessage) and message.tool_calls:
            for call in message.tool_calls:
                print(f"model -> tool call {call['name']}({json.dumps(call['args'])})")
        elif isinstance(message, ToolMessage):
            print(f"tool {message.name} -> model sees: {message.content!r}")
            artifact = message.artifact
            blocks = artifact if isinstance(artifact, list) else [artifact] if artifact else []
            for block in blocks:
                print(f"    caller gets the artifact: {describe(block)}")
            media.extend(blocks)
        elif isinstance(message, AIMessage):
            print(f"final answer: {message.text}")

    section("The media, straight from the ToolMessage artifacts")
    for block in media:
        print(f"  {describe(block)}")
    if out is not None:
        save(media, out)
    else:
        print("  (pass --out to write them to files)")
    return media


def build(chat: ChatPolymodal, image_model: str, speech_model: str, **common: Any) -> Any:
    draw = PolymodalImageGenerator(model=image_model, size="1024x1024", **common)
    speak = PolymodalSpeech(model=speech_model, voice="coral", **common)
    return create_agent(chat, tools=[draw.as_tool(), speak.as_tool()], system_prompt=SYSTEM)


def script_first_turn(emu: Any) -> None:
    """The emulator calls the first tool it is given; a real model would call both here."""
    calls = [
        ("generate_image", {"prompt": "A lighthouse on a cliff at dusk, watercolour"}),
        ("text_to_speech", {"text": CAPTION}),
    ]
    emu.queue_json(
        {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": f"call_{i}",
                                "type": "function",
                                "function": {"name": name, "arguments": json.dumps(args)},
                            }
                            for i, (name, args) in enumerate(calls)
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
        },
        path_contains="/chat/completions",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="openai/gpt-4o", help="chat model (%(default)s)")
    parser.add_argument("--image-model", default="openai/gpt-image-1", help="(%(default)s)")
    parser.add_argument("--speech-model", default="openai/gpt-4o-mini-tts", help="(%(default)s)")
    parser.add_argument("--offline", action="store_true", help="use the emulator even with a key")
    parser.add_argument(
        "--out", nargs="?", const="", default=None, metavar="DIR",
        help="write the image and audio to DIR (a new temp dir if DIR is left out)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    out = None
    if args.out is not None:
        out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="polymodal-agent-"))

    wire = Wire()
    http_client = httpx.Client(event_hooks={"request": [wire.hook]})
    if not args.offline and os.environ.get("OPENAI_API_KEY"):
        print(f"Live: {args.model} drives the agent; {args.image_model} draws and "
              f"{args.speech_model} speaks (credentials from OPENAI_API_KEY).")  # fmt: skip
        chat = ChatPolymodal(model=args.model, http_client=http_client)
        run(build(chat, args.image_model, args.speech_model, http_client=http_client), out)
        return 0

    for name in (args.model, args.image_model, args.speech_model):
        if not name.startswith("openai/"):
            print(f"Offline, the emulator speaks OpenAI's formats here; {name} is not one "
                  "(pass openai/... models, or set credentials)", file=sys.stderr)  # fmt: skip
            return 2
    from polymodal.testing import Emulator

    with Emulator() as emu:
        print(
            f"Offline: no OPENAI_API_KEY set, so everything below comes from polymodal's local "
            f"emulator at {emu.url}, not from a model: the 'model' is scripted to call both "
            "tools, the image is colour bands, the speech a beep per word.\n"
            "The requests are the real thing: the same bytes would go to OpenAI."
        )
        script_first_turn(emu)
        common: dict[str, Any] = {"api_base": emu.openai_base, "api_key": "emulator-key"}
        chat = ChatPolymodal(model=args.model, http_client=http_client, **common)
        run(build(chat, args.image_model, args.speech_model, http_client=http_client, **common),
            out)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
