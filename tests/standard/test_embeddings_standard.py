"""langchain-tests' standard suites for PolymodalEmbeddings.

The unit suite constructs the class (nothing is sent). The integration suite runs offline
against polymodal's emulator (real HTTP on loopback), twice: OpenAI's ``/embeddings`` and Vertex
AI's ``:predict``; the emulator answers with deterministic unit vectors of the requested size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from langchain_polymodal import PolymodalEmbeddings
from polymodal.testing import Emulator


class TestPolymodalEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[PolymodalEmbeddings]:
        return PolymodalEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "openai/text-embedding-3-small", "api_key": "test-key"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        # As for ChatPolymodal: the key and endpoint are read from the environment at call time,
        # for the provider the model routes to, never copied onto the instance. This asserts that
        # construction with only the environment set works and leaves both unset;
        # tests/unit/test_lc_media.py shows the environment's key reaching the provider.
        return (
            {"OPENAI_API_KEY": "env-key", "OPENAI_API_BASE": "https://openai.example/v1"},
            {"model": "openai/text-embedding-3-small"},
            {"model": "openai/text-embedding-3-small", "api_key": None, "api_base": None},
        )


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(api_key="emulator-key") as emu:
        yield emu


class TestPolymodalEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @pytest.fixture(autouse=True)
    def _endpoint(self, emulator: Emulator) -> None:
        self._base = emulator.openai_base

    @property
    def embeddings_class(self) -> type[PolymodalEmbeddings]:
        return PolymodalEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {
            "model": "openai/text-embedding-3-small",
            "api_key": "emulator-key",
            "api_base": self._base,
            "dimensions": 256,
        }


class TestPolymodalEmbeddingsVertexIntegration(EmbeddingsIntegrationTests):
    """The same suite on Vertex AI's ``:predict`` (OAuth2 through the emulator's token
    endpoint, with a service account it made); documents and queries get their task types."""

    @pytest.fixture(autouse=True)
    def _endpoint(self, emulator: Emulator) -> None:
        from polymodal.testing.google_oauth import service_account_json

        self._vertex = {
            "vertex_credentials": service_account_json(emulator.url),
            "vertex_project": "emulator-project",
            "vertex_location": "us-central1",
            "api_base": emulator.url,
        }

    @property
    def embeddings_class(self) -> type[PolymodalEmbeddings]:
        return PolymodalEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "vertex_ai/text-embedding-004", **self._vertex}
