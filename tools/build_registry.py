#!/usr/bin/env python3
"""Generate ``src/polymodal/registry/models.json``, polymodal's packaged model-capability data.

Run from the repository root (stdlib only, no venv needed)::

    python tools/build_registry.py            # rewrite src/polymodal/registry/models.json
    python tools/build_registry.py --check    # exit 1 if the committed file is out of date

Sources
-------
1. LiteLLM 1.109.1's model map (``litellm/model_prices_and_context_window_backup.json`` from its
   PyPI wheel), Copyright (c) 2023 Berri AI, MIT licence. A copy lives at
   ``../shared/fixtures/reference/litellm_model_registry.json`` (``--source`` to point elsewhere);
   its licence is reproduced in ``src/polymodal/registry/NOTICE``. We take *facts* from it (mode,
   context windows, embedding sizes, capability flags) and nothing else: no prices, no routing
   rules, and the output is our own shape.
2. ``OVERRIDES`` below: hand-written entries for models the map lacks or gets wrong for our
   purposes, with the facts stated in the documentation polymodal was specified from
   (``../shared/seeds/*.txt``: LiteLLM's vision, image-generation and Vertex AI pages, two
   OpenAI-compatible platform guides) and, where those pages name a model without giving its
   limits, the provider's own model page (OpenAI, Anthropic, Google Vertex AI / AI Studio, xAI).
   Each group says where its numbers come from.

The packaged file is committed; the library never reads the sources at runtime.

Output shape (``models.json``, version 1)
-----------------------------------------
``{"format": 1, "source": str, "models": {key: entry}, "aliases": {name: key},
"aliases_ci": {lowercased name: key}}``

* ``key`` is the canonical model string ``provider/model`` (``openai/gpt-4o``,
  ``vertex_ai/claude-3-7-sonnet@20250219``, ``bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0``).
  The provider is the part before the first ``/``.
* ``entry``: ``m`` mode (omitted when ``chat``), ``in`` / ``out`` max input / output tokens,
  ``dim`` embedding size, ``yes`` / ``no`` lists of capability names that are known true / known
  false (a capability in neither list is unknown), ``thinking`` (``budget`` or ``level``, Gemini),
  ``rjs`` (``true``: accepts ``responseJsonSchema``, Gemini).
* ``aliases`` maps bare names users type (``gpt-4o``, ``gemini-2.5-flash``, ``dall-e-3``) to a key.
  ``aliases_ci`` is matched case-insensitively; it holds the OpenAI-compatible platform models,
  whose ids differ in case from platform to platform.

Kept: the modes polymodal serves (chat, embedding, image_generation, audio_speech, completion) of
the providers it serves. Dropped: prices, LiteLLM's pricing-only keys (image ``quality/size/``
prefixes, Azure deployment-type and Bedrock region / commitment prefixes, ``ft:`` templates,
Together's size buckets), Bedrock cross-region copies (``us.``/``eu.``/``apac.``... -- the lookup
strips those prefixes), and every other field.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "fixtures" / "reference" / "litellm_model_registry.json"
OUT = ROOT / "src" / "polymodal" / "registry" / "models.json"

SOURCE_NOTE = (
    "LiteLLM 1.109.1 model map (MIT, Copyright (c) 2023 Berri AI; see NOTICE) + polymodal overrides"
    " (tools/build_registry.py)"
)

MODES = ("chat", "embedding", "image_generation", "audio_speech", "completion")

FLAGS = (
    "vision",
    "function_calling",
    "parallel_function_calling",
    "tool_choice",
    "response_schema",
    "reasoning",
    "pdf_input",
    "audio_input",
    "video_input",
    "web_search",
    "prompt_caching",
    "system_messages",
)

# LiteLLM's ``litellm_provider`` -> our provider name. Anything else is not served and is dropped.
PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure",
    "azure_text": "azure",
    "vertex_ai": "vertex_ai",
    "vertex_ai-language-models": "vertex_ai",
    "vertex_ai-embedding-models": "vertex_ai",
    "vertex_ai-text-models": "vertex_ai",
    "vertex_ai-anthropic_models": "vertex_ai",
    "vertex_ai-llama_models": "vertex_ai",
    "vertex_ai-mistral_models": "vertex_ai",
    "vertex_ai-ai21_models": "vertex_ai",
    "vertex_ai-deepseek_models": "vertex_ai",
    "vertex_ai-qwen_models": "vertex_ai",
    "vertex_ai-openai_models": "vertex_ai",
    "vertex_ai-minimax_models": "vertex_ai",
    "vertex_ai-moonshot_models": "vertex_ai",
    "vertex_ai-zai_models": "vertex_ai",
    "gemini": "gemini",
    "anthropic": "anthropic",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "xai": "xai",
    "groq": "groq",
    "deepseek": "deepseek",
    "mistral": "mistral",
    "together_ai": "together_ai",
    "openrouter": "openrouter",
    "fireworks_ai": "fireworks_ai",
    "fireworks_ai-embedding-models": "fireworks_ai",
}
OUR_PROVIDERS = frozenset(PROVIDERS.values())

# When two providers claim the same bare name, the first here wins (LiteLLM routes a bare
# well-known name the same way: OpenAI, then Anthropic, then Vertex AI, then AI Studio).
ALIAS_PRIORITY = ("openai", "anthropic", "vertex_ai", "gemini", "bedrock")

# Map entries that price a tool or a service, not a model one would call.
NOT_MODELS = frozenset({"openai/container", "azure/container"})

# Pricing-only key shapes: strip them to find the model, use the entry only if nothing plainer
# describes that model.
_IMAGE_PRICING = re.compile(
    r"^(?:(?:low|medium|high|standard|hd)/)?(?:\d+-x-\d+/)(?:(?:\d+|max)-steps/)?|"
    r"^(?:low|medium|high|standard|hd)/"
)
_AZURE_DEPLOYMENT_TYPE = re.compile(r"^(?:eu|us|us-gov|global|global-standard|apac)/")
_BEDROCK_ROUTE = re.compile(
    r"^(?:(?:invoke|converse)/|\*/|[a-z]{2}(?:-gov)?-[a-z]+-\d+/|\d+-month-commitment/)+"
)
BEDROCK_GEO = re.compile(r"^(?:us|eu|apac|global|au|jp|ca|in|us-gov)\.")

_GEMINI_FAMILY = re.compile(r"^gemini-(\d+(?:\.\d+)?)-(?:pro|flash)")
_GEMINI_NOT_TEXT = re.compile(r"tts|image|live|audio|embedding|computer-use|robotics")

# ---------------------------------------------------------------------------------------------
# Overrides. Each entry: canonical key -> fields in the build's internal form
# (``mode``, ``max_input_tokens``, ``max_output_tokens``, ``output_vector_size``,
# ``supports_<flag>``, ``thinking``, ``response_json_schema``), plus optional ``like``
# (copy the facts of another canonical key first), ``aliases`` (bare names routed here) and
# ``aliases_ci`` (case-insensitive names). Fields are merged onto the map's entry if it has one.
# ---------------------------------------------------------------------------------------------

_GEMINI_MULTIMODAL = {
    "supports_vision": True,
    "supports_function_calling": True,
    "supports_parallel_function_calling": True,
    "supports_tool_choice": True,
    "supports_response_schema": True,
    "supports_pdf_input": True,
    "supports_audio_input": True,
    "supports_video_input": True,
    "supports_system_messages": True,
}


def _overrides() -> dict[str, dict[str, Any]]:
    o: dict[str, dict[str, Any]] = {}

    # --- OpenAI. litellm-vision.zh.txt: gpt-4-vision-preview supports vision, 128000 in / 4096
    # out and *no* function calling (the /model_group/info answer on that page); gpt-3.5-turbo
    # does not support vision. litellm-image-generation.de.txt: dall-e-2, dall-e-3, gpt-image-1.
    for name in ("gpt-4-vision-preview", "gpt-4-1106-vision-preview"):
        o[f"openai/{name}"] = {
            "mode": "chat",
            "max_input_tokens": 128000,
            "max_output_tokens": 4096,
            "supports_vision": True,
            "supports_function_calling": False,
            "supports_system_messages": True,
        }
    for name in ("dall-e-2", "dall-e-3", "gpt-image-1"):
        o[f"openai/{name}"] = {"mode": "image_generation"}
    for name in ("tts-1", "tts-1-hd", "gpt-4o-mini-tts"):
        o[f"openai/{name}"] = {"mode": "audio_speech"}
    for name, dim in (
        ("text-embedding-3-small", 1536),
        ("text-embedding-3-large", 3072),
        ("text-embedding-ada-002", 1536),
    ):
        o[f"openai/{name}"] = {
            "mode": "embedding",
            "max_input_tokens": 8191,
            "output_vector_size": dim,
        }

    # --- xAI (seed: litellm-vision.zh.txt asserts grok-2-vision-latest -> vision, grok-2-latest ->
    # no vision; context windows from xAI's model list: grok-2-vision 32768, grok-2 131072,
    # grok-vision-beta 8192, grok-beta 131072).
    for name in ("grok-2-vision-latest", "grok-2-vision-1212", "grok-2-vision"):
        o[f"xai/{name}"] = {
            "mode": "chat",
            "max_input_tokens": 32768,
            "max_output_tokens": 32768,
            "supports_vision": True,
            "supports_function_calling": True,
            "supports_tool_choice": True,
        }
    for name in ("grok-2-latest", "grok-2-1212", "grok-2"):
        o[f"xai/{name}"] = {
            "mode": "chat",
            "max_input_tokens": 131072,
            "max_output_tokens": 131072,
            "supports_vision": False,
            "supports_function_calling": True,
            "supports_tool_choice": True,
        }
    o["xai/grok-vision-beta"] = {
        "mode": "chat",
        "max_input_tokens": 8192,
        "max_output_tokens": 8192,
        "supports_vision": True,
        "supports_function_calling": True,
    }
    o["xai/grok-beta"] = {
        "mode": "chat",
        "max_input_tokens": 131072,
        "max_output_tokens": 131072,
        "supports_vision": False,
        "supports_function_calling": True,
    }

    # --- Vertex AI Gemini (seed: litellm-vertex-ai.zh.txt names gemini-pro, gemini-pro-vision,
    # gemini-1.0-pro-vision(-001), gemini-1.0-pro-001/-002, gemini-1.5-pro/-flash and their
    # preview-0514 builds, gemini-1.5-flash-001, gemini-2.5-flash-preview-04-17; limits from the
    # Vertex AI model pages). gemini-pro is Gemini 1.0 Pro.
    for name in ("gemini-pro", "gemini-1.0-pro", "gemini-1.0-pro-001", "gemini-1.0-pro-002"):
        o[f"vertex_ai/{name}"] = {
            "mode": "chat",
            "max_input_tokens": 32760,
            "max_output_tokens": 8192,
            "supports_vision": False,
            "supports_function_calling": True,
        }
    # Function calling on 1.0 Pro Vision is left unknown: the seed page shows a tools call to
    # gemini-pro-vision, Google's function-calling page does not list the model.
    for name in ("gemini-pro-vision", "gemini-1.0-pro-vision", "gemini-1.0-pro-vision-001"):
        o[f"vertex_ai/{name}"] = {
            "mode": "chat",
            "max_input_tokens": 16384,
            "max_output_tokens": 2048,
            "supports_vision": True,
            "supports_video_input": True,
        }
    for name, max_in in (
        ("gemini-1.5-pro", 2097152),
        ("gemini-1.5-pro-001", 2097152),
        ("gemini-1.5-pro-002", 2097152),
        ("gemini-1.5-pro-preview-0514", 1048576),
        ("gemini-1.5-pro-preview-0409", 1048576),
        ("gemini-1.5-flash", 1048576),
        ("gemini-1.5-flash-001", 1048576),
        ("gemini-1.5-flash-002", 1048576),
        ("gemini-1.5-flash-preview-0514", 1048576),
    ):
        entry = {
            "mode": "chat",
            "max_input_tokens": max_in,
            "max_output_tokens": 8192,
            **_GEMINI_MULTIMODAL,
            "supports_web_search": True,
        }
        if "preview" not in name:
            entry["supports_prompt_caching"] = True
        o[f"vertex_ai/{name}"] = entry
    for name in ("gemini-2.0-flash", "gemini-2.0-flash-001"):
        o[f"vertex_ai/{name}"] = {
            "mode": "chat",
            "max_input_tokens": 1048576,
            "max_output_tokens": 8192,
            **_GEMINI_MULTIMODAL,
            "supports_web_search": True,
            "supports_prompt_caching": True,
        }
    for name in ("gemini-2.0-flash-lite", "gemini-2.0-flash-lite-001"):
        o[f"vertex_ai/{name}"] = {
            "mode": "chat",
            "max_input_tokens": 1048576,
            "max_output_tokens": 8192,
            **_GEMINI_MULTIMODAL,
        }
    for name in ("gemini-2.5-flash-preview-04-17", "gemini-2.5-flash-preview-05-20"):
        o[f"vertex_ai/{name}"] = {"like": "vertex_ai/gemini-2.5-flash", "max_output_tokens": 65536}
    for name in (
        "gemini-2.5-pro-preview-03-25",
        "gemini-2.5-pro-preview-05-06",
        "gemini-2.5-pro-preview-06-05",
    ):
        o[f"vertex_ai/{name}"] = {"like": "vertex_ai/gemini-2.5-pro", "max_output_tokens": 65536}

    # --- Google AI Studio (gemini/...): the same models as on Vertex AI, same limits.
    for name in (
        "gemini-1.5-pro",
        "gemini-1.5-pro-001",
        "gemini-1.5-pro-002",
        "gemini-1.5-flash",
        "gemini-1.5-flash-001",
        "gemini-1.5-flash-002",
        "gemini-2.0-flash",
        "gemini-2.0-flash-001",
        "gemini-2.0-flash-lite",
        "gemini-2.0-flash-lite-001",
        "gemini-2.5-flash-preview-04-17",
        "gemini-2.5-flash-preview-05-20",
        "gemini-2.5-pro-preview-03-25",
        "gemini-2.5-pro-preview-05-06",
        "gemini-2.5-pro-preview-06-05",
        "gemini-3-pro-preview",
    ):
        o[f"gemini/{name}"] = {"like": f"vertex_ai/{name}"}
    o["gemini/gemini-1.5-flash-8b"] = {"like": "vertex_ai/gemini-1.5-flash"}
    o["gemini/gemini-pro"] = {"like": "vertex_ai/gemini-pro"}

    # --- Claude on Vertex AI (seed table: claude-3-opus@20240229, claude-3-5-sonnet@20240620,
    # claude-3-sonnet@20240229, claude-3-haiku@20240307, claude-3-7-sonnet@20250219) and on the
    # Anthropic API (seed: claude-3-7-sonnet-latest). Facts are those of the same model on
    # Bedrock in the map; max output from Anthropic's model overview (3.7 Sonnet: 64000,
    # 3.5 Sonnet / 3.5 Haiku: 8192, 3 Opus / 3 Haiku: 4096, Sonnet 4: 64000, Opus 4 / 4.1: 32000).
    claude = {
        "claude-3-7-sonnet": ("bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0", 64000),
        "claude-3-5-sonnet-v2": ("bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0", 8192),
        "claude-3-5-sonnet": ("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", 8192),
        "claude-3-5-haiku": ("bedrock/anthropic.claude-3-5-haiku-20241022-v1:0", 8192),
        "claude-3-opus": ("bedrock/anthropic.claude-3-opus-20240229-v1:0", 4096),
        "claude-sonnet-4": ("bedrock/anthropic.claude-sonnet-4-20250514-v1:0", 64000),
        "claude-opus-4": ("bedrock/anthropic.claude-opus-4-20250514-v1:0", 32000),
        "claude-opus-4-1": ("bedrock/anthropic.claude-opus-4-1-20250805-v1:0", 32000),
    }
    for vertex_name, family in (
        ("claude-3-7-sonnet@20250219", "claude-3-7-sonnet"),
        ("claude-3-7-sonnet", "claude-3-7-sonnet"),
        ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-v2"),
        ("claude-3-5-sonnet-v2", "claude-3-5-sonnet-v2"),
        ("claude-sonnet-4@20250514", "claude-sonnet-4"),
        ("claude-opus-4@20250514", "claude-opus-4"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1"),
    ):
        like, max_out = claude[family]
        o[f"vertex_ai/{vertex_name}"] = {"like": like, "max_output_tokens": max_out}
    for api_name, family in (
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
        ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet-v2"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet-v2"),
        ("claude-3-5-sonnet-20240620", "claude-3-5-sonnet"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-3-opus-latest", "claude-3-opus"),
        ("claude-3-opus-20240229", "claude-3-opus"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
    ):
        like, max_out = claude[family]
        o[f"anthropic/{api_name}"] = {"like": like, "max_output_tokens": max_out}
    o["anthropic/claude-3-haiku-20240307"] = {"like": "vertex_ai/claude-3-haiku@20240307"}

    # --- Mistral on Vertex AI: the seed's "Codestral FIM" section calls codestral@2405 through
    # the text-completion (FIM) endpoint, so it is registered as a completion model.
    for name in ("codestral@2405", "codestral@latest"):
        o[f"vertex_ai/{name}"] = {"mode": "completion"}

    # --- Imagen on Vertex AI (seed table: imagen-3.0-generate-001, imagen-3.0-fast-generate-001,
    # imagegeneration@006, @005, @002).
    for name in (
        "imagegeneration@002",
        "imagegeneration@005",
        "imagegeneration@006",
        "imagen-3.0-generate-001",
        "imagen-3.0-fast-generate-001",
        "imagen-3.0-generate-002",
    ):
        o[f"vertex_ai/{name}"] = {"mode": "image_generation"}

    # --- Vertex AI embeddings (seed table; input limits and sizes from Google's text-embedding
    # page: gecko models take 3072 tokens and return 768 dims; multimodalembedding returns
    # 1408 dims by default and embeds text, images and video).
    for name in (
        "textembedding-gecko",
        "textembedding-gecko@001",
        "textembedding-gecko@003",
        "textembedding-gecko-multilingual",
        "textembedding-gecko-multilingual@001",
        "text-multilingual-embedding-preview-0409",
    ):
        o[f"vertex_ai/{name}"] = {
            "mode": "embedding",
            "max_input_tokens": 3072,
            "output_vector_size": 768,
        }
    for name in ("multimodalembedding@001", "multimodalembedding"):
        o[f"vertex_ai/{name}"] = {
            "mode": "embedding",
            "output_vector_size": 1408,
            "supports_vision": True,
            "supports_video_input": True,
        }

    # --- OpenAI-compatible vision platforms (vision-platform-guide-b.zh.txt lists these with
    # their context lengths; "128K" etc. are read as K = 1000). They have no fixed vendor: they
    # are reached with ``openai/<id>`` and ``api_base``. guide-a names qwen/qwen2.5-vl-72b-instruct.
    platform = {
        "Qwen2.5-VL-72B-Instruct": (128000, ["Qwen/Qwen2.5-VL-72B-Instruct"]),
        "Qwen2.5-VL-32B-Instruct": (128000, ["Qwen/Qwen2.5-VL-32B-Instruct"]),
        "Qwen2.5-VL-7B-Instruct": (128000, ["Qwen/Qwen2.5-VL-7B-Instruct"]),
        "Qwen2.5-VL-3B-Instruct": (128000, ["Qwen/Qwen2.5-VL-3B-Instruct"]),
        "GLM-4V-Flash": (4000, []),
        "GLM-4V": (8000, []),
        "GLM-4V-Plus": (8000, []),
        "ERNIE-4.5-Turbo-32K": (32000, []),
    }
    for name, (context, extra) in platform.items():
        o[f"openai/{name}"] = {
            "mode": "chat",
            "max_input_tokens": context,
            "supports_vision": True,
            "aliases_ci": [name, *extra],
        }
    return o


# Keys that must resolve after the build (the seeds' examples and the brief's list).
REQUIRED = (
    "openai/gpt-4-vision-preview",
    "openai/gpt-4o",
    "openai/gpt-3.5-turbo",
    "openai/dall-e-2",
    "openai/dall-e-3",
    "openai/gpt-image-1",
    "openai/tts-1",
    "openai/tts-1-hd",
    "openai/gpt-4o-mini-tts",
    "openai/text-embedding-3-small",
    "openai/text-embedding-3-large",
    "openai/text-embedding-ada-002",
    "azure/gpt-4o",
    "xai/grok-2-vision-latest",
    "xai/grok-2-latest",
    "vertex_ai/gemini-pro",
    "vertex_ai/gemini-1.0-pro-vision",
    "vertex_ai/gemini-1.5-pro",
    "vertex_ai/gemini-1.5-flash",
    "vertex_ai/gemini-2.0-flash",
    "vertex_ai/gemini-2.5-flash",
    "vertex_ai/gemini-2.5-pro",
    "vertex_ai/gemini-3-pro-preview",
    "gemini/gemini-2.5-flash",
    "vertex_ai/claude-3-7-sonnet@20250219",
    "vertex_ai/claude-3-5-sonnet@20240620",
    "vertex_ai/claude-3-opus@20240229",
    "vertex_ai/claude-3-haiku@20240307",
    "vertex_ai/claude-3-sonnet@20240229",
    "anthropic/claude-3-7-sonnet-latest",
    "vertex_ai/meta/llama3-405b-instruct-maas",
    "vertex_ai/meta/llama-3.2-90b-vision-instruct-maas",
    "vertex_ai/mistral-large@2407",
    "vertex_ai/mistral-nemo@2407",
    "vertex_ai/codestral@2405",
    "vertex_ai/jamba-1.5-mini@001",
    "vertex_ai/jamba-1.5-large@001",
    "vertex_ai/imagegeneration@002",
    "vertex_ai/imagegeneration@005",
    "vertex_ai/imagegeneration@006",
    "vertex_ai/imagen-3.0-generate-001",
    "vertex_ai/imagen-3.0-fast-generate-001",
    "vertex_ai/text-embedding-004",
    "vertex_ai/text-multilingual-embedding-002",
    "vertex_ai/textembedding-gecko",
    "vertex_ai/textembedding-gecko@003",
    "vertex_ai/multimodalembedding@001",
    "vertex_ai/chirp",
    "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
    "bedrock/stability.stable-diffusion-xl-v0",
    "openai/Qwen2.5-VL-72B-Instruct",
    "openai/GLM-4V-Flash",
    "openai/ERNIE-4.5-Turbo-32K",
)


# ---------------------------------------------------------------------------------------------


def _facts(raw: dict[str, Any]) -> dict[str, Any]:
    """The fields we keep from one LiteLLM entry, in the build's internal form."""
    out: dict[str, Any] = {"mode": raw["mode"]}
    for field in ("max_input_tokens", "max_output_tokens", "output_vector_size"):
        value = raw.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            out[field] = value
    for flag in FLAGS:
        value = raw.get(f"supports_{flag}")
        if isinstance(value, bool):
            out[f"supports_{flag}"] = value
    # Input modalities listed for chat / embedding models are the same fact as the flags
    # (TTS entries list their *output* there, so they are left out).
    if raw["mode"] in ("chat", "embedding"):
        modalities = raw.get("supported_modalities") or []
        for modality, flag in (
            ("image", "vision"),
            ("audio", "audio_input"),
            ("video", "video_input"),
        ):
            if modality in modalities:
                out.setdefault(f"supports_{flag}", True)
    if raw.get("supports_embedding_image_input") is True:
        out.setdefault("supports_vision", True)
    return out


def _normalise(key: str, provider: str) -> tuple[str, bool] | None:
    """LiteLLM key -> (our model name without provider, derived?) or None to skip.

    ``derived`` marks names recovered from a pricing-only key; they are used only when no plain
    key describes the same model.
    """
    name = key
    if name.startswith(f"{provider}/"):
        name = name[len(provider) + 1 :]
    if name.startswith(("ft:", "together-ai-")):
        return None
    derived = False
    stripped = _IMAGE_PRICING.sub("", name)
    if stripped != name:
        derived = True
        name = stripped
        if name.startswith(f"{provider}/"):
            name = name[len(provider) + 1 :]
    if provider == "azure" and _AZURE_DEPLOYMENT_TYPE.match(name):
        name = _AZURE_DEPLOYMENT_TYPE.sub("", name)
        derived = True
    if provider == "bedrock":
        stripped = _BEDROCK_ROUTE.sub("", name)
        if stripped != name:
            name, derived = stripped, True
        if BEDROCK_GEO.match(name):
            name, derived = BEDROCK_GEO.sub("", name, count=1), True
    if not name or "*" in name:
        return None
    return name, derived


def _merge_missing(into: dict[str, Any], other: dict[str, Any]) -> None:
    for field, value in other.items():
        into.setdefault(field, value)


def _gemini_fields(provider: str, name: str, entry: dict[str, Any]) -> None:
    """``thinking`` and ``response_json_schema`` for Gemini text models (Vertex AI and AI Studio).

    Gemini 2.5 models take ``thinkingConfig.thinkingBudget``; Gemini 3 models take
    ``thinkingLevel``. Both generations accept a full JSON Schema in ``responseJsonSchema``.
    Older Gemini models are left unknown.
    """
    if provider not in ("vertex_ai", "gemini") or entry.get("mode") != "chat":
        return
    match = _GEMINI_FAMILY.match(name)
    if match is None or _GEMINI_NOT_TEXT.search(name):
        return
    version = float(match.group(1))
    if version >= 3:
        entry.setdefault("thinking", "level")
    elif version >= 2.5:
        entry.setdefault("thinking", "budget")
    if version >= 2.5:
        entry.setdefault("response_json_schema", True)


def _vertex_bare_alias(name: str) -> bool:
    """Vertex AI names a bare string routes to Vertex AI, as LiteLLM routes them."""
    if name.split("/", 1)[0] in OUR_PROVIDERS:
        return False
    return (
        "@" in name
        or name.endswith("-maas")
        or name.startswith(
            (
                "gemini-",
                "text-embedding-",
                "text-multilingual-embedding-",
                "textembedding-",
                "multimodalembedding",
                "imagen-",
                "imagegeneration",
            )
        )
    )


def build(source: dict[str, Any]) -> dict[str, Any]:
    primary: dict[str, dict[str, Any]] = {}
    derived: dict[str, dict[str, Any]] = {}
    bare_claims: dict[str, dict[str, str]] = {}  # bare name -> {provider: key}

    for key, raw in source.items():
        if not isinstance(raw, dict) or raw.get("mode") not in MODES:
            continue
        provider = PROVIDERS.get(str(raw.get("litellm_provider")))
        if provider is None:
            continue
        normalised = _normalise(key, provider)
        if normalised is None:
            continue
        name, is_derived = normalised
        canonical = f"{provider}/{name}"
        if canonical in NOT_MODELS:
            continue
        facts = _facts(raw)
        table = derived if is_derived else primary
        if canonical in table:
            _merge_missing(table[canonical], facts)
        else:
            table[canonical] = facts
        if not is_derived and "/" not in key:
            bare_claims.setdefault(key, {}).setdefault(provider, canonical)

    models = primary
    for canonical, facts in derived.items():
        models.setdefault(canonical, facts)

    # Rules that hold for whole families.
    for canonical, entry in models.items():
        provider, name = canonical.split("/", 1)
        if (
            provider in ("openai", "azure")
            and entry["mode"] == "chat"
            and name.startswith(("gpt-3.5-turbo", "gpt-35-turbo"))
        ):
            entry["supports_vision"] = False  # GPT-3.5 Turbo is text-only.

        if provider == "azure" and entry["mode"] == "embedding":
            # Azure OpenAI serves OpenAI's embedding models; the size is the model's.
            same = models.get(f"openai/{name}", {})
            if "output_vector_size" in same:
                entry.setdefault("output_vector_size", same["output_vector_size"])

    explicit_aliases: dict[str, str] = {}
    aliases_ci: dict[str, str] = {}
    overrides = _overrides()
    for canonical, spec in overrides.items():
        spec = dict(spec)
        like = spec.pop("like", None)
        for alias in spec.pop("aliases", []):
            explicit_aliases[alias] = canonical
        for alias in spec.pop("aliases_ci", []):
            aliases_ci[alias.lower()] = canonical
        entry = models.setdefault(canonical, {})
        if like is not None:
            # ``like`` copies the facts of another (already built) model; own fields win.
            if like not in models:
                raise SystemExit(f"override {canonical!r}: 'like' target {like!r} is missing")
            entry.update(models[like])
        entry.update(spec)
        if "mode" not in entry:
            raise SystemExit(f"override {canonical!r} has no mode")

    for canonical, entry in models.items():
        provider, name = canonical.split("/", 1)
        _gemini_fields(provider, name, entry)

    # Aliases: explicit ones, then bare keys of the map (LiteLLM routes those by their
    # provider), then family rules (OpenAI and Anthropic names, Vertex AI naming).
    aliases: dict[str, str] = {}

    def claim(name: str, candidates: dict[str, str]) -> None:
        if name in aliases or name in models:
            return
        for provider in ALIAS_PRIORITY:
            if provider in candidates:
                aliases[name] = candidates[provider]
                return
        aliases[name] = candidates[sorted(candidates)[0]]

    for name, canonical in explicit_aliases.items():
        aliases[name] = canonical
    for name, candidates in sorted(bare_claims.items()):
        claim(name, candidates)
    rule_claims: dict[str, dict[str, str]] = {}
    for canonical in sorted(models):
        provider, name = canonical.split("/", 1)
        if name.lower() in aliases_ci and aliases_ci[name.lower()] == canonical:
            continue
        if (provider in ("openai", "anthropic") and "/" not in name) or (
            provider == "vertex_ai" and _vertex_bare_alias(name)
        ):
            rule_claims.setdefault(name, {}).setdefault(provider, canonical)
    for name, candidates in sorted(rule_claims.items()):
        claim(name, candidates)

    for canonical in REQUIRED:
        if canonical not in models:
            raise SystemExit(f"required model {canonical!r} is missing from the build")

    return {
        "format": 1,
        "source": SOURCE_NOTE,
        "models": {k: _encode(models[k]) for k in sorted(models)},
        "aliases": dict(sorted(aliases.items())),
        "aliases_ci": dict(sorted(aliases_ci.items())),
    }


def _encode(entry: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if entry["mode"] != "chat":
        out["m"] = entry["mode"]
    for field, short in (
        ("max_input_tokens", "in"),
        ("max_output_tokens", "out"),
        ("output_vector_size", "dim"),
    ):
        if field in entry:
            out[short] = entry[field]
    yes = [f for f in FLAGS if entry.get(f"supports_{f}") is True]
    no = [f for f in FLAGS if entry.get(f"supports_{f}") is False]
    if yes:
        out["yes"] = yes
    if no:
        out["no"] = no
    if "thinking" in entry:
        out["thinking"] = entry["thinking"]
    if entry.get("response_json_schema") is not None:
        out["rjs"] = entry["response_json_schema"]
    return out


def dumps(data: dict[str, Any]) -> str:
    """Compact JSON, one model / alias per line so that diffs stay readable."""

    def compact(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def table(mapping: dict[str, Any]) -> str:
        if not mapping:
            return "{}"
        return "{\n" + ",\n".join(f"{compact(k)}:{compact(v)}" for k, v in mapping.items()) + "\n}"

    return (
        "{"
        + f'"format":{data["format"]},\n"source":{compact(data["source"])},\n'
        + f'"models":{table(data["models"])},\n'
        + f'"aliases":{table(data["aliases"])},\n'
        + f'"aliases_ci":{table(data["aliases_ci"])}'
        + "}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="fail if --out is out of date")
    args = parser.parse_args(argv)

    source = json.loads(args.source.read_text(encoding="utf-8"))
    text = dumps(build(source))
    json.loads(text)  # the writer above must produce valid JSON
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; run python tools/build_registry.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    data = json.loads(text)
    print(
        f"wrote {args.out} ({len(text.encode()):,} bytes): {len(data['models'])} models,"
        f" {len(data['aliases'])} aliases, {len(data['aliases_ci'])} case-insensitive aliases"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
