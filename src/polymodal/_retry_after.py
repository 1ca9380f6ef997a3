"""How long a provider asked us to wait: ``Retry-After``, ``retry-after-ms`` or Google RetryInfo."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any


def _google_retry_delay(body: Any) -> float | None:
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, dict):
        return None
    err = body.get("error")
    details = err.get("details") if isinstance(err, dict) else None
    if not isinstance(details, list):
        return None
    for d in details:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = d.get("retryDelay")
            if isinstance(delay, str) and delay.endswith("s"):
                try:
                    return max(0.0, float(delay[:-1]))
                except ValueError:
                    return None
    return None


def retry_after_seconds(
    headers: Mapping[str, str], body: Any = None, now: float | None = None
) -> float | None:
    """Seconds to wait before retrying, or None when the provider gave no hint."""
    lower = {k.lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))
    return _google_retry_delay(body)
