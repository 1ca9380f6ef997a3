"""Pre-flight refusals from registry facts (the seed pages: gpt-3.5-turbo has no vision,
gpt-4-vision-preview no function calling), before any request is sent."""

from __future__ import annotations

import httpx
import pytest

import polymodal
from polymodal._warn import DroppedParamWarning

IMAGE_MSG = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": "https://example.com/a.png"},
        ],
    }
]
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


def _client(seen: list[httpx.Request]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "id": "x",
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "ok"},
                        "finish_reason": "stop",
                    }
                ],
            },
        )

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_image_to_a_text_only_model_is_refused() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(
        polymodal.BadRequestError,
        match=r"does not take image input \(messages\[0\]\.content\[1\]\)",
    ):
        polymodal.completion(
            "openai/gpt-3.5-turbo", IMAGE_MSG, api_key="sk-test", client=_client(seen)
        )
    assert seen == []


def test_tools_to_a_model_without_function_calling() -> None:
    seen: list[httpx.Request] = []
    kwargs = {"api_key": "sk-test", "client": _client(seen), "tools": TOOLS}
    with pytest.raises(
        polymodal.UnsupportedParamsError,
        match=r"tools not accepted for model .*not supported by the model",
    ):
        polymodal.completion(
            "openai/gpt-4-vision-preview", [{"role": "user", "content": "hi"}], **kwargs
        )
    assert seen == []
    with pytest.warns(DroppedParamWarning, match="tools"):
        r = polymodal.completion(
            "openai/gpt-4-vision-preview",
            [{"role": "user", "content": "hi"}],
            drop_params=True,
            **kwargs,
        )
    assert r.choices[0].message.content == "ok"
    assert b'"tools"' not in seen[0].content


def test_unknown_capability_passes() -> None:
    seen: list[httpx.Request] = []
    polymodal.completion(
        "openai/some-private-model",
        IMAGE_MSG,
        api_key="sk-test",
        api_base="http://h/v1",
        client=_client(seen),
    )
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("o3-mini", "max_completion_tokens"),
        ("gpt-5-mini", "max_completion_tokens"),
        ("gpt-4o", "max_tokens"),
    ],
)
def test_max_tokens_for_reasoning_models(model: str, key: str) -> None:
    # OpenAI answers max_tokens on reasoning models with 400 "Unsupported parameter: 'max_tokens'
    # ... Use 'max_completion_tokens' instead." (recorded: vercel-ai reasoning-model-legacy-parameter-error).
    seen: list[httpx.Request] = []
    polymodal.completion(f"openai/{model}", [{"role": "user", "content": "hi"}], max_tokens=50,
                         api_key="sk-test", client=_client(seen))  # fmt: skip
    body = __import__("json").loads(seen[0].content)
    assert body[key] == 50
    other = "max_tokens" if key == "max_completion_tokens" else "max_completion_tokens"
    assert other not in body
