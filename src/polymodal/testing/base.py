"""What every wire-format module of the emulator builds on.

A wire format (``testing/openai.py`` today; Vertex, Anthropic, Bedrock, embeddings, images and
speech later) is an object satisfying :class:`WireFormat`: it claims the requests whose paths it
owns, checks their credentials its own way, wraps error messages in its own envelope and produces
the deterministic default answer. The emulator core never looks inside a body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .replies import Sendable

__all__ = ["Context", "Endpoint", "RecordedRequest", "WireFormat"]


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the emulator received it.

    ``path`` is the raw path (no query string); ``query`` maps each parameter to its last value;
    ``headers`` has lower-cased names; ``connection`` numbers the TCP connection it came on.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    connection: int = 0

    @property
    def json(self) -> Any:
        """The body parsed as JSON (``None`` for an empty body); raises on malformed JSON."""
        return json.loads(self.body) if self.body else None


class Context:
    """Per-emulator state a wire format may use: deterministic counters and the clock."""

    def __init__(self, created: int | None = 1700000000) -> None:
        self.fixed_created = created
        self._counters: dict[str, int] = {}

    def next(self, kind: str) -> int:
        """1, 2, 3, ... per ``kind`` (e.g. ``"chatcmpl"``), until :meth:`reset`."""
        n = self._counters.get(kind, 0) + 1
        self._counters[kind] = n
        return n

    @property
    def created(self) -> int:
        return int(time.time()) if self.fixed_created is None else self.fixed_created

    def reset(self) -> None:
        self._counters = {}


Endpoint = Callable[[RecordedRequest, Context], Sendable]
"""The default (unscripted) answer of one endpoint."""


class WireFormat(Protocol):
    """One provider wire format served by the emulator."""

    name: str

    def match(self, request: RecordedRequest) -> Endpoint | None:
        """The endpoint for a request this format owns, else None.

        A format may return an endpoint that answers with its own 404/405 for paths under its
        prefix that it does not implement.
        """
        ...

    def authorize(self, request: RecordedRequest, api_key: str) -> Sendable | None:
        """None if the request carries ``api_key`` the way this format expects, else the error."""
        ...

    def error_body(self, request: RecordedRequest, status: int, message: str) -> Any:
        """``message`` wrapped in this format's error envelope."""
        ...

    def not_found(self, request: RecordedRequest) -> Sendable:
        """The answer for a path no format owns (used from the fallback format)."""
        ...
