"""The fast path: Presidio's recognizers behind a linear-time prefilter.

Presidio runs every pattern of every recognizer over the whole text, and its phone recognizer
runs ``phonenumbers.PhoneNumberMatcher`` eight times (once per region) over the whole text. Here:

1. Every pattern of every ``PatternRecognizer`` is *relaxed* (look-arounds, ``\\b``, ``^``, ``$``
   removed, ``\\w`` widened to everything the ``regex`` module calls a word character) so that
   it matches a superset of what the original matches, at the same end offsets, and all of
   them are compiled into one Hyperscan database (with start-of-match) together with a
   "digit chain" pattern for phone numbers. One scan of the text gives candidate spans.
   Text without candidates costs a few microseconds and never touches Presidio.
2. For each pattern that fired, Presidio's own compiled regex runs only on windows around the
   candidates (``finditer(text, pos, endpos)``, so look-behinds still see the real text), and
   Presidio's own ``validate_result`` / ``invalidate_result`` (Luhn, IBAN checksum, domain
   check, ...) score each match exactly as ``PatternRecognizer`` does.
3. For phone numbers the matcher runs only on padded windows around digit chains of at least
   four digits (no number that ``phonenumbers`` accepts as valid has fewer). In each window
   the matcher's walk (candidates, trimming, dates, time stamps) runs once; ``parse`` runs
   only for the candidates and regions whose metadata allows a valid number, and a region's
   whole matcher only when one of them parses (:mod:`._phone_gate`, exact conditions).
4. Results are de-duplicated with Presidio's ``EntityRecognizer.remove_duplicates``.

Why the windows give the same matches as a full scan: every real match is also a relaxed
match with the same end, so its end is reported and its start is at or after the reported
leftmost start; windows are padded on the right by more than the longest look-ahead, so no
assertion the engine evaluates inside a window ever looks past the window's end; and the
window's start is given as ``pos`` (not a slice), so look-behinds and ``\\b`` see the real
preceding text. ``tests/redact/test_fastpath_equivalence.py`` checks the result against
Presidio's ``AnalyzerEngine`` on many texts.

Recognizers that override ``analyze`` (Presidio's IBAN recognizer) run on the whole text, but
only when one of their relaxed patterns fired. Other recognizers (NER) always run.
Without Hyperscan, RE2 is the prefilter: a fired pattern then runs on the whole text.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PHONE_CHAIN", "Detection", "FastAnalyzer", "RedactionError", "relax_pattern"]

from ..errors import GuardrailError
from ._phone_gate import PhoneGate, shared_gate


class RedactionError(GuardrailError):
    """The text could not be analysed (a pattern timed out, an engine failed)."""


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected entity. ``subtype`` names the kind of secret for entity ``SECRET``."""

    entity: str
    start: int
    end: int
    score: float
    recognizer: str = ""
    subtype: str = ""


# Characters whose simple case folding is an ASCII letter (found by brute force over Unicode
# with the ``regex`` module, which Presidio uses with IGNORECASE); folded before the prefilter
# scan, as are lone surrogates (not encodable as UTF-8) -> U+FFFD. Both keep the length.
_FOLD: dict[int, int] = {0x130: ord("i"), 0x17F: ord("s"), 0x212A: ord("k")}
_FOLD.update({cp: 0xFFFD for cp in range(0xD800, 0xE000)})

# Non-ASCII characters: the prefilter runs without Unicode classes (they make SOM automata
# too large), so every positive class that could match a non-ASCII character is widened to
# all of them. Negated classes are ASCII-based and therefore already wider.
_NON_ASCII = r"\x{80}-\x{10FFFF}"

#: Phone candidates: at least 4 digits joined by up to 4 of phonenumbers' punctuation chars.
_PHONE_PUNCT = (r"\-xX\x{2010}-\x{2015}\x{2212}\x{30FC}\x{FF0D}-\x{FF0F} \x{00A0}\x{00AD}"
                r"\x{200B}\x{2060}\x{3000}()\x{FF08}\x{FF09}\x{FF3B}\x{FF3D}.\[\]/~\x{2053}"
                r"\x{223C}\x{FF5E}")
PHONE_CHAIN = r"\d(?:[" + _PHONE_PUNCT + r"]{0,4}\d){3,}"
#: The prefilter's form: a chain and the character after it (not an ASCII digit) or the end of
#: the text, so that Hyperscan reports a chain once per digit group instead of once per digit
#: (ends inside a chain are merged away: their leftmost start is the chain's start).
_PHONE_CHAIN_END = PHONE_CHAIN + r"(?:[^0-9]|\z)"
_PHONE_PAD = 24
_PHONE_CACHE_SIZE = 8192
_LEAD_OR_PUNCT = frozenset(
    "([\uff08\uff3b+\uff0b-xX\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d\uff0e\uff0f"
    " \u00a0\u00ad\u200b\u2060\u3000()\uff08\uff09\uff3b\uff3d.[]/~\u2053\u223c\uff5e"
)
# Text after a chain that may make phonenumbers take an extension (kept from its _PATTERN).
_EXT_START = re.compile(
    "(?:;ext=\\d|[ \u00a0\\t,]*(?:e?xt(?:ensi(?:\u00f3?|\u00f3))?n?|\uff45?\uff58\uff54\uff4e?"
    "|\u0434\u043e\u0431|anexo)"
    "[:\\.\uff0e]?[ \u00a0\\t,-]*\\d|[ \u00a0\\t,]*(?:[x\uff58#\uff03~\uff5e]|int|\uff49\uff4e\uff54)[:\\.\uff0e]?"
    "[ \u00a0\\t,-]*\\d|[- ]+\\d{1,6}#)",
    re.IGNORECASE,
)


#: 4-, 5- and 6-digit strings ``PhoneNumberMatcher`` accepts for Presidio's default regions
#: (see ``_phone_short``): other 4/5-digit chains are skipped without running the matcher.
_DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
_SHORT_VALID: dict[int, Container[str]] = {}


class _Six:
    def __contains__(self, digits: object) -> bool:
        from ._phone_six import valid_6

        return isinstance(digits, str) and valid_6(digits)


def _short_tables() -> dict[int, Container[str]]:
    if not _SHORT_VALID:
        import phonenumbers

        from ._phone_short import PHONENUMBERS_VERSION, VALID_4, VALID_5

        if phonenumbers.__version__ == PHONENUMBERS_VERSION:  # other metadata: no shortcut
            _SHORT_VALID.update({4: VALID_4, 5: VALID_5, 6: _Six()})
        else:
            _SHORT_VALID[0] = frozenset()
    return _SHORT_VALID


_DROP_DIGITS_AND_PUNCT = str.maketrans("", "", "0123456789" + "".join(_LEAD_OR_PUNCT))


def _has_ascii_digit(text: str) -> bool:
    return any(d in text for d in "0123456789")  # ten C-speed substring searches


_INERT: dict[str, bool] = {}  # chain -> _short_chain_is_inert (bounded; cleared with the caches)


def _short_chain_is_inert(chain: str) -> bool:
    """True when a chain of 4 to 6 digits cannot contain a valid number (default regions)."""
    hit = _INERT.get(chain)
    if hit is None:
        hit = _INERT[chain] = _judge_short_chain(chain)
        if len(_INERT) > 4096:
            _INERT.clear()
    return hit


_NOT_ASCII_DIGIT = re.compile("[^0-9]+")


def _judge_short_chain(chain: str) -> bool:
    tables = _short_tables()
    if chain.isascii():
        if "x" in chain or "X" in chain:
            return False
        digits = _NOT_ASCII_DIGIT.sub("", chain)
    else:
        if "x" in chain.lower() or "\uff58" in chain:
            return False
        if not chain.translate(_DROP_DIGITS_AND_PUNCT):  # ASCII digits and punctuation (dashes)
            digits = _NOT_ASCII_DIGIT.sub("", chain)
        else:
            import unicodedata

            digits = "".join(str(unicodedata.digit(c)) for c in chain if c.isdigit())
    n = len(digits)
    if n not in tables:
        return False
    for k in range(4, n + 1):
        table = tables.get(k)
        if table is None:
            return False
        for i in range(n - k + 1):
            if digits[i:i + k] in table:
                return False
    return True


@functools.lru_cache(maxsize=4096)
def _canon_prev(c: str) -> str:
    """The class of the character before a phone candidate, as phonenumbers sees it."""
    from phonenumbers.phonenumbermatcher import PhoneNumberMatcher

    if PhoneNumberMatcher._is_latin_letter(c):
        return "a"
    if PhoneNumberMatcher._is_invalid_punctuation_symbol(c):
        return "%"
    return "!"


def _digit_free_bounds(text: str, s: int, e: int) -> tuple[int, int]:
    """A slice around [s, e) whose edges have no digit within 16 characters on either side
    (so no candidate is cut), extended through blanks where an extension may follow."""
    n = len(text)
    ws = max(0, s - _PHONE_PAD)
    while ws > 0:
        seg = text[max(0, ws - 16):ws + 16]
        idx = [i for i, ch in enumerate(seg) if ch.isdigit()]
        if not idx:
            break
        ws = max(0, ws - 16 + idx[0] - 17)
    we = e
    while True:
        while we < n and text[we] in " \u00a0\t,-":
            we += 1
        we = min(n, we + _PHONE_PAD)
        seg = text[max(0, we - 16):we + 16]
        idx = [i for i, ch in enumerate(seg) if ch.isdigit()]
        if not idx or we >= n:
            break
        we = min(n, max(0, we - 16) + idx[-1] + 1)
    return ws, we


def _outside_classes(p: str, i: int = 0) -> Iterator[int]:
    """Indices of the characters of pattern ``p`` from ``i`` on that are neither escaped nor
    inside a character class (a ``]`` right after ``[`` or ``[^`` is a literal)."""
    n = len(p)
    in_class = False
    while i < n:
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if p[i + 1:i + 2] == "^":
                i += 1
            if p[i + 1:i + 2] == "]":
                i += 1
        else:
            yield i
        i += 1


def _skip_group(p: str, i: int) -> int:
    """Index just past the group whose ``(`` is at ``i`` (escapes and classes respected)."""
    depth = 0
    for k in _outside_classes(p, i):
        if p[k] == "(":
            depth += 1
        elif p[k] == ")":
            depth -= 1
            if depth == 0:
                return k + 1
    raise ValueError("unbalanced parenthesis")


_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")


def _groups(p: str) -> list[str]:
    """Bodies of the capturing groups of ``p``, in the order of their numbers."""
    bodies: list[tuple[int, str]] = []
    for i in _outside_classes(p):
        if p[i] == "(" and (p[i + 1:i + 2] != "?" or p.startswith(("(?P<", "(?<"), i)) \
                and not p.startswith(("(?<=", "(?<!"), i):
            end = _skip_group(p, i)
            body_start = i + 1 if p[i + 1:i + 2] != "?" else p.index(">", i) + 1
            bodies.append((i, p[body_start:end - 1]))
    return [b for _, b in sorted(bodies)]


def relax_pattern(p: str, *, loosen: bool = False) -> str:
    """A pattern matching a superset of ``p`` at the same end offsets, in Hyperscan syntax
    (UTF-8, no UCP): look-arounds, ``\\b`` and anchors dropped, named groups made plain,
    back-references replaced by their group, classes that may match non-ASCII characters
    widened to all of them. ``loosen`` also turns counted repeats into ``+`` / ``*`` (a
    smaller automaton for patterns that are otherwise too large)."""
    groups: list[str] | None = None
    out: list[str] = []
    i = 0
    n = len(p)
    cls: list[str] | None = None  # the class being collected
    while i < n:
        c = p[i]
        if cls is not None:
            if c == "\\" and i + 1 < n:
                cls.append(p[i:i + 2])
                i += 2
                continue
            if c == "]" and len(cls) > (2 if cls[1:2] == ["^"] else 1):
                negated = cls[1:2] == ["^"]
                body = "".join(cls)
                wide = any(t in ("\\w", "\\d", "\\s") or t.startswith(("\\p", "\\P"))
                           or (len(t) == 1 and ord(t) > 127) for t in cls)
                if not negated and wide:
                    body += _NON_ASCII
                out.append(body + "]")
                cls = None
                i += 1
                continue
            cls.append(c)
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            e = p[i + 1]
            if e in "bBAZzG":
                i += 2  # zero-width assertion: dropped
                continue
            if e in "wds":
                out.append("[\\" + e + _NON_ASCII + "]")
                i += 2
                continue
            if e in "pP":
                j = p.index("}", i) + 1 if p[i + 2:i + 3] == "{" else i + 3
                out.append("[\\x00-\\x{10FFFF}]")
                i = j
                continue
            if e.isdigit() and e != "0":
                if groups is None:
                    groups = _groups(p)
                k = int(e) - 1
                out.append("(?:" + relax_pattern(groups[k], loosen=loosen) + ")" if k < len(groups)
                           else "[\\x00-\\x{10FFFF}]*")
                i += 2
                continue
            out.append(p[i:i + 2])
            i += 2
            continue
        if c == "[":
            cls = ["["]
            i += 1
            if p[i:i + 1] == "^":
                cls.append("^")
                i += 1
            if p[i:i + 1] == "]":
                cls.append("\\]")
                i += 1
            continue
        if c == "(":
            if p.startswith(_LOOKAROUND, i):
                i = _skip_group(p, i)
                continue
            if p.startswith("(?P<", i) or (p.startswith("(?<", i) and not p.startswith("(?<=", i)):
                out.append("(")
                i = p.index(">", i) + 1
                continue
        if c in "^$":
            i += 1
            continue
        if c == "{" and loosen:
            m = _COUNTED.match(p, i)
            if m:
                lo = int(m.group(1))
                # keep a lower bound (cheap for Hyperscan, and it keeps candidates rare);
                # drop the upper bound (large counted repeats make the automaton huge)
                out.append("*" if lo == 0 else "+" if lo == 1 else f"{{{min(lo, 32)},}}")
                i = m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


_COUNTED = re.compile(r"\{(\d+)(?:,(\d*))?\}")

_LOOKAHEAD_RE = re.compile(r"\(\?[=!]")


def _lookahead_pad(p: str) -> int:
    """Characters a look-ahead in ``p`` may inspect past a match end (bounded estimate;
    unbounded look-aheads get a large pad)."""
    pad = 2
    for m in _LOOKAHEAD_RE.finditer(p):
        try:
            body = p[m.start():_skip_group(p, m.start())]
        except ValueError:
            return 4096
        width = _max_width(body[3:-1])
        pad = max(pad, (width if width is not None else 4096) + 2)
    return pad


def _max_width(p: str) -> int | None:
    try:
        import sys

        if sys.version_info >= (3, 11):
            from re import _parser as sre_parse
        else:  # pragma: no cover
            import sre_parse
        hi = sre_parse.parse(p).getwidth()[1]
    except Exception:  # noqa: BLE001 - syntax only regex knows: assume unbounded
        return None
    return None if hi >= 65535 else int(hi)


@dataclass(slots=True)
class _Pat:
    """One pattern of one recognizer as the fast path runs it."""

    rec_index: int
    pattern: Any  # presidio Pattern
    compiled: Any  # regex.Pattern with the recognizer's flags
    relaxed: str
    pad: int
    max_width: int | None
    som: bool = True
    mode: str = "window"  # window | full (recognizer overrides analyze) | always (no prefilter)


@dataclass(slots=True)
class _Plan:
    pats: list[_Pat] = field(default_factory=list)
    full_recs: list[int] = field(default_factory=list)  # recognizers run on the whole text
    phone_recs: list[int] = field(default_factory=list)
    other_recs: list[int] = field(default_factory=list)  # always run (NER, custom)


def _hs_flags(som: bool, ucp: bool) -> int:
    import hyperscan

    return (hyperscan.HS_FLAG_DOTALL | hyperscan.HS_FLAG_MULTILINE
            | hyperscan.HS_FLAG_UTF8 | (hyperscan.HS_FLAG_UCP if ucp else 0)
            | (hyperscan.HS_FLAG_SOM_LEFTMOST if som else 0))


def _database(exprs: list[tuple[int, str, bool, bool]], single: bool = False) -> Any:
    """The Hyperscan database of ``exprs`` (id, pattern, start-of-match, UCP): from the cache
    directory, else compiled and cached. ``single``: report each pattern once at most."""
    import hyperscan

    db = _load_cached(exprs, single=single)
    if db is None:
        extra = hyperscan.HS_FLAG_SINGLEMATCH if single else 0
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=[e.encode("utf-8") for _, e, _, _ in exprs],
            ids=[i for i, _, _, _ in exprs],
            elements=len(exprs),
            flags=[_hs_flags(som, ucp) | extra for _, _, som, ucp in exprs],
        )
        _store_cached(exprs, db, single=single)
    return db


class _Hyperscan:
    """The prefilter databases. ``db``: every pattern, start-of-match tracked only for the
    phone chains; ``som``: the other patterns that need start-of-match (their matches may be
    long), scanned only when the first scan found one of them, and only up to its last end
    (tracking start-of-match costs several times the plain scan for patterns such as
    Presidio's e-mail and IPv6 ones); ``quick``: a first pass for text without digits."""

    def __init__(self, exprs: list[tuple[int, str, bool, bool]]) -> None:
        import hyperscan

        self.hs = hyperscan
        som: list[tuple[int, str, bool, bool]] = [(i, e, True, ucp) for i, e, s, ucp in exprs if s and not ucp]
        self.som_ids = frozenset(i for i, *_ in som)
        self.db = _database([(i, e, s and i not in self.som_ids, ucp) for i, e, s, ucp in exprs])
        self.som = _database(som) if som else None
        # a first pass without start-of-match tracking that stops at the first match: about
        # half the cost, and text without any candidate (the common case) needs nothing more
        self.quick = _database([(i, e, False, ucp) for i, e, _, ucp in exprs], single=True)
        self._local = threading.local()

    def any_match(self, data: bytes) -> bool:
        scratch = getattr(self._local, "quick_scratch", None)
        if scratch is None:
            scratch = self.hs.Scratch(self.quick)
            self._local.quick_scratch = scratch
        found = False

        def on_match(pid: int, start: int, end: int, flags: int, ctx: Any) -> bool:
            nonlocal found
            found = True
            return True  # stop

        try:
            self.quick.scan(data, match_event_handler=on_match, scratch=scratch)
        except self.hs.ScanTerminated:
            pass
        return found

    def scan(self, data: bytes, hits: list[tuple[int, int, int]]) -> None:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self.hs.Scratch(self.db)
            self._local.scratch = scratch

        def on_match(pid: int, start: int, end: int, flags: int, ctx: Any) -> bool:
            hits.append((pid, start, end))
            return len(hits) > _MAX_HITS  # stop: the caller then runs everything on the full text

        self.db.scan(data, match_event_handler=on_match, scratch=scratch)
        if self.som is None:
            return
        ids = self.som_ids
        last = max((e for pid, _, e in hits if pid in ids), default=-1)
        if last < 0:
            return
        # the same matches again with their leftmost starts (a scan of the text up to the
        # last end reports every match that ends there or before: no pattern is anchored)
        hits[:] = [h for h in hits if h[0] not in ids]
        som_scratch = getattr(self._local, "som_scratch", None)
        if som_scratch is None:
            som_scratch = self.hs.Scratch(self.som)
            self._local.som_scratch = som_scratch
        self.som.scan(data[:last], match_event_handler=on_match, scratch=som_scratch)

    @staticmethod
    def try_compile(expr: str, som: bool, ucp: bool = False) -> bool:
        import hyperscan

        try:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=[expr.encode("utf-8")], ids=[0], elements=1,
                       flags=[_hs_flags(som, ucp)])
        except Exception:  # noqa: BLE001 - unsupported construct: the caller falls back
            return False
        return True


_MAX_HITS = 1_000_000
#: Patterns whose matches are at most this many characters long are prefiltered without
#: start-of-match tracking (their windows start this far before each candidate's end).
_NO_SOM_WIDTH = 128


def _cache_path(exprs: list[tuple[int, str, bool, bool]], single: bool = False) -> Any:
    """Where the compiled database for ``exprs`` is kept (``guardrails._cache``, sub-directory
    ``redact``), or None when there is no usable cache directory."""
    import hashlib

    import hyperscan

    from .._cache import cache_dir

    base = cache_dir("redact")
    if base is None:
        return None
    h = hashlib.sha256(repr((getattr(hyperscan, "__version__", ""), single, exprs)).encode("utf-8")).hexdigest()
    return base / f"hs-{h[:32]}.db"


def _load_cached(exprs: list[tuple[int, str, bool, bool]], single: bool = False) -> Any:
    """A compiled Hyperscan database from the cache directory (compiling the combined
    start-of-match database takes seconds; loading it takes milliseconds). Any problem: None."""
    import hyperscan

    try:
        path = _cache_path(exprs, single)
        if path is None:
            return None
        data = path.read_bytes()
        return hyperscan.loadb(data, hyperscan.HS_MODE_BLOCK)
    except Exception:  # noqa: BLE001 - no cache or a stale one: compile instead
        return None


def _store_cached(exprs: list[tuple[int, str, bool, bool]], db: Any, single: bool = False) -> None:
    import os

    import hyperscan

    try:
        path = _cache_path(exprs, single)
        if path is None:
            return
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(hyperscan.dumpb(db))
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001,S110 - a read-only home only costs the compile time
        pass


class FastAnalyzer:
    """Runs Presidio ``recognizers`` (objects from :mod:`.presidio_bridge`) with the fast path.

    ``analyze_results(text)`` returns Presidio ``RecognizerResult`` objects equal to what
    ``AnalyzerEngine(no_op).analyze(text, language="en")`` returns with the same recognizers;
    ``analyze(text)`` returns :class:`Detection` values. ``engine`` is ``hyperscan``, ``re2``
    or ``auto`` (Hyperscan when installed). Thread-safe after construction.
    """

    def __init__(self, recognizers: Sequence[Any], *, engine: str = "auto",
                 slow_engine: Any = None) -> None:
        import regex
        from presidio_analyzer import EntityRecognizer, PatternRecognizer, RecognizerResult
        from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS
        from presidio_analyzer.predefined_recognizers import PhoneRecognizer

        self._EntityRecognizer = EntityRecognizer
        self._Result = RecognizerResult
        self._timeout = REGEX_TIMEOUT_SECONDS
        self.recognizers = list(recognizers)
        self._slow_engine = slow_engine
        self._phone_cache: dict[tuple[int, str], tuple[tuple[int, int], ...]] = {}
        self._gates: dict[int, PhoneGate | None] = {}
        self._cache_lock = threading.Lock()
        plan = _Plan()
        for ri, rec in enumerate(self.recognizers):
            if isinstance(rec, PhoneRecognizer) and type(rec).analyze is PhoneRecognizer.analyze:
                plan.phone_recs.append(ri)
                continue
            if not isinstance(rec, PatternRecognizer):
                plan.other_recs.append(ri)
                continue
            overrides = type(rec).analyze is not PatternRecognizer.analyze
            if overrides:
                plan.full_recs.append(ri)
            prec: Any = rec
            for pat in prec.patterns:
                flags = int(prec.global_regex_flags or 0)
                relaxed = relax_pattern(pat.regex)
                plan.pats.append(_Pat(
                    rec_index=ri, pattern=pat, compiled=regex.compile(pat.regex, flags=flags),
                    relaxed=relaxed, pad=_lookahead_pad(pat.regex), max_width=_max_width(pat.regex),
                    mode="full" if overrides else "window",
                ))
        self._plan = plan
        self.engine = self._choose_engine(engine)
        self._hs: _Hyperscan | None = None
        self._re2: list[tuple[int, Any]] = []
        self._phone_id = len(plan.pats)
        if self.engine == "hyperscan":
            exprs: list[tuple[int, str, bool, bool]] = []
            for pid, p in enumerate(plan.pats):
                loose = relax_pattern(p.pattern.regex, loosen=True)
                if p.compiled.flags & regex.IGNORECASE:  # case folding only where the regex has it
                    p.relaxed = "(?i)" + p.relaxed
                    loose = "(?i)" + loose
                strict = p.relaxed
                big = any(int(m.group(2) or m.group(1)) > 64 for m in _COUNTED.finditer(strict)
                          if (m.group(2) or m.group(1)).isdigit())
                tries: tuple[tuple[str, bool], ...]
                if p.max_width is not None and p.max_width <= _NO_SOM_WIDTH:
                    # short matches: the window starts max_width before the end, and the scan
                    # does not pay for start-of-match tracking (several times its cost for
                    # patterns such as Presidio's IP and IBAN ones)
                    tries = ((loose, False),) if big else ((strict, False), (loose, False))
                else:
                    tries = ((loose, True), (loose, False)) if big else ((strict, True), (loose, True),
                                                                         (loose, False))
                for expr, som in tries:
                    if _Hyperscan.try_compile(expr, som):
                        p.relaxed, p.som = expr, som
                        exprs.append((pid, expr, som, False))
                        break
                else:
                    p.mode = "always"
            if plan.phone_recs:
                exprs.append((self._phone_id, _PHONE_CHAIN_END, True, True))
            self._hs = _Hyperscan(exprs) if exprs else None
        else:
            import re2

            opts = re2.Options()
            opts.case_sensitive = False
            opts.dot_nl = True
            opts.max_mem = 64 << 20
            for pid, p in enumerate(plan.pats):
                try:
                    self._re2.append((pid, re2.compile(_re2_syntax(p.relaxed), opts)))
                except Exception:  # noqa: BLE001
                    p.mode = "always"
            if plan.phone_recs:
                self._re2.append((self._phone_id, re2.compile(_re2_syntax(PHONE_CHAIN), opts)))

        self._always = [pid for pid, p in enumerate(plan.pats) if p.mode == "always"]
        for ri in plan.phone_recs:  # loads the phone metadata now, not inside the first check
            self._phone_gate(ri)

    @staticmethod
    def _choose_engine(engine: str) -> str:
        if engine not in ("auto", "hyperscan", "re2"):
            raise ValueError(f"unknown prefilter engine {engine!r}")
        if engine == "re2":
            return "re2"
        try:
            import hyperscan  # noqa: F401
        except ImportError:
            if engine == "hyperscan":
                from ..errors import MissingDependency

                raise MissingDependency(
                    "hyperscan", "hyperscan", "or turn redaction off in the manifest: redact: {enabled: false}"
                ) from None
            return "re2"
        return "hyperscan"

    @property
    def stats(self) -> dict[str, int]:
        modes = [p.mode for p in self._plan.pats]
        return {"patterns": len(modes), "window": modes.count("window"), "full": modes.count("full"),
                "always": modes.count("always"), "phone": len(self._plan.phone_recs),
                "other": len(self._plan.other_recs)}

    # ------------------------------------------------------------------ scanning
    def _candidates(self, text: str) -> dict[int, list[tuple[int, int]]] | None:
        """pattern id -> [(start, end)] in characters (start -1: unknown). None: too many
        candidates, run everything on the full text."""
        out: dict[int, list[tuple[int, int]]] = {}
        if self._hs is not None:
            ascii_ = text.isascii()
            if ascii_:
                data = text.encode("ascii")
            elif "\u0130" in text or "\u017f" in text or "\u212a" in text:  # C-speed substring scans
                data = text.translate(_FOLD).encode("utf-8")
            else:
                try:
                    data = text.encode("utf-8")
                except UnicodeEncodeError:  # lone surrogates
                    data = text.translate(_FOLD).encode("utf-8")
            # the quick pass only pays off where candidates are rare: text with a digit
            # almost always has one (phone chains), so it goes straight to the full scan
            if not _has_ascii_digit(text) and not self._hs.any_match(data):
                return out
            hits: list[tuple[int, int, int]] = []
            try:
                self._hs.scan(data, hits)
            except Exception as exc:  # noqa: BLE001
                if len(hits) > _MAX_HITS:
                    return None
                raise RedactionError(f"prefilter scan failed ({type(exc).__name__})") from None
            if len(hits) > _MAX_HITS:
                return None
            if not hits:
                return out
            if not ascii_:
                hits = _bytes_to_chars(data, hits)
            phone = self._phone_id
            for pid, s, e in hits:
                if pid == phone:  # the chain ends at its last digit, before what ended it
                    while e > s and not text[e - 1].isdecimal():
                        e -= 1
                out.setdefault(pid, []).append((s, e))
            return out
        for pid, rx in self._re2:
            if rx.search(text.translate(_FOLD) if not text.isascii() else text) is not None:
                out[pid] = [(-1, -1)]  # position unknown: full text
        return out

    def analyze_results(self, text: str, *, dedupe: bool = True) -> list[Any]:
        """Presidio ``RecognizerResult`` list, as ``AnalyzerEngine.analyze`` would return.
        ``dedupe=False`` skips Presidio's ``remove_duplicates`` (zero scores are still
        dropped), for a caller that enhances scores with context first, as Presidio's
        ``AnalyzerEngine`` does before it removes duplicates."""
        if not isinstance(text, str):
            raise TypeError("text must be a str")
        plan = self._plan
        results: list[Any] = []
        cands = self._candidates(text)
        if cands is not None and not cands and not self._always and not plan.other_recs:
            return []  # the common case: no candidate anywhere
        n = len(text)
        full_done: set[int] = set()
        pids = (range(len(plan.pats)) if cands is None
                else sorted({*(i for i in cands if i < len(plan.pats)), *self._always}))
        for pid in pids:
            p = plan.pats[pid]
            rec = self.recognizers[p.rec_index]
            if p.mode == "full" or (cands is None and p.mode != "always" and p.rec_index in plan.full_recs):
                if (cands is None or pid in cands) and p.rec_index not in full_done:
                    full_done.add(p.rec_index)
                    results.extend(self._run_full(rec, p.rec_index, text, cands))
                continue
            if p.mode == "always" or cands is None:
                windows = [(0, n)]
            else:
                spans = cands.get(pid)
                if not spans:
                    continue
                windows = self._windows(p, spans, n)
            results.extend(self._run_pattern(rec, p, text, windows))
        if plan.phone_recs and (cands is None or self._phone_id in cands):
            for ri in plan.phone_recs:
                rec = self.recognizers[ri]
                short_ok = (tuple(rec.supported_regions) == _DEFAULT_PHONE_REGIONS
                            and rec.leniency == 1)
                pw = ([(0, text, False)] if cands is None else
                      self._phone_windows(text, cands[self._phone_id], short_ok))
                results.extend(self._run_phone(ri, text, pw))
        for ri in plan.other_recs:
            results.extend(self._run_recognizer(self.recognizers[ri], text))
        results = [r for r in results if r.score > 0]
        if not dedupe:
            return results
        return list(self._EntityRecognizer.remove_duplicates(results))

    def analyze(self, text: str, *, dedupe: bool = True) -> list[Detection]:
        out = []
        for r in self.analyze_results(text, dedupe=dedupe):
            meta = r.recognition_metadata or {}
            name = str(meta.get("recognizer_name", ""))
            sub = name.split(":", 1)[1] if r.entity_type == "SECRET" and ":" in name else ""
            out.append(Detection(r.entity_type, r.start, r.end, float(r.score), name, sub))
        out.sort(key=lambda d: (d.start, -d.end, d.entity))
        return out

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _windows(p: _Pat, spans: list[tuple[int, int]], n: int) -> list[tuple[int, int]]:
        raw = []
        for s, e in spans:
            if s < 0:
                return [(0, n)]
            if not p.som:
                s = 0 if p.max_width is None else max(0, e - p.max_width)
            raw.append((s, min(n, e + p.pad)))
        return _merge(raw)

    @staticmethod
    def _phone_windows(text: str, spans: list[tuple[int, int]], short_ok: bool = False
                       ) -> list[tuple[int, str, bool]]:
        """One small window per digit chain: ``(text offset of window[0], window, cacheable)``.

        What ``PhoneNumberMatcher`` decides about a chain depends only on the chain, the
        lead/punctuation run right before it (at most 10 characters can start a number), the
        class of the character before that (Latin letter / currency or ``%`` / other), and the
        next three characters (end checks, ``:dd`` time stamps), unless an extension
        ("ext. 12", "x 3", ";ext=") follows: then a padded slice of the real text is used.
        Windows without an extension are canonical and cached."""
        n = len(text)
        if not spans or min(spans)[0] < 0:
            return [(0, text, False)] if spans else []
        chains = _merge(list(spans))
        out: list[tuple[int, str, bool]] = []
        ext_start = _EXT_START.match
        lead = _LEAD_OR_PUNCT
        for s, e in chains:
            if ext_start(text, e) is not None:
                ws, we = _digit_free_bounds(text, s, e)
                out.append((ws, text[ws:we], False))
                continue
            ls = s
            while ls > 0 and s - ls < 12 and text[ls - 1] in lead:
                ls -= 1
            if short_ok and e - s <= 24 and _short_chain_is_inert(text[s:e]) \
                    and "+" not in text[ls:s] and "\uff0b" not in text[ls:s]:
                continue
            if ls > 0:
                window = _canon_prev(text[ls - 1]) + text[ls:min(n, e + 3)]
                out.append((ls - 1, window, True))
            else:
                out.append((0, text[0:min(n, e + 3)], True))
        return out

    def _run_pattern(self, rec: Any, p: _Pat, text: str, windows: Iterable[tuple[int, int]]) -> list[Any]:
        """Presidio's ``PatternRecognizer.__analyze_patterns`` for one pattern, on windows."""
        from presidio_analyzer import EntityRecognizer

        out = []
        try:
            for ws, we in windows:
                for m in p.compiled.finditer(text, ws, we, timeout=self._timeout):
                    start, end = m.span()
                    cur = text[start:end]
                    if cur == "":
                        continue
                    score = p.pattern.score
                    validation = rec.validate_result(cur)
                    if validation is not None:
                        score = EntityRecognizer.MAX_SCORE if validation else EntityRecognizer.MIN_SCORE
                    inval = rec.invalidate_result(cur)
                    if inval is not None and inval:
                        score = EntityRecognizer.MIN_SCORE
                    if score > EntityRecognizer.MIN_SCORE:
                        out.append(self._Result(
                            entity_type=rec.supported_entities[0], start=start, end=end, score=score,
                            analysis_explanation=None,  # type: ignore[arg-type]
                            recognition_metadata={"recognizer_name": rec.name,
                                                  "recognizer_identifier": rec.id},
                        ))
        except TimeoutError:
            raise RedactionError(f"pattern {p.pattern.name!r} timed out") from None
        return out

    def _run_full(self, rec: Any, ri: int, text: str,
                  cands: dict[int, list[tuple[int, int]]] | None) -> list[Any]:
        """A recognizer with its own ``analyze`` (Presidio's IBAN recognizer) on slices of the
        text around its candidates. A slice starts after and ends before a whitespace
        character, so ``\\b`` at its edges means what it means in the whole text; patterns
        with look-behinds get the whole text."""
        n = len(text)
        pats = [(pid, p) for pid, p in enumerate(self._plan.pats) if p.rec_index == ri]
        if cands is None or any("(?<" in p.pattern.regex for _, p in pats):
            return self._run_recognizer(rec, text)
        raw: list[tuple[int, int]] = []
        for pid, p in pats:
            spans = cands.get(pid)
            if spans:
                raw.extend(self._windows(p, spans, n))
        slices = []
        for ws, we in _merge(raw):
            lo = max(0, ws - 256)
            while ws > lo and not text[ws - 1].isspace():
                ws -= 1
            hi = min(n, we + 256)
            while we < hi and not text[we].isspace():
                we += 1
            if (ws > 0 and not text[ws - 1].isspace()) or (we < n and not text[we].isspace()):
                return self._run_recognizer(rec, text)
            slices.append((ws, we))
        out = []
        for ws, we in _merge(slices):
            for r in self._run_recognizer(rec, text[ws:we]):
                r.start += ws
                r.end += ws
                out.append(r)
        return out

    def _run_recognizer(self, rec: Any, text: str) -> list[Any]:
        if self._slow_engine is not None and not hasattr(rec, "patterns"):
            return list(self._slow_engine.analyze(text=text, language="en",
                                                  entities=list(rec.supported_entities)))
        try:
            res = rec.analyze(text=text, entities=list(rec.supported_entities), nlp_artifacts=None)
        except TimeoutError:
            raise RedactionError(f"recognizer {rec.name!r} timed out") from None
        for r in res or ():
            if not r.recognition_metadata:
                r.recognition_metadata = {}
            r.recognition_metadata.setdefault("recognizer_name", rec.name)
        return list(res or ())

    def _run_phone(self, ri: int, text: str, windows: Iterable[tuple[int, str, bool]]) -> list[Any]:
        """Presidio's ``PhoneRecognizer.analyze`` on windows (same regions, same leniency)."""
        import phonenumbers

        rec = self.recognizers[ri]
        gate = self._phone_gate(ri)
        out = []
        for offset, window, cacheable in windows:
            spans: tuple[tuple[int, int], ...] | None = None
            key = (ri, window)
            if cacheable:
                spans = self._phone_cache.get(key)
            if spans is None:
                found: list[tuple[int, int]] = []
                if gate is None:
                    for region in rec.supported_regions:
                        for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=rec.leniency):
                            if (match.start, match.end) not in found:
                                found.append((match.start, match.end))
                else:
                    found = gate.spans(window, rec.leniency)
                spans = tuple(found)
                if cacheable:
                    with self._cache_lock:
                        if len(self._phone_cache) >= _PHONE_CACHE_SIZE:
                            self._phone_cache.pop(next(iter(self._phone_cache)))
                        self._phone_cache[key] = spans
            for ms, me in spans:
                out.append(self._Result(
                    entity_type=rec.supported_entities[0], start=offset + ms, end=offset + me,
                    score=rec.SCORE, analysis_explanation=None,  # type: ignore[arg-type]
                    recognition_metadata={"recognizer_name": rec.name,
                                          "recognizer_identifier": rec.id},
                ))
        return out

    def _phone_gate(self, ri: int) -> PhoneGate | None:
        """The region gate of phone recognizer ``ri`` (None: every region runs), built once.
        Only for leniency VALID or stricter: the gate's condition is about valid numbers."""
        if ri not in self._gates:
            rec = self.recognizers[ri]
            gate: PhoneGate | None = None
            if (rec.leniency or 0) >= 1:
                try:
                    gate = shared_gate(tuple(rec.supported_regions))
                except Exception:  # noqa: BLE001 - unknown metadata layout: no gate
                    gate = None
                if gate is not None and not gate.enabled:
                    gate = None
            with self._cache_lock:
                self._gates[ri] = gate
        return self._gates[ri]

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._phone_cache.clear()
            _INERT.clear()
            for gate in self._gates.values():
                if gate is not None:
                    gate.clear_cache()


def _merge(raw: list[tuple[int, int]]) -> list[tuple[int, int]]:
    raw.sort()
    merged: list[tuple[int, int]] = []
    for s, e in raw:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _bytes_to_chars(data: bytes, hits: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Convert UTF-8 byte offsets to character offsets (one pass over the needed offsets)."""
    offsets = sorted({o for _, s, e in hits for o in (s, e) if o >= 0})
    table: dict[int, int] = {}
    prev_b = 0
    prev_c = 0
    for o in offsets:
        prev_c += len(data[prev_b:o].decode("utf-8", "replace"))
        prev_b = o
        table[o] = prev_c
    return [(pid, table.get(s, -1) if s >= 0 else -1, table[e]) for pid, s, e in hits]


def _re2_syntax(p: str) -> str:
    # RE2 spells code points \x{...} like Hyperscan; \p{M}/\p{Pc} are supported by both.
    return p


