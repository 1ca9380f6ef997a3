"""Shared pieces of the benchmark: payloads, CPU pinning, process CPU accounting, statistics.

Everything here is stdlib only so the server subprocess and the import probes stay light.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import statistics
import struct
from collections.abc import Sequence
from typing import Any

MODEL = "openai/gpt-4o"
API_KEY = "sk-bench-local"
HOST = "127.0.0.1"  # the only address the benchmark ever talks to
STREAM_CHUNKS = 2000

MESSAGES: list[dict[str, Any]] = [
    {"role": "user", "content": "Say hello in one short sentence."},
]
# What the floor clients POST: the body polymodal itself sends for the call above.
REQUEST_BODY: dict[str, Any] = {"model": "gpt-4o", "messages": MESSAGES}

CHAT_RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-bench0001",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-2024-08-06",
    "system_fingerprint": "fp_bench",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! It is nice to meet you; how can I help today?",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 14,
        "completion_tokens": 15,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
}

_WORDS = ("the quick", " brown fox", " jumps over", " a lazy", " dog and", " runs away")


def stream_events(n: int = STREAM_CHUNKS) -> list[dict[str, Any]]:
    """``n`` OpenAI ``chat.completion.chunk`` events of a few words each (the first carries the
    role, the last the finish reason), then the usage-only chunk that ``include_usage`` asks for.
    ``data: [DONE]`` is appended by the server."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-bench0002",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-2024-08-06",
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": _WORDS[i % len(_WORDS)]}) for i in range(n - 2)]
    events.append(chunk({}, "stop"))
    usage = chunk({})
    usage["choices"] = []
    usage["usage"] = {"prompt_tokens": 14, "completion_tokens": n, "total_tokens": n + 14}
    events.append(usage)
    return events


# --------------------------------------------------------------------------- embeddings

EMBED_MODEL = "openai/text-embedding-3-small"
EMBED_TEXTS = 2000
EMBED_DIMS = 1536
_EMBED_POOL = 1 << 14  # distinct float32 values the vectors are cut from


def embed_texts(n: int = EMBED_TEXTS) -> list[str]:
    """``n`` short passages; text ``i`` starts with ``passage {i}:`` so the server can answer a
    batch that starts mid-list (``PolymodalEmbeddings`` sends 1,000 per request) with the
    vectors of those very inputs."""
    return [
        f"passage {i}: the quick brown fox jumps over the lazy dog, variant {i * 37 % 1009}"
        for i in range(n)
    ]


def embed_index(text: str) -> int:
    """The position ``embed_texts`` gave ``text`` (0 for anything else)."""
    head = text.split(":", 1)[0]
    number = head.removeprefix("passage ")
    return int(number) if number != head and number.isdigit() else 0


def embed_body(encoding_format: str, texts: list[str] | None = None) -> dict[str, Any]:
    """The ``/embeddings`` body polymodal sends for ``texts`` (``"base64"`` unless told)."""
    return {
        "model": EMBED_MODEL.split("/", 1)[1],
        "input": embed_texts() if texts is None else texts,
        "encoding_format": encoding_format,
    }


class EmbedPool:
    """Deterministic float32 values, plus each one's shortest decimal text (what OpenAI's
    float JSON carries: ~10 significant digits, not the 17 of a double's ``repr``). Vector ``i``
    is the slice of ``EMBED_DIMS`` values at ``offset(i)``, so both encodings carry the very
    same float32 numbers."""

    def __init__(self, dims: int = EMBED_DIMS) -> None:
        rng = random.Random(20241124)
        self.dims = dims
        count = _EMBED_POOL + dims
        packed = struct.pack(f"<{count}f", *(rng.gauss(0.0, 0.025) for _ in range(count)))
        self.values: list[float] = list(struct.unpack(f"<{count}f", packed))
        self.packed = packed
        self.texts = [_short_float32(v) for v in self.values]

    @staticmethod
    def offset(i: int) -> int:
        return (i * 7919) % _EMBED_POOL

    def vector(self, i: int) -> list[float]:
        at = self.offset(i)
        return self.values[at : at + self.dims]

    def base64(self, i: int) -> str:
        at = self.offset(i) * 4
        return base64.b64encode(self.packed[at : at + self.dims * 4]).decode()

    def floats_json(self, i: int) -> str:
        at = self.offset(i)
        return "[" + ",".join(self.texts[at : at + self.dims]) + "]"

    def response(self, encoding_format: str, start: int, n: int) -> bytes:
        """An OpenAI ``CreateEmbeddingResponse`` for inputs ``start .. start + n - 1``."""
        if encoding_format == "base64":
            vectors = [f'"{self.base64(start + k)}"' for k in range(n)]
        else:
            vectors = [self.floats_json(start + k) for k in range(n)]
        items = ",".join(
            f'{{"object":"embedding","index":{k},"embedding":{v}}}' for k, v in enumerate(vectors)
        )
        usage = json.dumps({"prompt_tokens": 9 * n, "total_tokens": 9 * n}, separators=(",", ":"))
        return (
            f'{{"object":"list","data":[{items}],"model":"text-embedding-3-small","usage":{usage}}}'
        ).encode()


def _short_float32(value: float) -> str:
    """The shortest decimal that reads back as the same float32."""
    for digits in range(6, 10):
        text = f"{value:.{digits}g}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == value:
            return text
    return repr(value)


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# --------------------------------------------------------------------------- CPUs


def cpu_plan() -> tuple[set[int] | None, set[int] | None]:
    """(client CPUs, server CPUs): two disjoint sets when at least two CPUs are usable."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None, None
    if len(cpus) < 2:
        return None, None
    half = len(cpus) // 2
    return set(cpus[:half]), set(cpus[half:])


def pin(cpus: set[int] | None) -> None:
    if cpus:
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setaffinity(0, cpus)


def raise_priority(step: int = 10) -> int | None:
    """Lower this process's nice value by ``step`` (subprocesses inherit it), so other work on
    a shared machine disturbs the measurement less; the new nice value, or None if not allowed."""
    try:
        return os.nice(-step)
    except (AttributeError, OSError):
        return None


def cpus_arg(cpus: set[int] | None) -> str:
    return ",".join(str(c) for c in sorted(cpus)) if cpus else ""


def parse_cpus(text: str) -> set[int] | None:
    return {int(c) for c in text.split(",") if c} or None


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of every thread of ``pid`` (from /proc; 0.0 if unavailable)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    # After "pid (comm)": state is field 3, utime 14, stime 15 (1-based in proc(5)).
    return (int(fields[11]) + int(fields[12])) / _TICKS


# --------------------------------------------------------------------------- statistics


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> float:
    """Relative half-range (max - min) / (2 * median): a crude noise figure for a cell."""
    if len(values) < 2:
        return 0.0
    mid = statistics.median(values)
    return (max(values) - min(values)) / (2 * mid) if mid else 0.0
