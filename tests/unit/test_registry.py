"""polymodal.registry: capability answers from the packaged model data.

Expected values come from the documentation polymodal was specified from (../shared/seeds) and
the providers' model pages, not from the generated models.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import polymodal.registry as registry
from polymodal.errors import ModelNotFoundError, NotFoundError
from polymodal.registry import (
    ModelInfo,
    get_model_info,
    lookup,
    provider_for,
    register_model,
    supports,
    supports_function_calling,
    supports_response_schema,
    supports_vision,
    unregister_model,
)

ROOT = Path(__file__).resolve().parents[2]
LLAVA = "openai/llava-hf/llava-v1.6-vicuna-7b-hf"


@pytest.fixture
def clean_user_table() -> Iterator[None]:
    before = dict(registry._user_models)
    yield
    registry._user_models.clear()
    registry._user_models.update(before)


# --- litellm-vision.zh.txt, "检查模型是否支持 vision" -------------------------------------------


def test_seed_supports_vision_assertions() -> None:
    assert supports_vision(model="openai/gpt-4-vision-preview") == True  # noqa: E712
    assert supports_vision(model="vertex_ai/gemini-1.0-pro-vision") == True  # noqa: E712
    assert supports_vision(model="openai/gpt-3.5-turbo") == False  # noqa: E712
    assert supports_vision(model="xai/grok-2-vision-latest") == True  # noqa: E712
    assert supports_vision(model="xai/grok-2-latest") == False  # noqa: E712


def test_seed_model_group_info_for_gpt_4_vision_preview() -> None:
    # The page's /model_group/info answer: 128000 in, 4096 out, chat, vision, no function calling.
    info = get_model_info("gpt-4-vision-preview")
    assert info.key == "openai/gpt-4-vision-preview"
    assert info.provider == "openai"
    assert info.mode == "chat"
    assert info.max_input_tokens == 128000
    assert info.max_output_tokens == 4096
    assert info.supports_vision is True
    assert info.supports_function_calling is False
    assert supports_function_calling("openai/gpt-4-vision-preview") is False


def test_seed_llava_registered_with_supports_vision(clean_user_table: None) -> None:
    # config.yaml on the same page: an OpenAI-compatible llava with model_info.supports_vision.
    assert lookup(LLAVA) is None
    assert supports_vision(LLAVA) is False
    info = register_model(LLAVA, supports_vision=True, aliases=["llava-hf"])
    assert info.key == LLAVA
    assert info.provider == "openai"
    assert supports_vision(LLAVA) is True
    assert supports_vision("llava-hf") is True
    # /model_group/info for llava-hf: max tokens and mode unknown.
    assert info.max_input_tokens is None
    assert info.max_output_tokens is None
    assert info.mode is None
    assert unregister_model(LLAVA) is True
    assert lookup(LLAVA) is None
    assert lookup("llava-hf") is None


# --- vision-platform-guide-b.zh.txt: context lengths (K read as 1000) ---------------------------


@pytest.mark.parametrize(
    ("model", "context"),
    [
        ("Qwen2.5-VL-72B-Instruct", 128_000),
        ("Qwen2.5-VL-32B-Instruct", 128_000),
        ("Qwen2.5-VL-7B-Instruct", 128_000),
        ("Qwen2.5-VL-3B-Instruct", 128_000),
        ("GLM-4V-Flash", 4_000),
        ("GLM-4V", 8_000),
        ("GLM-4V-Plus", 8_000),
        ("ERNIE-4.5-Turbo-32K", 32_000),
    ],
)
def test_platform_vision_models(model: str, context: int) -> None:
    for spelling in (
        model,
        model.lower(),
        model.upper(),
        f"openai/{model}",
        f"openai/{model.lower()}",
    ):
        info = lookup(spelling)
        assert info is not None, spelling
        assert info.key == f"openai/{model}"
        assert info.provider == "openai"
        assert info.mode == "chat"
        assert info.max_input_tokens == context
        assert supports_vision(spelling) is True
    assert provider_for(model) == "openai"


def test_platform_guide_a_qwen_id() -> None:
    # vision-platform-guide-a.zh.txt: model="qwen/qwen2.5-vl-72b-instruct"
    for spelling in ("qwen/qwen2.5-vl-72b-instruct", "Qwen/Qwen2.5-VL-72B-Instruct"):
        info = lookup(spelling)
        assert info is not None
        assert info.key == "openai/Qwen2.5-VL-72B-Instruct"
        assert supports_vision(spelling) is True
    assert supports_vision("openai/qwen/qwen2.5-vl-72b-instruct") is True


def test_case_insensitivity_is_only_for_the_platform_models() -> None:
    assert lookup("gpt-4o") is not None
    assert lookup("GPT-4O") is None


# --- bare names routed by the registry ------------------------------------------------------


@pytest.mark.parametrize(
    ("bare", "key"),
    [
        ("gpt-4o", "openai/gpt-4o"),
        ("gpt-3.5-turbo", "openai/gpt-3.5-turbo"),
        ("dall-e-3", "openai/dall-e-3"),
        ("gemini-pro", "vertex_ai/gemini-pro"),
        ("gemini-1.5-pro", "vertex_ai/gemini-1.5-pro"),
        ("gemini-2.5-flash", "vertex_ai/gemini-2.5-flash"),
        ("claude-3-7-sonnet-latest", "anthropic/claude-3-7-sonnet-latest"),
        ("text-embedding-004", "vertex_ai/text-embedding-004"),
        ("multimodalembedding@001", "vertex_ai/multimodalembedding@001"),
    ],
)
def test_bare_aliases(bare: str, key: str) -> None:
    info = lookup(bare)
    assert info is not None
    assert info.key == key
    assert provider_for(bare) == key.split("/", 1)[0]


def test_provider_for() -> None:
    assert provider_for("vertex_ai/gemini/4965075652664360960") == "vertex_ai"  # tuned endpoint
    assert provider_for("azure/my-deployment") == "azure"
    assert provider_for("no-such-model-anywhere") is None


def test_provider_argument() -> None:
    azure = lookup("gpt-4o", provider="azure")
    assert azure is not None and azure.key == "azure/gpt-4o"
    studio = lookup("gemini-2.5-flash", provider="gemini")
    assert studio is not None and studio.key == "gemini/gemini-2.5-flash"
    vertex = lookup("gemini-2.5-flash", provider="vertex")
    assert vertex is not None and vertex.key == "vertex_ai/gemini-2.5-flash"
    assert lookup("gemini-2.5-flash", provider="openai") is None


# --- modes and sizes named by the seed pages -----------------------------------------------


@pytest.mark.parametrize(
    ("model", "mode"),
    [
        # litellm-image-generation.de.txt
        ("dall-e-2", "image_generation"),
        ("openai/dall-e-3", "image_generation"),
        ("gpt-image-1", "image_generation"),
        ("bedrock/stability.stable-diffusion-xl-v0", "image_generation"),
        # litellm-vertex-ai.zh.txt: Imagen table
        ("vertex_ai/imagegeneration@002", "image_generation"),
        ("vertex_ai/imagegeneration@005", "image_generation"),
        ("vertex_ai/imagegeneration@006", "image_generation"),
        ("vertex_ai/imagen-3.0-generate-001", "image_generation"),
        ("vertex_ai/imagen-3.0-fast-generate-001", "image_generation"),
        # embeddings table
        ("vertex_ai/text-embedding-004", "embedding"),
        ("vertex_ai/text-multilingual-embedding-002", "embedding"),
        ("vertex_ai/textembedding-gecko", "embedding"),
        ("vertex_ai/textembedding-gecko@003", "embedding"),
        ("vertex_ai/textembedding-gecko-multilingual@001", "embedding"),
        # Codestral FIM
        ("vertex_ai/codestral@2405", "completion"),
        # partner models
        ("vertex_ai/mistral-large@2407", "chat"),
        ("vertex_ai/mistral-nemo@2407", "chat"),
        ("vertex_ai/jamba-1.5-mini@001", "chat"),
        ("vertex_ai/jamba-1.5-large@001", "chat"),
        ("vertex_ai/meta/llama3-405b-instruct-maas", "chat"),
        ("vertex_ai/meta/llama3-8b-instruct-maas", "chat"),
        ("vertex_ai/meta/llama-3.2-90b-vision-instruct-maas", "chat"),
        # speech
        ("tts-1", "audio_speech"),
        ("tts-1-hd", "audio_speech"),
        ("gpt-4o-mini-tts", "audio_speech"),
        ("vertex_ai/chirp", "audio_speech"),
    ],
)
def test_modes(model: str, mode: str) -> None:
    assert get_model_info(model).mode == mode


@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("text-embedding-3-small", 1536),
        ("text-embedding-3-large", 3072),
        ("text-embedding-ada-002", 1536),
        ("vertex_ai/text-embedding-004", 768),
        ("vertex_ai/multimodalembedding@001", 1408),
    ],
)
def test_embedding_sizes(model: str, size: int) -> None:
    assert get_model_info(model).output_vector_size == size


def test_multimodal_embedding_takes_images() -> None:
    assert supports_vision("vertex_ai/multimodalembedding@001") is True


# --- Vertex AI @version forms ---------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "vertex_ai/claude-3-7-sonnet@20250219",
        "claude-3-7-sonnet@20250219",
        "vertex_ai/claude-3-7-sonnet-20250219",  # the seed's thinking example spells it so
    ],
)
def test_vertex_claude_versions(spelling: str) -> None:
    info = get_model_info(spelling)
    assert info.key == "vertex_ai/claude-3-7-sonnet@20250219"
    assert info.provider == "vertex_ai"
    assert info.max_input_tokens == 200_000
    assert info.supports_vision is True
    assert info.supports_reasoning is True


@pytest.mark.parametrize(
    "model",
    [
        "vertex_ai/claude-3-opus@20240229",
        "vertex_ai/claude-3-5-sonnet@20240620",
        "vertex_ai/claude-3-sonnet@20240229",
        "vertex_ai/claude-3-haiku@20240307",
    ],
)
def test_vertex_claude_table(model: str) -> None:
    info = get_model_info(model)
    assert info.key == model
    assert info.supports_vision is True
    assert info.max_input_tokens == 200_000


def test_vertex_version_forms() -> None:
    # Exact @version names from the seed's partner-model tables.
    for model in ("vertex_ai/mistral-large@2407", "vertex_ai/jamba-1.5-mini@001"):
        info = lookup(model)
        assert info is not None and info.key == model
    assert get_model_info("mistral-large@2407").key == "vertex_ai/mistral-large@2407"
    # A snapshot the registry does not list resolves to the model's unversioned entry.
    info = lookup("vertex_ai/claude-3-7-sonnet@20990101")
    assert info is not None and info.key == "vertex_ai/claude-3-7-sonnet"


# --- Bedrock cross-region inference profiles --------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
        "bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "bedrock/eu.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "bedrock/apac.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "bedrock/converse/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
    ],
)
def test_bedrock_prefixes(spelling: str) -> None:
    info = get_model_info(spelling)
    assert info.key == "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0"
    assert info.provider == "bedrock"
    assert info.supports_vision is True
    assert info.max_input_tokens == 200_000


# --- Gemini ---------------------------------------------------------------------------------


def test_gemini_thinking_and_json_schema() -> None:
    for model in ("vertex_ai/gemini-2.5-flash", "gemini/gemini-2.5-flash", "gemini-2.5-pro"):
        info = get_model_info(model)
        assert info.thinking == "budget"
        assert info.response_json_schema is True
    for model in ("vertex_ai/gemini-3-pro-preview", "gemini/gemini-3-flash-preview"):
        info = get_model_info(model)
        assert info.thinking == "level"
        assert info.response_json_schema is True
    old = get_model_info("vertex_ai/gemini-1.5-pro")
    assert old.thinking is None
    assert old.max_input_tokens == 2_097_152
    assert old.max_output_tokens == 8192
    assert supports_response_schema("gemini-1.5-pro") is True


def test_gemini_pro_is_gemini_1_0_pro() -> None:
    info = get_model_info("gemini-pro")
    assert info.max_input_tokens == 32_760
    assert info.supports_vision is False
    assert info.supports_function_calling is True


def test_studio_and_vertex_are_separate_entries() -> None:
    assert get_model_info("gemini/gemini-2.5-flash").provider == "gemini"
    assert get_model_info("vertex_ai/gemini-2.5-flash").provider == "vertex_ai"
    assert get_model_info("gemini/models/gemini-2.5-flash").key == "gemini/gemini-2.5-flash"


# --- tri-state ------------------------------------------------------------------------------


def test_tri_state(clean_user_table: None) -> None:
    # Known yes / known no.
    assert supports("openai/gpt-4o", "vision") is True
    assert supports("openai/gpt-3.5-turbo", "supports_vision") is False
    # Unknown model: None from supports(), False from the boolean helpers.
    assert supports(LLAVA, "vision") is None
    assert supports_vision(LLAVA) is False
    # Known model, unknown answer.
    register_model(LLAVA, supports_vision=True)
    assert supports(LLAVA, "vision") is True
    assert supports(LLAVA, "function_calling") is None
    assert supports_function_calling(LLAVA) is False


def test_unknown_capability_name() -> None:
    with pytest.raises(ValueError, match="unknown capability"):
        supports("gpt-4o", "telepathy")


def test_to_dict_has_every_field() -> None:
    data = get_model_info("gpt-4-vision-preview").to_dict()
    assert data["key"] == "openai/gpt-4-vision-preview"
    assert data["supports_function_calling"] is False
    assert "supports_audio_input" in data
    assert data["thinking"] is None
    assert json.loads(json.dumps(data)) == data
    assert set(data) == set(ModelInfo.__dataclass_fields__)


# --- errors ---------------------------------------------------------------------------------


def test_model_not_found_names_close_matches() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        get_model_info("gpt-4o-mni")
    err = caught.value
    assert isinstance(err, NotFoundError)
    assert isinstance(err, KeyError)
    assert "gpt-4o-mni" in str(err)
    assert "gpt-4o-mini" in str(err)
    assert err.model == "gpt-4o-mni"


def test_model_not_found_with_provider_prefix() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        get_model_info("vertex_ai/gemini-2.5-flsh")
    assert caught.value.provider == "vertex_ai"
    assert "vertex_ai/gemini-2.5-flash" in str(caught.value)


def test_unknown_models_are_not_guessed() -> None:
    assert lookup("vertex_ai/gemini/4965075652664360960") is None
    assert lookup("openai/some-self-hosted-model") is None
    assert lookup("") is None
    assert lookup("gemini-2.5-flash", provider="azure") is None


# --- register_model -------------------------------------------------------------------------


def test_register_override_and_restore(clean_user_table: None) -> None:
    packaged = get_model_info("openai/gpt-4o")
    info = register_model("openai/gpt-4o", max_output_tokens=1234)
    assert info.max_output_tokens == 1234
    assert info.max_input_tokens == packaged.max_input_tokens  # other fields kept
    assert get_model_info("gpt-4o").max_output_tokens == 1234  # the alias sees the override
    assert unregister_model("openai/gpt-4o") is True
    assert get_model_info("gpt-4o") == packaged


def test_register_bare_name_with_provider(clean_user_table: None) -> None:
    info = register_model("my-vllm-model", provider="openai", mode="chat", max_input_tokens=8192)
    assert info.key == "openai/my-vllm-model"
    assert provider_for("my-vllm-model") == "openai"
    assert get_model_info("openai/my-vllm-model").max_input_tokens == 8192


def test_register_rejects_bad_input(clean_user_table: None) -> None:
    with pytest.raises(ValueError, match="provider"):
        register_model("who-knows")
    with pytest.raises(TypeError, match="unknown field"):
        register_model(LLAVA, supports_telepathy=True)
    with pytest.raises(TypeError):
        register_model(LLAVA, supports_vision="yes")
    with pytest.raises(TypeError):
        register_model(LLAVA, max_input_tokens=-1)


# --- packaging ------------------------------------------------------------------------------


def test_import_does_not_load_the_data() -> None:
    code = (
        "import polymodal.registry as r, sys\n"
        "assert r._tables.cache_info().currsize == 0\n"
        "r.lookup('gpt-4o')\n"
        "assert r._tables.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_packaged_json_is_small_and_self_contained() -> None:
    path = ROOT / "src" / "polymodal" / "registry" / "models.json"
    assert path.stat().st_size < 600_000
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == 1
    assert all("/" in key for key in data["models"])
    assert all(target in data["models"] for target in data["aliases"].values())
    assert all(target in data["models"] for target in data["aliases_ci"].values())
    assert (ROOT / "src" / "polymodal" / "registry" / "NOTICE").exists()


SOURCE = ROOT.parent / "shared" / "fixtures" / "reference" / "litellm_model_registry.json"


@pytest.mark.skipif(not SOURCE.exists(), reason="LiteLLM reference map not available")
def test_committed_json_matches_generator() -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_registry.py"), "--check"], check=True
    )
