"""Every OpenAI / Azure / OpenAI-compatible example of the image-generation seed page, with
polymodal's names, against the loopback emulator: one test per example.

Source: ../shared/seeds/litellm-image-generation.de.txt. ``litellm.image_generation`` becomes
``polymodal.image_generation``; the only other change is where "OpenAI" / "Azure" is (the
emulator's URL, through ``OPENAI_BASE_URL`` / ``AZURE_API_BASE`` or ``api_base``). Each test
checks what arrived on the wire and what the caller got back.

Pending (later work, not tested here):

* "Bedrock - Stable Diffusion": ``image_generation(prompt=..., model="bedrock/stability.
  stable-diffusion-xl-v0")`` with ``AWS_*`` credentials (no Bedrock image flow yet).
* "VertexAI - Bildgenerierungsmodelle": ``image_generation(prompt=..., model="vertex_ai/
  imagegeneration@006", vertex_ai_project=..., vertex_ai_location=...)`` (Vertex Imagen).
* "LiteLLM Proxy": the ``config.yaml`` + ``curl .../v1/images/generations`` example needs the
  gateway; :func:`test_proxy_config_model_entry_as_a_core_call` runs the call the proxy makes.
"""

from __future__ import annotations

import base64
import os
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import polymodal
from polymodal.testing import Emulator, default_formats
from polymodal.testing.openai_media import OpenAIMedia


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment a developer (or another test) left set must not steer these requests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "AZURE_API_KEY",
                 "AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT", "AZURE_API_VERSION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def _formats() -> list[Any]:
    formats = default_formats()
    if not any(isinstance(f, OpenAIMedia) for f in formats):
        formats.insert(0, OpenAIMedia())
    return formats


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(formats=_formats()) as e:
        yield e


@pytest.fixture
def openai_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The page's ``os.environ["OPENAI_API_KEY"] = ""``, with OpenAI played by the emulator."""
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.setenv("OPENAI_BASE_URL", emu.openai_base)
    return emu


@pytest.fixture
def azure_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("AZURE_API_KEY", "azure-key")
    monkeypatch.setenv("AZURE_API_BASE", emu.azure_endpoint)
    monkeypatch.setenv("AZURE_API_VERSION", "2024-02-01")
    return emu


def _sent(emu: Emulator) -> dict[str, Any]:
    body = emu.requests[-1].json
    assert isinstance(body, dict)
    return body


def _png(b64: str) -> tuple[int, int]:
    """Width and height of a PNG, checked whole: signature, IHDR, inflatable IDAT, IEND."""
    raw = base64.b64decode(b64)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR"
    width, height = struct.unpack(">II", raw[16:24])
    idat = raw.index(b"IDAT")
    length = struct.unpack(">I", raw[idat - 4 : idat])[0]
    pixels = zlib.decompress(raw[idat + 4 : idat + 4 + length])
    assert len(pixels) == height * (1 + 3 * width)
    assert raw.endswith(b"IEND\xaeB`\x82")
    return width, height


# --------------------------------------------------------------------------- Schnellstart


def test_quickstart_dall_e_3(openai_env: Emulator) -> None:
    os.environ["OPENAI_API_KEY"] = ""  # as the page writes it
    response = polymodal.image_generation(prompt="A cute baby sea otter", model="dall-e-3")
    print(f"response: {response}")
    assert _sent(openai_env) == {"model": "dall-e-3", "prompt": "A cute baby sea otter"}
    # The page's output: created, data[0] with url and revised_prompt.
    assert response.created == 1700000000
    image = response.data[0]
    assert image.b64_json is None
    assert image.revised_prompt and "sea otter" in image.revised_prompt
    assert image.url is not None
    fetched = httpx.get(image.url)
    assert fetched.headers["content-type"] == "image/png"
    assert _png(base64.b64encode(fetched.content).decode()) == (1024, 1024)


def test_proxy_config_model_entry_as_a_core_call(emu: Emulator) -> None:
    # config.yaml: model azure/gpt-image-1, api_base, api_key os.environ/AZURE_API_KEY_EU; the
    # curl body asks for n=1, size 1024x1024. The gateway itself is later work.
    os.environ["AZURE_API_KEY_EU"] = "eu-key"
    try:
        response = polymodal.image_generation(
            model="azure/gpt-image-1",
            api_base=emu.azure_endpoint + "/",
            api_key=os.environ["AZURE_API_KEY_EU"],
            prompt="A cute baby sea otter",
            n=1,
            size="1024x1024",
        )
    finally:
        del os.environ["AZURE_API_KEY_EU"]
    request = emu.requests[-1]
    assert request.path == "/openai/deployments/gpt-image-1/images/generations"
    assert request.headers["api-key"] == "eu-key"
    assert _sent(emu)["n"] == 1 and _sent(emu)["size"] == "1024x1024"
    assert _png(response.data[0].b64_json or "") == (1024, 1024)
    assert response.usage is not None and response.output_format == "png"


# --------------------------------------------------------------------------- Input params


def test_input_params_every_optional_field(emu: Emulator) -> None:
    # model, n, quality, response_format, size, style, user, timeout, api_key, api_base,
    # custom_llm_provider (api_version is the Azure test's).
    response = polymodal.image_generation(
        prompt="A cute baby sea otter",
        model="dall-e-3",
        n=1,
        quality="hd",
        response_format="b64_json",
        size="1792x1024",
        style="natural",
        user="user-1234",
        timeout=600,
        api_key="sk-emu",
        api_base=emu.openai_base,
        custom_llm_provider="openai",
    )
    assert _sent(emu) == {
        "model": "dall-e-3",
        "prompt": "A cute baby sea otter",
        "n": 1,
        "quality": "hd",
        "response_format": "b64_json",
        "size": "1792x1024",
        "style": "natural",
        "user": "user-1234",
    }
    assert emu.requests[-1].headers["authorization"] == "Bearer sk-emu"
    assert _png(response.data[0].b64_json or "") == (1792, 1024)


@pytest.mark.parametrize(
    ("model", "size"),
    [("gpt-image-1", "1536x1024"), ("gpt-image-1", "1024x1536"), ("dall-e-2", "512x512"),
     ("dall-e-3", "1024x1792")],
)  # fmt: skip
def test_input_params_size_per_model(emu: Emulator, model: str, size: str) -> None:
    kwargs: dict[str, Any] = (
        {} if model.startswith("gpt-image") else {"response_format": "b64_json"}
    )
    response = polymodal.image_generation("otter", model=model, size=size, api_base=emu.openai_base,
                                          api_key="k", **kwargs)  # fmt: skip
    width, height = map(int, size.split("x"))
    assert _png(response.data[0].b64_json or "") == (width, height)


def test_input_params_quality_per_model(emu: Emulator) -> None:
    # high/medium/low for gpt-image-1, hd/standard for dall-e-3, standard only for dall-e-2.
    for model, quality in (("gpt-image-1", "medium"), ("dall-e-3", "standard"),
                           ("dall-e-2", "standard")):  # fmt: skip
        polymodal.image_generation("otter", model=model, quality=quality,
                                   api_base=emu.openai_base, api_key="k")  # fmt: skip
        assert _sent(emu)["quality"] == quality
    with pytest.raises(polymodal.UnsupportedParamsError, match="dall-e-2"):
        polymodal.image_generation("otter", model="dall-e-2", quality="hd",
                                   api_base=emu.openai_base, api_key="k")  # fmt: skip


def test_input_params_n_between_1_and_10_and_only_1_for_dall_e_3(emu: Emulator) -> None:
    response = polymodal.image_generation("otter", model="dall-e-2", n=10, size="256x256",
                                          api_base=emu.openai_base, api_key="k")  # fmt: skip
    assert len(response.data) == 10 and all(d.url for d in response.data)
    with pytest.raises(polymodal.UnsupportedParamsError, match=r"n=2: dall-e-3"):
        polymodal.image_generation("otter", model="dall-e-3", n=2, api_base=emu.openai_base,
                                   api_key="k")  # fmt: skip
    count = len(emu.requests)
    with pytest.warns(polymodal._warn.DroppedParamWarning):
        polymodal.image_generation("otter", model="dall-e-3", n=2, drop_params=True,
                                   api_base=emu.openai_base, api_key="k")  # fmt: skip
    assert len(emu.requests) == count + 1 and "n" not in _sent(emu)


# --------------------------------------------------------------------------- OpenAI models table


@pytest.mark.parametrize("model", ["gpt-image-1", "dall-e-3", "dall-e-2"])
def test_openai_models_table(openai_env: Emulator, model: str) -> None:
    response = polymodal.image_generation(model=model, prompt="niedlicher Babyotter")
    assert _sent(openai_env) == {"model": model, "prompt": "niedlicher Babyotter"}
    assert openai_env.requests[-1].path == "/v1/images/generations"
    assert len(response.data) == 1
    if model == "gpt-image-1":
        assert _png(response.data[0].b64_json or "") == (1024, 1024)
    else:
        assert response.data[0].url is not None
    assert (response.data[0].revised_prompt is not None) == (model == "dall-e-3")


def test_openai_usage_section(openai_env: Emulator) -> None:
    os.environ["OPENAI_API_KEY"] = ""
    response = polymodal.image_generation(model="gpt-image-1", prompt="cute baby otter")
    assert response.data[0].b64_json and response.usage is not None


# --------------------------------------------------------------------------- Azure


def test_azure_usage_with_env_and_explicit_params(azure_env: Emulator) -> None:
    # The page's Azure "Verwendung" block calls ``embedding(model="azure/<your deployment name>",
    # prompt=...)``: an error of the page (it is the image-generation section and passes a
    # prompt); with polymodal's names it is ``image_generation``.
    api_key = os.environ["AZURE_API_KEY"]
    api_base = os.environ["AZURE_API_BASE"]
    api_version = os.environ["AZURE_API_VERSION"]
    response = polymodal.image_generation(
        model="azure/my-dalle-deployment",
        prompt="cute baby otter",
        api_key=api_key,
        api_base=api_base,
        api_version=api_version,
    )
    print(response)
    request = azure_env.requests[-1]
    assert request.path == "/openai/deployments/my-dalle-deployment/images/generations"
    assert request.query == {"api-version": "2024-02-01"}
    assert request.headers["api-key"] == "azure-key"
    assert response.data[0].url is not None  # an unknown deployment answers as dall-e-2 does


@pytest.mark.parametrize("deployment", ["gpt-image-1", "dall-e-3", "dall-e-2"])
def test_azure_models_table(azure_env: Emulator, deployment: str) -> None:
    response = polymodal.image_generation(
        model=f"azure/{deployment}", prompt="niedlicher Babyotter"
    )
    request = azure_env.requests[-1]
    assert request.path == f"/openai/deployments/{deployment}/images/generations"
    assert request.query["api-version"] == "2024-02-01"
    assert len(response.data) == 1
    assert (response.data[0].b64_json is not None) == (deployment == "gpt-image-1")


# --------------------------------------------------------------------------- OpenAI-compatible


def test_openai_compatible_server(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    response = polymodal.image_generation(
        model="openai/my-llm-name",  # add `openai/` prefix to model so it routes to OpenAI
        api_base=emu.url + "/",  # set API Base of your Custom OpenAI Endpoint
        prompt="cute baby otter",
    )
    request = emu.requests[-1]
    assert request.path == "/images/generations"
    assert "authorization" not in request.headers
    assert _sent(emu) == {"model": "my-llm-name", "prompt": "cute baby otter"}
    assert response.data and response.created == 1700000000
