"""Vertex AI Imagen: the pure wire format (``polymodal.apis.vertex_imagen``) and its target.

Expected bodies are written from Google's Imagen API reference; the contract tests compare them
with what google-genai sends for the same request.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from polymodal import errors
from polymodal._images import parse_images
from polymodal._warn import DroppedParamWarning
from polymodal.apis import vertex_imagen as vi
from polymodal.options import pop_options
from polymodal.providers import target
from polymodal.routing import Route
from polymodal.types import ImageRequest

PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8).decode()


def req(prompt: str = "An olympic size swimming pool", model: str = "imagegeneration@006",
        **params: Any) -> ImageRequest:  # fmt: skip
    return parse_images(model, prompt, params)


def body(**params: Any) -> dict[str, Any]:
    model = params.pop("model", "imagegeneration@006")
    drop = params.pop("drop_params", False)
    return vi.encode(vi.check(req(model=model, **params), drop_params=drop))


@pytest.mark.parametrize(
    "model",
    [
        "imagegeneration@002",
        "imagegeneration@005",
        "imagegeneration@006",
        "imagen-3.0-generate-001",
        "imagen-3.0-generate-002",
        "imagen-3.0-fast-generate-001",
        "imagen-4.0-generate-001",
        "imagen-4.0-fast-generate-001",
        "imagen-4.0-ultra-generate-001",
        "imagen-4.0-generate-preview-06-06",
    ],
)
def test_imagen_models(model: str) -> None:
    assert vi.is_imagen(model)


@pytest.mark.parametrize("model", ["gemini-2.5-flash-image", "virtual-try-on-001", "imagen",
                                   "imagen-3.0-capability-001", "dall-e-3"])  # fmt: skip
def test_not_imagen(model: str) -> None:
    assert not vi.is_imagen(model)


def test_minimal_body_asks_for_one_image() -> None:
    assert body() == {
        "instances": [{"prompt": "An olympic size swimming pool"}],
        "parameters": {"sampleCount": 1},
    }


@pytest.mark.parametrize(
    ("size", "ratio"),
    [
        ("1024x1024", "1:1"),
        ("256x256", "1:1"),
        ("1792x1024", "16:9"),
        ("1024x1792", "9:16"),
        ("1536x1024", "4:3"),
        ("1024x1536", "3:4"),
        ("1280x896", "4:3"),
        ("1408x768", "16:9"),
        ("3000x1000", "16:9"),
        ("1000x3000", "9:16"),
        ("auto", None),
    ],
)
def test_size_becomes_the_nearest_aspect_ratio(size: str, ratio: str | None) -> None:
    assert vi.aspect_ratio(size) == ratio
    got = body(size=size)["parameters"]
    assert got.get("aspectRatio") == ratio


def test_aspect_ratio_param_and_size_must_agree() -> None:
    assert body(aspect_ratio="9:16")["parameters"]["aspectRatio"] == "9:16"
    assert body(aspectRatio="4:3", size="1536x1024")["parameters"]["aspectRatio"] == "4:3"
    with pytest.raises(errors.BadRequestError, match="pass one of them"):
        body(aspectRatio="1:1", size="1792x1024")
    with pytest.raises(errors.BadRequestError, match="aspectRatio must be one of"):
        body(aspectRatio="3:2")
    with pytest.raises(errors.BadRequestError, match="WIDTHxHEIGHT"):
        body(size="big")
    with pytest.raises(errors.BadRequestError, match="WIDTHxHEIGHT"):
        body(size="0x10")


@pytest.mark.parametrize(
    ("model", "top"), [("imagegeneration@002", 8), ("imagen-3.0-generate-002", 4)]
)
def test_n_limits(model: str, top: int) -> None:
    assert body(model=model, n=top)["parameters"]["sampleCount"] == top
    with pytest.raises(errors.BadRequestError, match=f"from 1 to {top}"):
        body(model=model, n=top + 1)
    with pytest.raises(errors.BadRequestError, match="n must be"):
        body(model=model, n=0)


def test_provider_params_snake_or_camel() -> None:
    got = body(
        model="imagen-3.0-generate-002",
        negative_prompt="people",
        seed=42,
        add_watermark=False,
        safety_filter_level="block_only_high",
        person_generation="ALLOW_ADULT",
        enhance_prompt=True,
        language="de",
        guidance_scale=10,
        include_rai_reason=True,
        include_safety_attributes=True,
        sample_image_size="2K",
        storage_uri="gs://out/",
        output_format="jpeg",
        output_compression=70,
        labels={"team": "x"},
        someNewKnob=1,
    )
    assert got == {
        "instances": [{"prompt": "An olympic size swimming pool"}],
        "parameters": {
            "sampleCount": 1,
            "negativePrompt": "people",
            "seed": 42,
            "addWatermark": False,
            "safetySetting": "block_only_high",
            "personGeneration": "ALLOW_ADULT",
            "enhancePrompt": True,
            "language": "de",
            "guidanceScale": 10,
            "includeRaiReason": True,
            "includeSafetyAttributes": True,
            "sampleImageSize": "2K",
            "storageUri": "gs://out/",
            "outputOptions": {"mimeType": "image/jpeg", "compressionQuality": 70},
            "someNewKnob": 1,
        },
        "labels": {"team": "x"},
    }


def test_checked_values() -> None:
    with pytest.raises(errors.BadRequestError, match="personGeneration must be one of"):
        body(person_generation="everyone")
    with pytest.raises(errors.BadRequestError, match="safetySetting must be one of"):
        body(safety_setting="block_all")
    with pytest.raises(errors.BadRequestError, match="'png' or 'jpeg'"):
        body(output_format="webp")
    with pytest.raises(errors.BadRequestError, match="add_watermark=False"):
        body(model="imagen-3.0-generate-002", seed=1)
    assert body(model="imagegeneration@005", seed=1)["parameters"]["seed"] == 1  # no watermark


def test_response_format() -> None:
    assert body(response_format="b64_json") == body()
    with pytest.raises(errors.UnsupportedParamsError, match="returns image bytes") as exc:
        body(response_format="url")
    assert exc.value.param == "response_format"
    with pytest.warns(DroppedParamWarning, match="response_format"):
        assert body(response_format="url", drop_params=True) == body()
    # with a storage URI Google writes the files and answers their gs:// URLs
    assert (
        body(response_format="url", storage_uri="gs://o/")["parameters"]["storageUri"] == "gs://o/"
    )
    with pytest.raises(errors.BadRequestError, match="'url' or 'b64_json'"):
        body(response_format="png")


@pytest.mark.parametrize(("name", "value"), [("quality", "hd"), ("style", "vivid"), ("user", "u")])
def test_openai_only_params_are_refused_or_dropped(name: str, value: str) -> None:
    with pytest.raises(errors.UnsupportedParamsError, match=name):
        body(**{name: value})
    with pytest.warns(DroppedParamWarning, match=name):
        assert body(**{name: value}, drop_params=True) == body()


def test_extra_body_is_merged() -> None:
    got = body(extra_body={"parameters": {"sampleCount": 2}})
    assert got["parameters"] == {"sampleCount": 2}


# --------------------------------------------------------------------------- decode


def test_decode_images() -> None:
    got = vi.decode({
        "predictions": [
            {"bytesBase64Encoded": PNG_B64, "mimeType": "image/png",
             "prompt": "An enhanced prompt"},
            {"bytesBase64Encoded": "/9j/4AAQSkZJRg=="},
            {"raiFilteredReason": "filtered: 58061214"},
        ]
    })  # fmt: skip
    assert [(i.b64_json, i.mime_type) for i in got.images] == [
        (PNG_B64, "image/png"),
        ("/9j/4AAQSkZJRg==", "image/jpeg"),  # sniffed when mimeType is missing
    ]
    assert got.images[0].revised_prompt == "An enhanced prompt"
    assert got.provider_specific_fields == {"rai_filtered_reasons": ["filtered: 58061214"]}


def test_decode_storage_uris_and_safety_attributes() -> None:
    got = vi.decode({
        "predictions": [{"gcsUri": "gs://o/1/sample_0.png", "mimeType": "image/png",
                         "safetyAttributes": {"categories": [], "scores": []}}],
        "positivePromptSafetyAttributes": {"categories": ["Violence"], "scores": [0.1]},
    })  # fmt: skip
    assert got.images[0].url == "gs://o/1/sample_0.png" and got.images[0].b64_json is None
    assert got.provider_specific_fields["safety_attributes"] == [{"categories": [], "scores": []}]
    assert got.provider_specific_fields["prompt_safety_attributes"]["categories"] == ["Violence"]


def test_everything_filtered_is_a_content_policy_error() -> None:
    with pytest.raises(errors.ContentPolicyViolationError, match="safety filters"):
        vi.decode({})
    with pytest.raises(errors.ContentPolicyViolationError, match="58061214"):
        vi.decode({"predictions": [{"raiFilteredReason": "Support codes: 58061214"}]})


def test_decode_errors() -> None:
    with pytest.raises(errors.BadRequestError, match="bad"):
        vi.decode({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}})
    with pytest.raises(errors.InternalServerError):
        vi.decode([1, 2])
    with pytest.raises(errors.InternalServerError):
        vi.decode({"predictions": "x"})


# --------------------------------------------------------------------------- target


def test_imagen_target() -> None:
    found = target(Route("vertex_ai", "imagen-3.0-generate-002"), "images",
                   pop_options({"api_key": "t", "vertex_project": "p"}))  # fmt: skip
    assert found.endpoint.url == (
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/"
        "publishers/google/models/imagen-3.0-generate-002:predict"
    )
    assert found.api is vi
    with pytest.raises(errors.BadRequestError, match="speaks Imagen"):
        target(Route("vertex_ai", "virtual-try-on-001"), "images",
               pop_options({"api_key": "t", "vertex_project": "p"}))  # fmt: skip
