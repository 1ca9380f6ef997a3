"""Server-sent events framing over raw bytes (the WHATWG ``text/event-stream`` format).

:class:`SSEDecoder` is fed the body's byte chunks as they arrive, split anywhere, and returns
the events each chunk completes, as ``(event name, data)``:

- lines end in ``\\n``, ``\\r\\n`` or ``\\r`` (a ``\\r\\n`` split across two chunks is one line end);
- ``data:`` lines are joined with ``\\n``; ``event:`` names the event (``"message"`` when unnamed);
  ``id:``, ``retry:`` and unknown fields are read and ignored (no reconnection here); a line
  starting with ``:`` is a comment; one space after the colon is stripped; a line without a
  colon is a field with an empty value;
- an event is dispatched on a blank line, when it has data lines or a name; an event the stream
  ends without a blank line after is incomplete and dropped (the spec's rule; providers end every
  event with one: OpenAI and Anthropic with ``\\n\\n``, Google with ``\\r\\n\\r\\n``);
- a UTF-8 byte-order mark at the very start is skipped; text is UTF-8, undecodable bytes become
  U+FFFD.

``data: [DONE]`` and which events matter are the caller's business.
"""

from __future__ import annotations

__all__ = ["SSEDecoder"]

_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    __slots__ = ("_buf", "_data", "_event", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._buf = b""  # the start of a line whose end has not arrived yet
        self._data: list[bytes] = []
        self._event: bytes | None = None
        self._skip_lf = False  # the last chunk ended in "\r": a "\n" opening the next is its pair
        self._started = False  # past a possible byte-order mark

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        """The events completed by ``chunk``."""
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            if chunk[-1:] == b"\r":
                self._skip_lf = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < 3 and _BOM.startswith(buf):
                self._buf = buf  # maybe the start of a byte-order mark: wait for more
                return []
            self._started = True
            if buf[:3] == _BOM:
                buf = buf[3:]
        # The common case, one whole ``data:`` event per chunk: no line loop.
        if (
            buf[-2:] == b"\n\n"
            and buf[:6] == b"data: "
            and buf.count(b"\n") == 2
            and not self._data
            and self._event is None
        ):
            self._buf = b""
            return [("message", buf[6:-2].decode("utf-8", "replace"))]
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        out: list[tuple[str, str]] = []
        data = self._data
        for line in lines:
            if not line:  # a blank line dispatches
                if data or self._event is not None:
                    name = self._event
                    out.append(
                        (
                            name.decode("utf-8", "replace") if name else "message",
                            b"\n".join(data).decode("utf-8", "replace"),
                        )
                    )
                    data = self._data = []
                    self._event = None
            elif line[:5] == b"data:":
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line[:1] != b":":  # not a comment
                field, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if field == b"event":
                    self._event = value
                elif field == b"data":  # "data" without a colon: an empty data line
                    data.append(value)
                # "id", "retry" and unknown fields: nothing to do here.
        return out
