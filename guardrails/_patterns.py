"""Compiling user-written patterns so that attacker-controlled values cannot make them hang.

RE2 (linear time, ASCII ``\\d``/``\\w``) is used when the pattern is within its syntax; otherwise
the ``regex`` package with ASCII classes and a per-match timeout. A match that times out counts
as *no match* (fail closed).
"""

from __future__ import annotations

import functools
import re
from typing import Protocol

import regex

try:  # google-re2
    import re2 as _re2
except ImportError:  # pragma: no cover - re2 is a core dependency, kept optional for odd platforms
    _re2 = None

__all__ = ["MATCH_TIMEOUT", "FullMatcher", "compile_full"]

MATCH_TIMEOUT = 0.05  # seconds, for the regex fallback only

# RE2 folds case with Unicode simple folding, so (?i)k also matches U+212A KELVIN SIGN and (?i)s
# U+017F LONG S: letters that a user who wrote [a-z] did not mean, and that a tool may later fold
# to ASCII. Under a case-insensitive flag such values never match.
_CASE_FLAG = re.compile(r"\(\?[A-Za-z-]*i")
_FOLD_TO_ASCII = ("\u212a", "\u017f")


class FullMatcher(Protocol):
    pattern: str
    engine: str

    def fullmatch(self, value: str) -> bool: ...


class _Re2Matcher:
    engine = "re2"

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        opts = _re2.Options()
        opts.max_mem = 8 << 20
        opts.log_errors = False  # a pattern RE2 cannot compile falls back quietly
        compiled = _re2.compile(pattern, opts)
        self._fold = _CASE_FLAG.search(pattern) is not None
        # The wrapper's fullmatch maps every offset back to str positions (~10 µs); a yes/no
        # answer only needs the C++ matcher, anchored at both ends (~1 µs).
        self._raw = compiled._regexp
        self._both = _re2._Anchor.ANCHOR_BOTH
        self._null = _re2._NULL_SPAN

    def fullmatch(self, value: str) -> bool:
        try:
            b = value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: not text, never a match
            return False
        if self._fold and not value.isascii() and any(c in value for c in _FOLD_TO_ASCII):
            return False
        return bool(self._raw.Match(self._both, b, 0, len(b))[0] != self._null)


class _RegexMatcher:
    engine = "regex"

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._rx = regex.compile(pattern, regex.ASCII | regex.V0)

    def fullmatch(self, value: str) -> bool:
        try:
            return self._rx.fullmatch(value, timeout=MATCH_TIMEOUT) is not None
        except TimeoutError:
            return False


@functools.lru_cache(maxsize=4096)
def compile_full(pattern: str) -> FullMatcher:
    """Compile ``pattern`` to match whole values. Raises ValueError naming the problem."""
    if len(pattern) > 4096:
        raise ValueError("pattern longer than 4096 characters")
    if _re2 is not None:
        try:
            return _Re2Matcher(pattern)
        except Exception:  # noqa: BLE001,S110 - re2 rejects look-around etc.: try the fallback
            pass
    try:
        return _RegexMatcher(pattern)
    except regex.error as exc:
        raise ValueError(f"invalid pattern {pattern!r}: {exc}") from None
