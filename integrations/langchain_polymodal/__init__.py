"""LangChain classes over polymodal: ``from langchain_polymodal import ChatPolymodal``.

Names load on first use, so ``import langchain_polymodal`` costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_polymodal.chat_models import ChatPolymodal
    from langchain_polymodal.embeddings import PolymodalEmbeddings
    from langchain_polymodal.images import PolymodalImageGenerator
    from langchain_polymodal.speech import PolymodalSpeech

__all__ = ["ChatPolymodal", "PolymodalEmbeddings", "PolymodalImageGenerator", "PolymodalSpeech"]

# public name -> module under langchain_polymodal that defines it
_LAZY: dict[str, str] = {
    "ChatPolymodal": "chat_models",
    "PolymodalEmbeddings": "embeddings",
    "PolymodalImageGenerator": "images",
    "PolymodalSpeech": "speech",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
