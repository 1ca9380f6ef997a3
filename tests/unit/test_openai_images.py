"""OpenAI-family image generation: per-model rules, encode/decode, endpoints.

The rules under test are the ones OpenAI's API reference and the image-generation docs
(../shared/seeds/litellm-image-generation.de.txt) state: dall-e-2 n 1-10, sizes 256/512/1024
square, quality "standard" only; dall-e-3 n=1, sizes 1024x1024/1792x1024/1024x1792, quality
standard/hd, style vivid/natural; GPT image models sizes 1024x1024/1536x1024/1024x1536/auto,
quality low/medium/high/auto, no response_format (always base64). Requests go to an
``httpx.MockTransport``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import polymodal
from polymodal import errors
from polymodal._images import parse_images
from polymodal._warn import DroppedParamWarning
from polymodal.apis import openai_images as api


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment a developer (or another test) left set must not steer these requests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "AZURE_API_KEY",
                 "AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT", "AZURE_API_VERSION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


KEY = "sk-test"
# The ImagesResponse example in OpenAI's API reference (openapi x-oaiMeta).
DOCS_RESPONSE = {
    "created": 1713833628,
    "data": [{"b64_json": "..."}],
    "background": "transparent",
    "output_format": "png",
    "size": "1024x1024",
    "quality": "high",
    "usage": {
        "total_tokens": 100,
        "input_tokens": 50,
        "output_tokens": 50,
        "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
    },
}
URL_RESPONSE = {
    "created": 1703658209,
    "data": [
        {
            "url": "https://oaidalleapiprodscus.blob.core.windows.net/private/img-1.png?st=x",
            "revised_prompt": "Adorable baby sea otter with a coat of thick brown fur",
        }
    ],
}


class Server:
    def __init__(self, answer: dict[str, Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or URL_RESPONSE

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=self.answer)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def generate(server: Server, model: str | None = "openai/dall-e-3", **kw: Any) -> Any:
    kw.setdefault("api_key", KEY)
    return polymodal.image_generation(
        "A cute baby sea otter", model=model, client=server.client(), max_retries=0, **kw
    )


# --------------------------------------------------------------------------- accepted values

ACCEPTED = [
    ("openai/dall-e-2", {"n": 10, "size": "256x256"}),
    ("openai/dall-e-2", {"size": "512x512", "quality": "standard", "response_format": "url"}),
    ("openai/dall-e-2", {"size": "1024x1024", "response_format": "b64_json", "user": "u1"}),
    ("openai/dall-e-3", {"n": 1, "size": "1792x1024", "quality": "hd", "style": "natural"}),
    ("openai/dall-e-3", {"size": "1024x1792", "quality": "standard", "style": "vivid"}),
    ("openai/dall-e-3", {"response_format": "b64_json"}),
    ("openai/gpt-image-1", {"size": "1536x1024", "quality": "high", "n": 4}),
    ("openai/gpt-image-1", {"size": "auto", "quality": "auto"}),
    (
        "openai/gpt-image-1",
        {
            "background": "transparent",
            "output_format": "webp",
            "output_compression": 80,
            "moderation": "low",
        },
    ),
    ("openai/gpt-image-1-mini", {"size": "1024x1536", "quality": "low"}),
    ("openai/gpt-image-2", {"size": "1536x864"}),  # later GPT image models: free sizes
]


@pytest.mark.parametrize(("model", "params"), ACCEPTED)
def test_documented_values_are_sent_as_given(model: str, params: dict[str, Any]) -> None:
    server = Server()
    generate(server, model, **params)
    assert server.bodies[0] == {
        "model": model.split("/", 1)[1],
        "prompt": "A cute baby sea otter",
        **params,
    }


# --------------------------------------------------------------------------- refused values

REFUSED = [
    ("openai/dall-e-2", {"n": 11}, "n", "n must be an integer from 1 to 10"),
    ("openai/dall-e-2", {"size": "1792x1024"}, "size", "dall-e-2 takes '1024x1024', '256x256'"),
    ("openai/dall-e-2", {"quality": "hd"}, "quality", "quality='hd': dall-e-2 takes"),
    ("openai/dall-e-2", {"style": "vivid"}, "style", "style='vivid': dall-e-2 takes none"),
    ("openai/dall-e-3", {"n": 2}, "n", "n=2: dall-e-3 makes at most 1"),
    ("openai/dall-e-3", {"size": "512x512"}, "size", "size='512x512': dall-e-3 takes"),
    ("openai/dall-e-3", {"quality": "high"}, "quality", "quality='high': dall-e-3"),
    ("openai/dall-e-3", {"style": "anime"}, "style", "style='anime': dall-e-3 takes"),
    ("openai/dall-e-3", {"background": "transparent"}, "background", "only the GPT image"),
    ("openai/gpt-image-1", {"size": "1792x1024"}, "size", "size='1792x1024': gpt-image-1"),
    ("openai/gpt-image-1", {"quality": "hd"}, "quality", "quality='hd': gpt-image-1 takes"),
    ("openai/gpt-image-1", {"style": "vivid"}, "style", "style='vivid': gpt-image-1"),
    ("openai/gpt-image-1", {"response_format": "url"}, "response_format", "always returns base64"),
    ("openai/gpt-image-2", {"size": "1000x1000"}, "size", "multiples of 16"),
]


@pytest.mark.parametrize(("model", "params", "param", "match"), REFUSED)
def test_values_a_model_does_not_take_are_refused_before_io(
    model: str, params: dict[str, Any], param: str, match: str
) -> None:
    server = Server()
    with pytest.raises(errors.BadRequestError, match=match) as info:
        generate(server, model, **params)
    assert server.requests == []
    assert info.value.param == param
    assert model.split("/", 1)[1] in str(info.value)  # names the model
    assert info.value.provider == "openai"


@pytest.mark.parametrize(("model", "params", "param", "match"), REFUSED)
def test_drop_params_drops_what_a_model_does_not_take(
    model: str, params: dict[str, Any], param: str, match: str
) -> None:
    if param == "n" and model.endswith("dall-e-2"):
        pytest.skip("n=11 is outside OpenAI's range for every model: never droppable")
    server = Server()
    with pytest.warns(DroppedParamWarning, match=param):
        generate(server, model, drop_params=True, **params)
    assert param not in server.bodies[0]


def test_b64_json_is_what_gpt_image_models_return_anyway() -> None:
    # OpenAI rejects the key itself (recorded: "Unknown parameter: 'response_format'.").
    server = Server(DOCS_RESPONSE)
    generate(server, "openai/gpt-image-1", response_format="b64_json")
    assert "response_format" not in server.bodies[0]


def test_streaming_images_are_refused() -> None:
    with pytest.raises(errors.UnsupportedParamsError, match="streaming image generation"):
        generate(Server(), "openai/gpt-image-1", stream=True)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"output_compression": 101}, "output_compression must be an integer from 0 to 100"),
        ({"background": "pink"}, "background must be one of"),
        ({"output_format": "gif"}, "output_format must be one of"),
        ({"response_format": "png"}, "response_format must be 'url' or 'b64_json'"),
        ({"size": "big"}, "size must be 'WIDTHxHEIGHT'"),
        ({"n": 0}, "n must be an integer from 1 to 10"),
    ],
)
def test_malformed_values(params: dict[str, Any], match: str) -> None:
    server = Server()
    with pytest.raises(errors.BadRequestError, match=match):
        generate(server, "openai/gpt-image-1", **params)
    assert server.requests == []


def test_prompt_limits_per_model() -> None:
    with pytest.raises(errors.BadRequestError, match="dall-e-2 takes at most 1000"):
        polymodal.image_generation("x" * 1001, model="openai/dall-e-2", api_key=KEY)
    with pytest.raises(errors.BadRequestError, match="prompt must be a non-empty string"):
        polymodal.image_generation("  ", model="openai/dall-e-2", api_key=KEY)


def test_unknown_models_are_sent_as_given_with_provider_params() -> None:
    server = Server()
    polymodal.image_generation(
        "otter",
        model="openai/stable-diffusion-xl",
        api_base="http://127.0.0.1:9/v1",
        size="777x333",
        guidance_scale=7.5,
        negative_prompt="blurry",
        client=server.client(),
    )
    assert server.bodies[0] == {
        "model": "stable-diffusion-xl",
        "prompt": "otter",
        "size": "777x333",
        "guidance_scale": 7.5,
        "negative_prompt": "blurry",
    }
    assert str(server.requests[0].url) == "http://127.0.0.1:9/v1/images/generations"


def test_a_chat_model_is_not_an_image_model() -> None:
    with pytest.raises(errors.BadRequestError, match="not an image generation model"):
        polymodal.image_generation("otter", model="openai/gpt-4o", api_key=KEY)


# --------------------------------------------------------------------------- decode


def test_decodes_the_docs_response_example() -> None:
    server = Server(DOCS_RESPONSE)
    result = generate(server, "openai/gpt-image-1")
    assert result.created == 1713833628
    assert result.data[0].b64_json == "..."
    assert result.data[0].url is None
    assert (result.background, result.output_format, result.size, result.quality) == (
        "transparent",
        "png",
        "1024x1024",
        "high",
    )
    assert result.usage["input_tokens_details"]["image_tokens"] == 40


def test_decodes_url_and_revised_prompt() -> None:
    result = generate(Server())
    assert result.data[0].url.startswith("https://oaidalleapiprodscus.blob.core.windows.net/")
    assert result.data[0].revised_prompt.startswith("Adorable baby sea otter")
    assert result.revised_prompt == result.data[0].revised_prompt
    assert result.usage is None
    assert result["created"] == 1703658209


def test_mime_types_in_the_ir() -> None:
    png = api.decode({"created": 1, "data": [{"b64_json": "iVBORw0KGgoAAAANSUhEUg"}]})
    jpeg = api.decode({"created": 1, "data": [{"b64_json": "abc"}], "output_format": "jpeg"})
    url = api.decode({"created": 1, "data": [{"url": "https://x/y/img.webp?sig=1"}]})
    assert [png.images[0].mime_type, jpeg.images[0].mime_type, url.images[0].mime_type] == [
        "image/png",
        "image/jpeg",
        "image/webp",
    ]


def test_content_policy_error_behind_2xx() -> None:
    body = {"error": {"code": "content_policy_violation", "message": "Your request was rejected"}}
    with pytest.raises(errors.ContentPolicyViolationError):
        api.decode(body)


# --------------------------------------------------------------------------- endpoints and defaults


def test_default_model_is_gpt_image_1() -> None:
    server = Server(DOCS_RESPONSE)
    generate(server, None)
    assert server.bodies[0]["model"] == "gpt-image-1"
    assert str(server.requests[0].url) == "https://api.openai.com/v1/images/generations"


def test_azure_deployment_url_with_api_version() -> None:
    server = Server()
    polymodal.image_generation(
        "otter",
        model="azure/dall-e-3",
        api_base="https://res.openai.azure.com/",
        api_version="2024-02-01",
        api_key="azure-key",
        quality="hd",
        client=server.client(),
    )
    assert str(server.requests[0].url) == (
        "https://res.openai.azure.com/openai/deployments/dall-e-3/images/generations"
        "?api-version=2024-02-01"
    )
    assert server.requests[0].headers["api-key"] == "azure-key"
    with pytest.raises(errors.UnsupportedParamsError, match="dall-e-3"):
        polymodal.image_generation("otter", model="azure/dall-e-3", api_key="k",
                                   api_base="https://res.openai.azure.com", n=3)  # fmt: skip


def test_parse_keeps_unknown_keys_as_params() -> None:
    req = parse_images("dall-e-3", "p", {"n": 1, "foo": "bar", "extra_body": {"a": 1}})
    assert (req.n, req.params, req.extra_body) == (1, {"foo": "bar"}, {"a": 1})


def test_image_model_families() -> None:
    assert api.image_model("dall-e-3").family == "dall-e-3"  # type: ignore[union-attr]
    assert api.image_model("azure/dall-e-2").family == "dall-e-2"  # type: ignore[union-attr]
    assert api.image_model("gpt-image-1.5").family == "gpt-image-1"  # type: ignore[union-attr]
    assert api.image_model("my-deployment") is None
