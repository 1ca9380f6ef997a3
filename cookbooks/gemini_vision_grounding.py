"""Gemini on Vertex AI through LangChain: vision, Google Search grounding, structured output.

    python cookbooks/gemini_vision_grounding.py           # offline, on the built-in emulator
    GOOGLE_APPLICATION_CREDENTIALS=/path/to/service_account.json VERTEXAI_PROJECT=my-project \\
        python cookbooks/gemini_vision_grounding.py       # live, against Vertex AI
    ... --model vertex_ai/gemini-2.5-pro                  # another Gemini model (live or offline)

Live, the location is ``VERTEXAI_LOCATION`` (default ``us-central1``; Gemini 3 previews need
``global``). Without ``GOOGLE_APPLICATION_CREDENTIALS`` and ``VERTEXAI_PROJECT`` the script starts
``polymodal.testing.Emulator`` (a real HTTP server on 127.0.0.1 that speaks Vertex AI's Gemini
API and Google's OAuth2 token endpoint) and says so: the answers then come from the emulator, not
from Gemini, and the service account is one the emulator made. Either way it prints the JSON that
went over the wire, so you can see what polymodal sent to Google.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from langchain_polymodal import ChatPolymodal

# Public samples Vertex AI can read: a Cloud Storage object and an https image.
GCS_IMAGE = "gs://cloud-samples-data/generative-ai/image/boats.jpeg"
HTTPS_IMAGE = "https://storage.googleapis.com/github-repo/img/gemini/intro/landmark3.jpg"
# Offline, the https image is served by the emulator itself (there is no network): a 1x1 JPEG.
_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010101004800480000ffdb004300030202020202030202020303030304060404040404"
    "080606050609080a0a090809090a0c0f0c0a0b0e0b09090d110d0e0f101011100a0c12131210130f101010ffc900"
    "0b080001000101011100ffcc000600101005ffda0008010100003f00d2cf20ffd9"
)
_OFFLINE_IMAGE_PATH = "/samples/landmark3.jpg"
LIVE_ENV = ("GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT")


class Landmark(BaseModel):
    """A landmark seen in a photo."""

    name: str = Field(description="The landmark's name")
    city: str = Field(description="The city it is in")
    country: str = Field(description="The country it is in")
    fun_fact: str = Field(description="One short fact about it")


def _short(value: Any) -> Any:
    """Long strings (base64 images) shortened so the wire dump stays readable."""
    if isinstance(value, str) and len(value) > 120:
        return value[:100] + f"... ({len(value)} chars)"
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value]
    return value


class Wire:
    """Records every request polymodal sends to the model (an httpx event hook: no patching)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def hook(self, request: httpx.Request) -> None:
        if request.content:
            self.requests.append((request.url.path, json.loads(request.content)))

    def show(self, title: str) -> None:
        print(f"\n  -- on the wire ({title}) --")
        path, body = self.requests[-1] if self.requests else ("", {})
        print(f"  POST {path}")
        for line in json.dumps(_short(body), indent=2, ensure_ascii=False).splitlines():
            print("  | " + line)


def section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def run(llm: ChatPolymodal, wire: Wire, https_image: str) -> None:
    section("1. Vision: an image by gs:// URI (with format) and one by https URL")
    question = HumanMessage(
        [
            {"type": "text", "text": "What is in these two images?"},
            # Vertex reads gs:// itself; `format` gives the mime type (needed when the object
            # name has no extension, harmless when it has one).
            {"type": "image_url", "image_url": {"url": GCS_IMAGE, "format": "image/jpeg"}},
            # An https image is downloaded by polymodal and sent inline: Vertex fetches URLs as a
            # robots.txt-obeying crawler, which many image hosts turn away.
            {"type": "image_url", "image_url": {"url": https_image}},
        ]
    )
    answer = llm.invoke([question])
    print("answer:", answer.text)
    wire.show("gs:// went as fileData, the https image as inlineData")

    section("2. Google Search grounding, with the sources")
    grounded = llm.bind_tools([{"googleSearch": {}}]).invoke("Who won the 2022 FIFA World Cup?")
    print("answer:", grounded.text)
    grounding = grounded.response_metadata.get("grounding_metadata") or {}
    print("search queries:", grounding.get("webSearchQueries"))
    print("sources:")
    for n, chunk in enumerate(grounding.get("groundingChunks") or [], 1):
        web = chunk.get("web") or {}
        print(f"  [{n}] {web.get('title')} - {web.get('uri')}")
    print("citations (which words each source supports):")
    for block in grounded.content_blocks:
        if block["type"] != "text":
            continue
        for note in block.get("annotations") or []:
            if note["type"] == "citation":
                start, end = note.get("start_index", 0), note.get("end_index", 0)
                print(f"  {block['text'][start:end]!r} <- {note.get('url')}")
    wire.show("the googleSearch tool")

    section("3. Structured output into a pydantic model")
    structured = llm.with_structured_output(Landmark)
    landmark = structured.invoke(
        [
            HumanMessage(
                [
                    {"type": "text", "text": "Which landmark is this?"},
                    {"type": "image_url", "image_url": {"url": https_image}},
                ]
            )
        ]
    )
    print("parsed:", repr(landmark))
    wire.show("the JSON schema sent as Gemini's response schema")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--model",
        default="vertex_ai/gemini-2.5-flash",
        help="a Vertex AI Gemini model (default: %(default)s)",
    )
    parser.add_argument(
        "--offline", action="store_true", help="use the emulator even with credentials"
    )
    args = parser.parse_args(argv)
    if not args.model.startswith("vertex_ai/"):
        print("This cookbook is about Vertex AI: pass --model vertex_ai/<gemini model>.",
              file=sys.stderr)  # fmt: skip
        return 2

    wire = Wire()
    http_client = httpx.Client(event_hooks={"request": [wire.hook]})
    live = not args.offline and all(os.environ.get(name) for name in LIVE_ENV)
    if live:
        print(
            f"Live: talking to Vertex AI as {args.model} (project {os.environ['VERTEXAI_PROJECT']}, "
            "credentials from GOOGLE_APPLICATION_CREDENTIALS)."
        )
        llm = ChatPolymodal(model=args.model, http_client=http_client, max_retries=2)
        run(llm, wire, HTTPS_IMAGE)
        return 0

    from polymodal.testing import Emulator
    from polymodal.testing.google_oauth import service_account_json

    with Emulator() as emu:
        missing = " and ".join(name for name in LIVE_ENV if not os.environ.get(name))
        why = "--offline given" if args.offline else f"no {missing} set"
        print(
            f"Offline: {why}, so the answers below come from polymodal's local emulator at "
            f"{emu.url}, not from Gemini.\n"
            "The emulator also plays Google's OAuth2 token endpoint: the service account used is "
            "one it made,\nand the https image is served by the emulator (there is no network). "
            "The requests are the real thing:\nthe same bytes would go to Vertex AI."
        )
        emu.queue_raw(200, _JPEG, {"content-type": "image/jpeg"},
                      path_contains=_OFFLINE_IMAGE_PATH, repeat=True)  # fmt: skip
        llm = ChatPolymodal(
            model=args.model,
            vertex_credentials=service_account_json(emu.url),
            vertex_project="emulator-project",
            vertex_location="us-central1",
            api_base=emu.url,
            http_client=http_client,
            # The emulator is on 127.0.0.1; media downloads refuse private hosts unless told.
            model_kwargs={"allow_private_media_hosts": True},
        )
        run(llm, wire, emu.url + _OFFLINE_IMAGE_PATH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
