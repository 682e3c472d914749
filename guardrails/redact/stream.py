"""Streaming redaction: a look-back buffer so PII split across chunks is still caught.

``feed(chunk)`` returns the text that is safe to emit now (already redacted); the last
``lookback`` characters stay buffered, and so does any detection or unbroken token (no
whitespace) that reaches into them, because it may continue in the next chunk. The delay is
bounded: once more than ``max_buffer`` characters are pending, everything up to the last
``lookback`` characters is emitted (redacted) even inside a long token. ``flush()`` emits
the rest at the end of the stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from .redactor import RedactedItem, Redactor

__all__ = ["StreamRedactor"]


class StreamRedactor:
    def __init__(self, redactor: Redactor, *, scope: str = "default", lookback: int = 128,
                 max_buffer: int = 8192) -> None:
        if lookback < 1 or max_buffer <= lookback:
            raise ValueError("need 0 < lookback < max_buffer")
        self.redactor = redactor
        self.scope = scope
        self.lookback = lookback
        self.max_buffer = max_buffer
        self._buf = ""
        self._offset = 0  # characters of the stream already emitted
        self.items: list[RedactedItem] = []
        self._closed = False

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, chunk: str) -> str:
        if self._closed:
            raise InputError("stream already flushed")
        if not isinstance(chunk, str):
            raise InputError("chunks must be str")
        self._buf += chunk
        if len(self._buf) <= self.lookback:
            return ""
        return self._emit(final=False)

    def flush(self) -> str:
        self._closed = True
        return self._emit(final=True)

    def _emit(self, *, final: bool) -> str:
        buf = self._buf
        found = self.redactor.analyze(buf)
        if final:
            cut = len(buf)
        else:
            cut = len(buf) - self.lookback
            # do not cut inside an unbroken token: it may be the start of a value
            ws = max(buf.rfind(" ", 0, cut + 1), buf.rfind("\n", 0, cut + 1), buf.rfind("\t", 0, cut + 1))
            if ws >= 0:
                cut = ws
            elif len(buf) <= self.max_buffer:
                cut = 0
            # never cut through a detection
            for d in found:
                if d.start < cut < d.end:
                    cut = d.start if len(buf) <= self.max_buffer else d.end
            if cut <= 0:
                return ""
        parts: list[str] = []
        pos = 0
        from .redactor import RedactedItem

        for d in found:
            if d.end > cut:
                break
            rep = self.redactor.operator.apply(d.entity, buf[d.start:d.end], self.scope)
            parts.append(buf[pos:d.start])
            parts.append(rep)
            self.items.append(RedactedItem(d.entity, self._offset + d.start, self._offset + d.end,
                                           d.score, d.subtype, rep, d.recognizer))
            pos = d.end
        parts.append(buf[pos:cut])
        self._buf = buf[cut:]
        self._offset += cut
        return "".join(parts)
