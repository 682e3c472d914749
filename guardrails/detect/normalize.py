"""Normalization and de-obfuscation for the injection detector, with offsets back to the original.

``normalize(text)`` returns a :class:`Normalized`: a lower-case, NFKC, invisible-free,
confusable-folded, mark-stripped ASCII-leaning string whose every character maps back to one
character of the original text. Pure-ASCII input (the common case) takes a fast path with an
identity map. Other *views* of the normalized text (leetspeak folded, ROT13, reversed lines) have
the same coordinates or an exact mapping, and *payloads* (base64, hex, binary, URL-encoded runs,
Unicode tag characters, spaced-out letters) are decoded to new texts that are screened again, each
pointing at the span of the encoded run in the original.

Everything here is linear in the input, with bounds on the number and size of decoded payloads.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import itertools
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .._text import CONFUSABLE_CHARS, INVISIBLE_RE, fold_confusables

__all__ = [
    "LEET_TABLE",
    "MAX_PAYLOADS",
    "MAX_PAYLOAD_CHARS",
    "Normalized",
    "Payload",
    "find_payloads",
    "leet_view",
    "normalize",
    "reversed_lines",
    "rot13_view",
]

MAX_PAYLOADS = 16  # decoded payloads per text (per nesting level)
MAX_PAYLOAD_CHARS = 16_384  # characters decoded from one run
MIN_B64 = 16

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_TAG_RUN = re.compile("[\U000e0000-\U000e007f]+")
_ASCII_BYTES = bytes(range(128))
_TAG_TABLE = {0xE0000 + i: (chr(i) if 0x20 <= i < 0x7F else None) for i in range(0x80)}


_CONF_CHARS = CONFUSABLE_CHARS


@functools.lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    """One original character -> its normalized form ('' if invisible)."""
    if INVISIBLE_RE.match(ch):
        return ""
    if ch.isalpha() and ch not in _CONF_CHARS and not unicodedata.decomposition(ch) and \
            ch.casefold() == ch and not ch.isascii():
        return "\x1a"  # a letter of another script with no ASCII look-alike (fast path)
    s = unicodedata.normalize("NFKC", ch)
    s = fold_confusables(s)
    if not s.isascii():
        d = unicodedata.normalize("NFKD", s)
        s = "".join(c for c in d if not unicodedata.combining(c))
    s = s.casefold()
    if not s.isascii():
        # residual non-ASCII letters keep one placeholder per character so that byte offsets
        # equal character offsets in the matching engines; ASCII patterns never match them.
        s = "".join(c if c.isascii() else ("\x1a" if not c.isspace() else " ") for c in s)
    return s


@functools.lru_cache(maxsize=1024)
def _special_runs(chars: str) -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]+")


class Piecewise:
    """A piecewise map from normalized to original positions: segment k starts at normalized
    index ``nstart[k]`` and original index ``ostart[k]``; inside it positions advance together,
    unless the segment is constant (one original character expanded to several)."""

    __slots__ = ("const", "length", "nstart", "ostart")

    def __init__(self, length: int) -> None:
        self.length = length
        self.nstart: list[int] = []
        self.ostart: list[int] = []
        self.const: list[bool] = []

    def add(self, n: int, o: int, const: bool) -> None:
        self.nstart.append(n)
        self.ostart.append(o)
        self.const.append(const)

    def __call__(self, i: int) -> int:
        k = bisect.bisect_right(self.nstart, i) - 1
        if k < 0:
            return 0
        o = self.ostart[k] if self.const[k] else self.ostart[k] + (i - self.nstart[k])
        return min(o, max(self.length - 1, 0))


class Normalized:
    """Normalized text plus the map back to the original.

    Two steps are mapped: per-character folding (``offs[i]`` = original index of the folded
    character ``i``; None for ASCII input, where folding keeps positions) and whitespace
    collapsing, whose map is rebuilt only when a span is asked for (the common no-finding case
    never pays for it)."""

    __slots__ = (
        "_pre",
        "_runs",
        "confusable",
        "invisible",
        "offs",
        "original_length",
        "tag_span",
        "tag_text",
        "text",
    )

    def __init__(self, text: str, original_length: int, offs: Piecewise | None = None,
                 invisible: int = 0, confusable: int = 0, tag_text: str = "",
                 tag_span: tuple[int, int] | None = None, pre: str | None = None) -> None:
        self.text = text
        self.original_length = original_length
        self.offs = offs
        self.invisible = invisible
        self.confusable = confusable
        self.tag_text = tag_text
        self.tag_span = tag_span
        self._pre = pre  # text before collapsing (None: nothing was collapsed)
        self._runs: tuple[list[int], list[int], list[int]] | None = None

    def _collapse_map(self) -> tuple[list[int], list[int], list[int]]:
        if self._runs is None:
            assert self._pre is not None
            # each run of 2+ spaces/newlines became one character: its index before collapsing,
            # the characters removed up to and including it, and its index after collapsing.
            # Newlines are turned into spaces first so that the runs are found by a pattern with a
            # two-character literal prefix (a fast literal search instead of a character-class
            # test at every position: ~2.5x faster, same spans as [ \n]{2,})
            spans = [m.span() for m in _WS_RUN_SPACES.finditer(self._pre.replace("\n", " "))]
            pre_starts = [a for a, _b in spans]
            removed = list(itertools.accumulate([b - a - 1 for a, b in spans]))
            starts = [a - r + (b - a - 1) for (a, b), r in zip(spans, removed, strict=True)]
            self._runs = (starts, pre_starts, removed)
        return self._runs

    def _pre_index(self, i: int) -> int:
        if self._pre is None:
            return i
        starts, pre_starts, removed = self._collapse_map()
        k = bisect.bisect_right(starts, i) - 1
        if k < 0:
            return i
        if i == starts[k]:
            return pre_starts[k]
        return i + removed[k]

    def _orig_index(self, i: int) -> int:
        j = self._pre_index(i)
        if self.offs is None:
            return min(j, self.original_length)
        return self.offs(j)

    def to_orig(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of ``text`` to the original text."""
        if self._pre is None and self.offs is None:
            return (start, end)
        if end <= start:
            a = self._orig_index(start)
            return (a, a)
        a = self._orig_index(start)
        b = self._orig_index(end - 1) + 1
        return (a, max(a, b))


_ESCAPES = re.compile(r"\\[nrt]")
_TABS = str.maketrans({"\t": " ", "\r": " "})
_SP_RUN = re.compile(r"   *")  # runs of 2+ spaces; a two-space literal prefix is searched fast
_NL_TAIL = re.compile(r"\n[ \n]+")
_WS_RUN_SPACES = re.compile(r"   *")  # [ \n]{2,} once newlines are spaces


def _prepare(text: str) -> tuple[str, str | None]:
    """Literal escape sequences (``\\n`` in JSON/YAML dumps), backslashes, tabs and carriage
    returns become spaces; then each run of spaces and newlines becomes one space (one newline if
    it had one). Returns (collapsed text, text before collapsing or None if nothing collapsed).
    Every step is a C-level replace or a regex with a literal prefix, guarded by ``in`` checks."""
    if "\\" in text:
        text = _ESCAPES.sub("  ", text).replace("\\", " ")
    if "\t" in text or "\r" in text:
        text = text.translate(_TABS)
    out = text
    if "  " in out:
        out = _SP_RUN.sub(" ", out)
    if "\n" in out:
        if " \n" in out:
            out = out.replace(" \n", "\n")
        if "\n\n" in out or "\n " in out:
            out = _NL_TAIL.sub("\n", out)
    return out, (None if len(out) == len(text) else text)


def _tr(text: str, table: dict[int, str]) -> str:
    """``text.translate(table)`` for a table of non-ASCII keys (str.translate with a dict is
    slow on long, mostly-ASCII text): one C-level ``str.replace`` per character when there are
    few distinct characters (the common case: curly quotes, dashes, a few accents), else only
    the non-ASCII runs are translated."""
    if len(table) <= _FEW_CHARS:
        for k, v in table.items():
            text = text.replace(chr(k), v)
        return text
    return _NON_ASCII_RUN.sub(lambda m: m.group().translate(table), text)


_FEW_CHARS = 12


# An underscore that glues a word to a capitalized prose word ("External_Ignore your ...") is a
# separator, not part of an identifier: it would hide the word boundary rules rely on. Replaced
# one-for-one by a space, so offsets into the original text do not move. snake_case identifiers
# and template tokens (lower case after the underscore) are left alone.
# (the underscore comes first in the pattern, so that the regex engine searches for it as a literal
# instead of trying the look-behind at every position: ~15x faster on long texts, same matches)
_GLUED = re.compile(r"_(?<=[A-Za-z0-9]_)(?=[A-Z][a-z]+[ ,.:;!?])")


def normalize(text: str) -> Normalized:
    if "_" in text:
        text = _GLUED.sub(" ", text)
    if text.isascii():
        t, pre = _prepare(text.lower())
        return Normalized(t, len(text), None, pre=pre)
    table: dict[int, str] = {}
    special: list[str] = []
    confusable = 0
    # the distinct non-ASCII characters: deleting the ASCII bytes of the UTF-8 encoding is ~5x
    # faster than set(text) on mostly-ASCII text (surrogatepass: lone surrogates survive)
    for c in set(text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
                 .decode("utf-8", "surrogatepass")):
        f = _fold_char(c)
        table[ord(c)] = f
        if len(f) != 1:
            special.append(c)
        elif f.isalpha() and c in _CONF_CHARS:
            confusable += 1  # distinct look-alike letters
    invisible = 0
    if not special:
        folded = _tr(text, table).lower()
        pm: Piecewise | None = None
    else:
        pm = Piecewise(len(text))
        rx = _special_runs("".join(sorted(special)))
        pieces: list[str] = []
        pos = npos = 0
        for m in rx.finditer(text):
            a, b = m.span()
            if a > pos:
                seg = _tr(text[pos:a], table).lower()
                pm.add(npos, pos, False)
                pieces.append(seg)
                npos += len(seg)
            run = m.group()
            out = run.translate(table)
            if not out:
                invisible += len(run)
            else:  # expansions (ligatures, fractions): each maps to its source character
                for j, c in enumerate(run):
                    f = table.get(ord(c), "")
                    if f:
                        pm.add(npos, a + j, True)
                        pieces.append(f)
                        npos += len(f)
            pos = b
        if pos < len(text):
            pm.add(npos, pos, False)
            pieces.append(_tr(text[pos:], table).lower())
        folded = "".join(pieces)
    tag_text = ""
    tag_span: tuple[int, int] | None = None
    if invisible:
        tm = _TAG_RUN.search(text)
        if tm is not None:
            # Unicode tag characters mirror ASCII: an invisible copy of a text ("ASCII smuggling")
            tag_text = tm.group()[:MAX_PAYLOAD_CHARS].translate(_TAG_TABLE)
            tag_span = tm.span()
    t, pre = _prepare(folded)
    return Normalized(t, len(text), pm, invisible, confusable, tag_text, tag_span, pre)


# ---------------------------------------------------------------- views (same coordinates)

LEET_TABLE = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                            "9": "g", "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e"})


def leet_view(norm: str) -> str | None:
    """Leetspeak folded (same length), or None when nothing changes."""
    lv = norm.translate(LEET_TABLE)
    return None if lv == norm else lv


_ROT13 = str.maketrans(
    "abcdefghijklmnopqrstuvwxyz", "nopqrstuvwxyzabcdefghijklm"
)


def rot13_view(norm: str) -> str:
    return norm.translate(_ROT13)


def reversed_lines(norm: str) -> tuple[str, Callable[[int, int], tuple[int, int]]]:
    """The text with each line reversed (and the lines in the same order), and the span map back.
    A fully reversed text reads correctly line by line."""
    rev = "\n".join(line[::-1] for line in norm.split("\n"))
    starts: list[int] = []
    p = 0
    for line in norm.split("\n"):
        starts.append(p)
        p += len(line) + 1

    def back(a: int, b: int) -> tuple[int, int]:
        k = bisect.bisect_right(starts, a) - 1
        ls = starts[k]
        le = starts[k + 1] - 1 if k + 1 < len(starts) else len(norm)
        length = le - ls
        ra, rb = a - ls, min(b - ls, length)
        return (ls + length - rb, ls + length - ra)

    return rev, back


# ---------------------------------------------------------------- payloads (decoded runs)

@dataclass(frozen=True, slots=True)
class Payload:
    """Decoded text of an encoded run; ``span`` is in the coordinates of the text it was found
    in (the caller maps it to the original)."""

    encoding: str
    span: tuple[int, int]
    text: str
    meta: dict[str, str] = field(default_factory=dict)


_B64_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_RUN = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}[ :]?){8,}")
_BIN_RUN = re.compile(r"(?:[01]{8}[ ]?){4,}")
_URL_RUN = re.compile(r"[^\s%]{0,40}(?:%[0-9A-Fa-f]{2}[^\s%]{0,40}){3,}")
_SPACED_RUN = re.compile(r"(?<![a-z])(?:[a-z](?:[ .\-_*|/]| {2,4})){5,}[a-z](?![a-z])", re.I)


def _printable_ratio(s: str) -> float:
    if not s:
        return 0.0
    if s.isprintable():
        return 1.0
    ok = sum(map(str.isprintable, s)) + s.count("\n") + s.count("\r") + s.count("\t")
    return ok / len(s)


_B64ISH = re.compile(r"[A-Za-z0-9+/=_\-\s]{16,}")


def _mostly_words(s: str) -> bool:
    """Decoded text worth screening: words, or another encoded layer (nested encodings)."""
    if len(s) >= 16 and _B64ISH.fullmatch(s) is not None:
        return True
    letters = sum(map(str.isalpha, s))
    return len(s) >= 6 and letters / len(s) >= 0.55 and (" " in s or len(s) < 40)


def _b64(run: str) -> str | None:
    raw = run.rstrip("=")
    if len(raw) < MIN_B64:
        return None
    # a real base64 payload mixes cases and is not a plain word/identifier
    if raw.isalpha() and (raw.islower() or raw.isupper()):
        return None
    if raw.isdigit():
        return None
    pad = "=" * (-len(raw) % 4)
    try:
        alt = "-_" in raw or "_" in raw or "-" in raw
        data = (base64.urlsafe_b64decode if alt else base64.b64decode)(raw + pad)
    except (binascii.Error, ValueError):
        return None
    try:
        s = data[:MAX_PAYLOAD_CHARS].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return s if _printable_ratio(s) > 0.95 and _mostly_words(s) else None


def _hex(run: str) -> str | None:
    h = re.sub(r"[ :]", "", run)
    if len(h) % 2:
        h = h[:-1]
    try:
        data = bytes.fromhex(h[: 2 * MAX_PAYLOAD_CHARS])
        s = data.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return s if _printable_ratio(s) > 0.95 and _mostly_words(s) else None


def _bin(run: str) -> str | None:
    bits = run.replace(" ", "")
    n = len(bits) // 8
    try:
        s = bytes(int(bits[8 * i: 8 * i + 8], 2) for i in range(min(n, MAX_PAYLOAD_CHARS))).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return s if _printable_ratio(s) > 0.95 and _mostly_words(s) else None


def _url(run: str) -> str | None:
    s = urllib.parse.unquote_plus(run[:MAX_PAYLOAD_CHARS])
    return s if s != run and _printable_ratio(s) > 0.9 else None


def _spaced(run: str) -> str | None:
    words = re.split(r"(?:[ .\-_*|/]){2,}| {2,}", run)
    s = " ".join(re.sub(r"[ .\-_*|/]", "", w) for w in words)
    return s if len(s) >= 6 else None


# _URL_RUN's tail: a chain of at least three %XX units; it starts with a literal "%", which the
# regex engine finds by a fast scan instead of trying every position
_URL_CHAIN = re.compile(r"(?:%[0-9A-Fa-f]{2}[^\s%]{0,40}){3,}")
_URL_LEAD = 40  # _URL_RUN's leading [^\s%]{0,40}


def _url_runs(src: str) -> Iterator[tuple[int, int]]:
    r"""The spans of ``_URL_RUN.finditer(src)``, found in linear time.

    ``_URL_RUN`` tries every start position and backtracks over up to 40 characters at each, so on
    a long run without spaces or "%" (a base64 blob) it costs about 2 ms per KB. A match consists
    of at most 40 characters of ``[^\s%]`` up to the first "%" it reaches, then the chain: so the
    leftmost match is the leftmost chain (the same sub-pattern, greedy the same way), extended to
    the left over the ``[^\s%]`` characters before it (at most 40, not into the previous match).
    ``tests/detect`` compares both on random texts."""
    end = 0
    for m in _URL_CHAIN.finditer(src):
        a = m.start()
        lo = max(end, a - _URL_LEAD)
        s = a
        while s > lo and src[s - 1] != "%" and not src[s - 1].isspace():
            s -= 1
        end = m.end()
        yield s, end


def _spans(rx: re.Pattern[str]) -> Callable[[str], Iterator[tuple[int, int]]]:
    def find(src: str) -> Iterator[tuple[int, int]]:
        return (m.span() for m in rx.finditer(src))

    return find


_DECODERS: tuple[tuple[str, Callable[[str], Iterator[tuple[int, int]]], Callable[[str], str | None], bool],
                 ...] = (
    # name, run finder, decoder, runs are found in the original text (case and spacing matter)
    ("base64", _spans(_B64_RUN), _b64, True),
    ("hex", _spans(_HEX_RUN), _hex, False),
    ("binary", _spans(_BIN_RUN), _bin, False),
    ("url", _url_runs, _url, False),
    ("spaced", _spans(_SPACED_RUN), _spaced, True),
)


def find_payloads(original: str, norm: Normalized, budget: int = MAX_PAYLOADS,
                  encodings: frozenset[str] | set[str] | None = None) -> list[Payload]:
    """Decoded payloads in a text, with spans in the coordinates of ``original``. Base64 runs are
    found in the original (case matters); the other encodings in the normalized text."""
    out: list[Payload] = []
    if budget <= 0:
        return out
    for name, runs, dec, use_original in _DECODERS:
        if encodings is not None and name not in encodings:
            continue
        src = original if use_original else norm.text
        for a, b in runs(src):
            if len(out) >= budget:
                return out
            run = src[a:b]
            if len(run) > 4 * MAX_PAYLOAD_CHARS:
                run = run[: 4 * MAX_PAYLOAD_CHARS]
            text = dec(run)
            if text:
                span = (a, b) if use_original else norm.to_orig(a, b)
                out.append(Payload(name, span, text))
    return out
