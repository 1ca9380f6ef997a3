"""A local provider emulator: real HTTP/1.1 on loopback, real wire formats, deterministic.

Use it for offline demos and end-to-end tests, or to test your own chains::

    from polymodal.testing import emulator

    with emulator() as emu:
        client = openai.OpenAI(base_url=emu.openai_base, api_key="test")
        emu.queue_error(429, "slow down", headers={"retry-after": "2"})
        ...
        assert emu.requests[-1].json["model"] == "gpt-4o"

Only ``import polymodal.testing`` loads it; ``import polymodal`` does not.
"""

from __future__ import annotations

from .base import Context, RecordedRequest, WireFormat
from .emulator import Emulator, default_formats, emulator
from .replies import (
    DelayReply,
    DropReply,
    ErrorReply,
    Event,
    JsonReply,
    RawReply,
    Reply,
    StreamReply,
)
from .synth import synthesize

__all__ = [
    "Context",
    "DelayReply",
    "DropReply",
    "Emulator",
    "ErrorReply",
    "Event",
    "JsonReply",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "StreamReply",
    "WireFormat",
    "default_formats",
    "emulator",
    "synthesize",
]
