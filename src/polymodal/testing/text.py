"""Wire-format-neutral text helpers: the deterministic reply wording and the token estimate.

Tokens are estimated as runs of word characters plus single punctuation marks, so the count is
stable, easy to predict in a test, and the same whether an answer is streamed or not.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping

__all__ = [
    "count_tokens",
    "media_note",
    "reply_to",
    "shorten",
    "split_tokens",
    "split_words",
    "tool_result_reply",
    "truncate_tokens",
]

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\s*\S+|\s+$")
_QUOTE_LIMIT = 80
_TOOL_LIMIT = 200


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def truncate_tokens(text: str, limit: int) -> tuple[str, bool]:
    """The first ``limit`` tokens of ``text`` and whether anything was cut."""
    for i, match in enumerate(_TOKEN.finditer(text)):
        if i == limit:
            return text[: match.start()].rstrip(), True
    return text, False


def split_words(text: str) -> list[str]:
    """Stream pieces, one word each with its leading whitespace; they join back to ``text``."""
    return _WORD.findall(text) or [text]


def split_tokens(text: str, per_piece: int = 3) -> list[str]:
    """Pieces of about ``per_piece`` tokens (tool-call arguments); they join back to ``text``."""
    starts = [m.start() for m in _TOKEN.finditer(text)][::per_piece]
    if not starts:
        return [text]
    starts[0] = 0
    bounds = [*starts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def media_note(counts: Mapping[str, int]) -> str:
    """`` (received 2 image(s), 1 file(s))`` for the non-zero counts, else ``""``."""
    parts = [f"{n} {kind}(s)" for kind, n in counts.items() if n]
    return f" (received {', '.join(parts)})" if parts else ""


def reply_to(user_text: str, counts: Mapping[str, int]) -> str:
    """The default answer: it shows what arrived, so a demo proves the request got through."""
    return f'Emulator reply to: "{shorten(user_text, _QUOTE_LIMIT)}"{media_note(counts)}'


def tool_result_reply(results: list[str]) -> str:
    return "The tool returned: " + "; ".join(shorten(r, _TOOL_LIMIT) for r in results)
