"""Every chat example of the seed pages, written as the pages write it, with polymodal's names.

``litellm.completion`` becomes ``polymodal.completion``; an OpenAI client pointed at a platform's
``base_url`` becomes ``polymodal.completion(model="openai/<id>", api_base=..., api_key=...)``.
The provider is played by the loopback emulator; each test checks what arrived on the wire and
what the caller got back. Sources: ../shared/seeds/litellm-vision.zh.txt,
vision-platform-guide-a.zh.txt, vision-platform-guide-b.zh.txt.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import polymodal
from polymodal.testing import Emulator

BOARDWALK = (
    "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/"
    "Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
)
# A 1x1 JPEG, to stand for the guide's "path/to/your/image.jpg".
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8Q"
    "EBEQCgwSExIQEw8QEBD/yQALCAABAAEBAREA/8wABgAQEAX/2gAIAQEAAD8A0s8g/9k="
)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


def _sent(emu: Emulator) -> dict[str, object]:
    body = emu.requests[-1].json
    assert isinstance(body, dict)
    return body


# --------------------------------------------------------------------------- litellm-vision.zh.txt


def test_litellm_vision_quickstart(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    os.environ["OPENAI_API_KEY"] = "your-api-key"  # as the page writes it
    monkeypatch.setenv("OPENAI_BASE_URL", emu.openai_base)  # the only change: where "OpenAI" is
    response = polymodal.completion(
        model="gpt-4-vision-preview",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What’s in this image?"},
                    {"type": "image_url", "image_url": {"url": BOARDWALK}},
                ],
            }
        ],
    )
    monkeypatch.delenv("OPENAI_API_KEY")
    assert "received 1 image" in (response.choices[0].message.content or "")
    sent = _sent(emu)
    assert sent["model"] == "gpt-4-vision-preview"
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What’s in this image?"},
                {"type": "image_url", "image_url": {"url": BOARDWALK}},
            ],
        }
    ]
    assert emu.requests[-1].headers["authorization"] == "Bearer your-api-key"


def test_litellm_vision_supports_vision_assertions() -> None:
    assert polymodal.supports_vision(model="openai/gpt-4-vision-preview") == True  # noqa: E712
    assert polymodal.supports_vision(model="vertex_ai/gemini-1.0-pro-vision") == True  # noqa: E712
    assert polymodal.supports_vision(model="openai/gpt-3.5-turbo") == False  # noqa: E712
    assert polymodal.supports_vision(model="xai/grok-2-vision-latest") == True  # noqa: E712
    assert polymodal.supports_vision(model="xai/grok-2-latest") == False  # noqa: E712


def test_litellm_vision_model_info_as_model_group_info_shows() -> None:
    info = polymodal.get_model_info("gpt-4-vision-preview")
    assert (info.max_input_tokens, info.max_output_tokens, info.mode) == (128000, 4096, "chat")
    assert info.supports_vision is True
    assert polymodal.supports_function_calling("gpt-4-vision-preview") is False


def test_litellm_vision_custom_openai_compatible_model(emu: Emulator) -> None:
    # The page's config entry: model openai/llava-hf/llava-v1.6-vicuna-7b-hf at api_base, with
    # supports_vision declared by the user (model_info) since no registry can know a local model.
    from polymodal import registry

    registry.register_model("openai/llava-hf/llava-v1.6-vicuna-7b-hf", supports_vision=True)
    try:
        assert polymodal.supports_vision("openai/llava-hf/llava-v1.6-vicuna-7b-hf") is True
        _llava_call(emu)
    finally:
        registry.unregister_model("openai/llava-hf/llava-v1.6-vicuna-7b-hf")


def _llava_call(emu: Emulator) -> None:
    response = polymodal.completion(
        model="openai/llava-hf/llava-v1.6-vicuna-7b-hf",
        api_base=emu.url,
        api_key="fake-key",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What’s in this image?"},
                    {"type": "image_url", "image_url": {"url": BOARDWALK, "format": "image/jpeg"}},
                ],
            }
        ],
    )
    assert response.choices[0].message.content
    assert emu.requests[-1].path == "/chat/completions"  # api_base is the base URL, as given
    sent = _sent(emu)
    assert sent["model"] == "llava-hf/llava-v1.6-vicuna-7b-hf"
    # "format" steers mime-typed targets only; for OpenAI-format servers it is not sent.
    assert sent["messages"][0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": BOARDWALK},
    }  # type: ignore[index]


def test_litellm_vision_image_url_as_plain_string(emu: Emulator) -> None:
    # The page's spec: "image_url": str  OR  {"url", "detail", "format"}.
    polymodal.completion(
        model="openai/gpt-4o",
        api_base=emu.openai_base,
        api_key="k",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "image_url", "image_url": BOARDWALK},
                    {
                        "type": "image_url",
                        "image_url": {"url": BOARDWALK, "detail": "low", "format": "image/jpeg"},
                    },
                ],
            }
        ],
    )
    parts = _sent(emu)["messages"][0]["content"]  # type: ignore[index]
    assert parts[1] == {"type": "image_url", "image_url": {"url": BOARDWALK}}
    assert parts[2] == {"type": "image_url", "image_url": {"url": BOARDWALK, "detail": "low"}}


# --------------------------------------------------------------------------- guide a


def test_guide_a_basic(emu: Emulator) -> None:
    response = polymodal.completion(
        model="openai/gpt-4-vision-preview",
        api_key="your_api_key",
        api_base=emu.openai_base,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "请描述这张图片的内容"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/image.jpg"}},
                ],
            }
        ],
        max_tokens=500,
    )
    print(response.choices[0].message.content)
    assert "请描述这张图片的内容" in (response.choices[0].message.content or "")
    sent = _sent(emu)
    assert sent["max_tokens"] == 500
    assert sent["messages"][0]["content"][1]["image_url"]["url"] == "https://example.com/image.jpg"  # type: ignore[index]


def test_guide_a_base64(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "image.jpg"
    path.write_bytes(JPEG)

    def encode_image(image_path: Path) -> str:
        with open(image_path, "rb") as image_file:
            return base64.b64encode(image_file.read()).decode("utf-8")

    base64_image = encode_image(path)
    response = polymodal.completion(
        model="openai/gpt-4-vision-preview",
        api_key="your_api_key",
        api_base=emu.openai_base,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "这张图片里有什么?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/jpeg;base64,{base64_image}"},
                    },
                ],
            }
        ],
        max_tokens=500,
    )
    assert response.choices[0].message.content
    url = _sent(emu)["messages"][0]["content"][1]["image_url"]["url"]  # type: ignore[index]
    assert url == f"data:image/jpeg;base64,{base64.b64encode(JPEG).decode()}"


def test_guide_a_multi_image_streaming(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    response = polymodal.completion(
        model="openai/qwen/qwen2.5-vl-72b-instruct",
        api_key="your_api_key",
        api_base=emu.openai_base,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://example.com/product1.jpg"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/product2.jpg"}},
                    {"type": "text", "text": "请对比一下这两个产品的主要区别。"},
                ],
            }
        ],
        stream=True,
        stream_options={
            "include_usage": True
        },  # the guide omits it; usage chunks must not break its loop
    )
    for chunk in response:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
    printed = capsys.readouterr().out
    assert "received 2 image(s)" in printed
    sent = _sent(emu)
    assert sent["stream"] is True
    assert [p["type"] for p in sent["messages"][0]["content"]] == ["image_url", "image_url", "text"]  # type: ignore[index]


# --------------------------------------------------------------------------- guide b


GUIDE_B_CURL_BODY = json.loads(
    """{
  "model": "模型ID",
  "messages": [
    {
      "role": "user",
      "content": [
        {"type": "image_url", "image_url": {"url": "图片url或base64编码"}},
        {"type": "text", "text": "图里有什么"}
      ]
    }
  ]
}"""
)


@pytest.mark.parametrize(
    "image",
    ["https://example.com/photo.png", f"data:image/jpeg;base64,{base64.b64encode(JPEG).decode()}"],
    ids=["url", "base64"],
)
def test_guide_b_python_client(emu: Emulator, image: str) -> None:
    response = polymodal.completion(
        model="openai/Qwen2.5-VL-72B-Instruct",  # "模型ID": any model id the platform serves
        api_key="sk-platform-key",  # "申请到的key": the key the platform issued
        api_base=f"{emu.url}/v1/",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": image}},
                    {"type": "text", "text": "图里有什么"},
                ],
            }
        ],
    )
    print(response)
    assert "图里有什么" in (response.choices[0].message.content or "")
    assert emu.requests[-1].path == "/v1/chat/completions"
    assert emu.requests[-1].headers["authorization"] == "Bearer sk-platform-key"


def test_guide_b_placeholder_key_is_a_clear_error(emu: Emulator) -> None:
    # Copied verbatim, the placeholder "申请到的key" cannot travel in an HTTP header: say so
    # before any request, without echoing it.
    with pytest.raises(polymodal.BadRequestError, match="api_key contains non-ASCII") as info:
        polymodal.completion(
            model="openai/模型ID",
            api_key="申请到的key",
            api_base=f"{emu.url}/v1/",
            messages=[{"role": "user", "content": "图里有什么"}],
        )
    assert "申请到的key" not in str(info.value)
    assert emu.requests == []


def test_guide_b_body_equals_the_curl_example(emu: Emulator) -> None:
    # The curl / Go / Java / Node examples all send this exact JSON body; the placeholder
    # "图片url或base64编码" (image url or base64) is filled in with a real URL.
    expected = json.loads(
        json.dumps(GUIDE_B_CURL_BODY).replace(
            json.dumps("图片url或base64编码"), json.dumps("https://example.com/photo.png")
        )
    )
    polymodal.completion(
        model="openai/模型ID",
        api_key="sk-platform-key",
        api_base=f"{emu.url}/v1/",
        messages=expected["messages"],
    )
    assert _sent(emu) == expected


def test_guide_b_placeholder_image_is_a_clear_error(emu: Emulator) -> None:
    with pytest.raises(polymodal.MediaFetchError, match="image_url"):
        polymodal.completion(
            model="openai/模型ID",
            api_key="sk-platform-key",
            api_base=f"{emu.url}/v1/",
            messages=GUIDE_B_CURL_BODY["messages"],
        )
    assert emu.requests == []


@pytest.mark.parametrize(
    ("model", "context"),
    [
        ("Qwen2.5-VL-72B-Instruct", 128000),
        ("Qwen2.5-VL-32B-Instruct", 128000),
        ("Qwen2.5-VL-7B-Instruct", 128000),
        ("Qwen2.5-VL-3B-Instruct", 128000),
        ("GLM-4V-Flash", 4000),
        ("GLM-4V", 8000),
        ("GLM-4V-Plus", 8000),
        ("ERNIE-4.5-Turbo-32K", 32000),
    ],
)
def test_guide_b_models_and_context_lengths(model: str, context: int) -> None:
    assert polymodal.get_model_info(f"openai/{model}").max_input_tokens == context
    assert polymodal.supports_vision(f"openai/{model}") is True
