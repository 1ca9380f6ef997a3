"""langchain-tests' standard unit suite for ChatPolymodal (no network: nothing is called)."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_polymodal import ChatPolymodal


class TestChatPolymodalUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatPolymodal]:
        return ChatPolymodal

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "openai/gpt-4o", "api_key": "test-key"}

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        # Credentials and the endpoint are read from the environment at call time, for the
        # provider the (possibly per-call) model routes to -- never copied onto the instance at
        # construction, so a per-call `model="azure/..."` can't receive OPENAI_API_KEY. What this
        # asserts is that construction with only the environment set works and leaves both unset;
        # tests/e2e/test_chat_langchain.py::test_api_key_from_environment shows the env key
        # reaching the provider.
        return (
            {"OPENAI_API_KEY": "env-key", "OPENAI_API_BASE": "https://openai.example/v1"},
            {"model": "openai/gpt-4o"},
            {"model": "openai/gpt-4o", "api_key": None, "api_base": None},
        )
