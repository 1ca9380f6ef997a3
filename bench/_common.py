"""Shared pieces of the benchmark: payloads, CPU pinning, process CPU accounting, statistics.

Everything here is stdlib only so the server subprocess and the import probes stay light.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
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
