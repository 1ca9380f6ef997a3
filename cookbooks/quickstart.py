"""polymodal quickstart: a multimodal chain, a tool round trip and structured output.

    python cookbooks/quickstart.py                       # offline, on the built-in emulator
    OPENAI_API_KEY=... python cookbooks/quickstart.py    # live, against OpenAI
    ANTHROPIC_API_KEY=... python cookbooks/quickstart.py --model anthropic/claude-3-7-sonnet-latest

Without credentials for the provider named by ``--model`` the script starts
``polymodal.testing.Emulator`` (a real HTTP server on 127.0.0.1 that speaks the provider's wire
format) and says so: the answers then come from the emulator, not from a model. Either way it
prints the JSON that went over the wire, so you can see what polymodal sent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import BaseModel, Field, SecretStr

from langchain_polymodal import ChatPolymodal

IMAGE_URL = (
    "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/"
    "Gfp-wisconsin-madison-the-nature-boardwalk.jpg/"
    "2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
)
# Which environment variable means "we have credentials" for each provider prefix.
CREDENTIALS = {
    "openai": "OPENAI_API_KEY",
    "azure": "AZURE_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "vertex_ai": "GOOGLE_APPLICATION_CREDENTIALS",
}
# Providers the emulator speaks, and the api_base that points each at it.
EMULATED = {"openai": "openai_base", "anthropic": "url"}


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny and 21°C in {city}."


class CityFacts(BaseModel):
    """A few facts about a city."""

    city: str = Field(description="The city's name")
    country: str = Field(description="The country it is in")
    population_millions: float = Field(description="Population, in millions")


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
    """Records every request body polymodal sends (an httpx event hook: no monkeypatching)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def hook(self, request: httpx.Request) -> None:
        if request.content:
            self.bodies.append(json.loads(request.content))

    def show(self, title: str) -> None:
        print(f"\n  -- on the wire ({title}) --")
        body = self.bodies[-1] if self.bodies else {}
        for line in json.dumps(_short(body), indent=2, ensure_ascii=False).splitlines():
            print("  | " + line)


def section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def run(llm: ChatPolymodal, wire: Wire) -> None:
    section("1. A multimodal chain: prompt template -> ChatPolymodal -> output parser")
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "You describe images in one short sentence."),
            (
                "human",
                [
                    {"type": "text", "text": "{question}"},
                    {"type": "image_url", "image_url": {"url": "{image_url}"}},
                ],
            ),
        ]
    )
    chain = prompt | llm | StrOutputParser()
    answer = chain.invoke({"question": "What is in this image?", "image_url": IMAGE_URL})
    print("answer:", answer)
    wire.show("the image travelled as an image_url part")

    section("2. A tool round trip")
    with_tools = llm.bind_tools([get_weather])
    question = HumanMessage("What's the weather in Madison, Wisconsin?")
    ai = with_tools.invoke([question])
    print("the model asked for:", [(c["name"], c["args"]) for c in ai.tool_calls])
    wire.show("the tool schema")
    results = [
        ToolMessage(get_weather.invoke(c["args"]), tool_call_id=c["id"]) for c in ai.tool_calls
    ]
    final = with_tools.invoke([question, ai, *results])
    print("final answer:", final.content)
    wire.show("the tool result went back in the provider's native form")

    section("3. Structured output into a pydantic model")
    structured = llm.with_structured_output(CityFacts)
    facts = structured.invoke("Give me facts about Madison, Wisconsin.")
    print("parsed:", repr(facts))
    wire.show("the JSON schema sent as the response format")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--model", default="openai/gpt-4o", help="provider/model (default: %(default)s)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="use the emulator even with credentials"
    )
    args = parser.parse_args(argv)

    provider = args.model.split("/", 1)[0]
    wire = Wire()
    http_client = httpx.Client(event_hooks={"request": [wire.hook]})
    live = not args.offline and bool(os.environ.get(CREDENTIALS.get(provider, "")))
    if live:
        print(
            f"Live: talking to {provider} as {args.model} (credentials from {CREDENTIALS[provider]})."
        )
        run(ChatPolymodal(model=args.model, http_client=http_client, max_retries=2), wire)
        return 0

    if provider not in EMULATED:
        print(f"No credentials for {provider} and the emulator does not speak it yet; "
              f"try --model openai/gpt-4o.", file=sys.stderr)  # fmt: skip
        return 2
    from polymodal.testing import Emulator

    with Emulator() as emu:
        print(
            f"Offline: no {CREDENTIALS.get(provider, 'credentials')} set, so the answers below come "
            f"from polymodal's local emulator at {emu.url}, not from a model.\n"
            "The requests are the real thing: the same bytes would go to the provider."
        )
        llm = ChatPolymodal(
            model=args.model,
            api_base=getattr(emu, EMULATED[provider]),
            api_key=SecretStr("emulator-key"),
            http_client=http_client,
        )
        run(llm, wire)
    return 0


if __name__ == "__main__":
    sys.exit(main())
