"""The Redactor: detection (fast path) + context + threshold + operator, and restore."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InputError
from .fastpath import Detection, FastAnalyzer
from .operators import Operator, make_operator
from .vault import TOKEN_RE, MemoryVault, Vault

__all__ = [
    "CONTEXT_FACTOR",
    "DEFAULT_ENTITIES",
    "MAX_TEXT_CHARS",
    "RedactedItem",
    "Redaction",
    "Redactor",
    "category_of",
    "category_of_item_name",
    "shared_redactor",
]

DEFAULT_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "SECRET")

#: Longer texts are refused (InputError) rather than analysed for minutes.
MAX_TEXT_CHARS = 50_000_000

#: Presidio's context enhancement: +0.35 when a context word is near, at least 0.4.
CONTEXT_FACTOR = 0.35
_MIN_WITH_CONTEXT = 0.4
_CONTEXT_BEFORE = 48  # characters looked at before a detection (about five words)
_CONTEXT_AFTER = 16
_CHUNK = 65_536
_OVERLAP = 8_192
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def category_of_item_name(entity: str, subtype: str) -> str:
    return f"secret.{subtype or 'generic'}" if entity == "SECRET" else f"pii.{entity}"


def category_of(d: Detection) -> str:
    """Finding category: ``secret.<subtype>`` for secrets, ``pii.<ENTITY>`` otherwise."""
    if d.entity == "SECRET":
        return f"secret.{d.subtype or 'generic'}"
    return f"pii.{d.entity}"


@dataclass(frozen=True, slots=True)
class RedactedItem:
    """One replaced span (offsets into the input text). Never holds the original value."""

    entity: str
    start: int
    end: int
    score: float
    subtype: str
    replacement: str
    recognizer: str = ""

    @property
    def category(self) -> str:
        return category_of(Detection(self.entity, self.start, self.end, self.score, "", self.subtype))


@dataclass(frozen=True, slots=True)
class Redaction:
    text: str
    items: tuple[RedactedItem, ...]

    @property
    def changed(self) -> bool:
        return bool(self.items)


class Redactor:
    """Finds and rewrites PII and secrets.

    ``entities``: Presidio entity names plus ``SECRET``; ``operator``: replace, mask, hash or
    pseudonym; ``score_threshold``: minimum score after context enhancement; ``ner``: add a
    spaCy NER recognizer (needs a spaCy model); ``vault``: for pseudonyms (a bounded
    :class:`MemoryVault` by default); ``engine``: prefilter, ``auto``/``hyperscan``/``re2``.
    Presidio is loaded on first use. Thread-safe.
    """

    def __init__(
        self,
        entities: Sequence[str] = DEFAULT_ENTITIES,
        *,
        operator: str | Operator = "replace",
        score_threshold: float = 0.5,
        ner: bool = False,
        vault: Vault | None = None,
        hash_key: bytes | None = None,
        engine: str = "auto",
        context: bool = True,
        supplementary: bool = True,
    ) -> None:
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError("score_threshold must be between 0 and 1")
        self.entities = tuple(dict.fromkeys(entities))
        self.vault: Vault = vault if vault is not None else MemoryVault()
        self.operator: Operator = (operator if not isinstance(operator, str)
                                   else make_operator(operator, vault=self.vault, hash_key=hash_key))
        self.score_threshold = score_threshold
        self.ner = ner
        self.engine = engine
        self.context = context
        self.supplementary = supplementary
        self._analyzer: FastAnalyzer | None = None
        self._context_words: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ setup
    @property
    def analyzer(self) -> FastAnalyzer:
        a = self._analyzer
        if a is None:
            with self._lock:
                if self._analyzer is None:
                    self._analyzer = self._build()
                a = self._analyzer
        return a

    def _build(self) -> FastAnalyzer:
        from .presidio_bridge import analyzer_engine, build_recognizers

        recs = build_recognizers(self.entities, ner=self.ner, supplementary=self.supplementary)
        slow = None
        if self.ner:
            ner_recs = [r for r in recs if not hasattr(r, "patterns")
                        and type(r).__name__ != "PhoneRecognizer"]
            slow = analyzer_engine(ner_recs, ner=True) if ner_recs else None
        fa = FastAnalyzer(recs, engine=self.engine, slow_engine=slow)
        for r in recs:
            self._context_words[str(r.name)] = tuple(w.lower() for w in (r.context or ()))
        return fa

    def warm(self) -> Redactor:
        """Load Presidio and compile the prefilter now (otherwise on first use)."""
        _ = self.analyzer
        return self

    # ------------------------------------------------------------------ analysis
    def analyze(self, text: str) -> list[Detection]:
        """Detections at or above the threshold, context-enhanced, overlaps merged."""
        text = _check_text(text)
        raw = self._analyze_raw(text)
        if not raw:
            return []
        if self.context:
            raw = [self._enhance(text, d) for d in raw]
        kept = [d for d in raw if d.score >= self.score_threshold]
        return _resolve(kept)

    def _analyze_raw(self, text: str) -> list[Detection]:
        """Texts longer than ``_CHUNK`` are analysed in chunks that overlap by ``_OVERLAP``
        characters (cut at whitespace), which keeps memory and time linear; overlapping
        detections are merged afterwards. Presidio's duplicate removal is left out here: as
        in Presidio's ``AnalyzerEngine``, context raises scores first (a shape match next to
        "fax" can then outrank a context-free match of the same span), and :func:`_resolve`
        merges what overlaps."""
        if len(text) <= _CHUNK:
            return self.analyzer.analyze(text, dedupe=False)
        out: list[Detection] = []
        start = 0
        n = len(text)
        while start < n:
            end = min(n, start + _CHUNK)
            if end < n:
                ws = text.rfind(" ", end - _OVERLAP // 2, end)
                end = ws if ws > start else end
            for d in self.analyzer.analyze(text[start:end], dedupe=False):
                out.append(replace(d, start=d.start + start, end=d.end + start))
            if end >= n:
                break
            nxt = end - _OVERLAP
            ws = text.find(" ", nxt, end)
            start = ws + 1 if ws >= 0 else nxt
        return out

    def _enhance(self, text: str, d: Detection) -> Detection:
        words = self._context_words.get(d.recognizer)
        if not words or d.score >= 1.0:
            return d
        before = text[max(0, d.start - _CONTEXT_BEFORE):d.start].lower()
        after = text[d.end:d.end + _CONTEXT_AFTER].lower()
        tokens = _WORD.findall(before)[-5:] + _WORD.findall(after)[:2]
        for tok in tokens:
            if any(w in tok for w in words if " " not in w):
                score = min(1.0, max(d.score + CONTEXT_FACTOR, _MIN_WITH_CONTEXT))
                return replace(d, score=score)
        window = before + " " + after
        if any(" " in w and w in window for w in words):
            return replace(d, score=min(1.0, max(d.score + CONTEXT_FACTOR, _MIN_WITH_CONTEXT)))
        return d

    # ------------------------------------------------------------------ rewriting
    def redact(self, text: str, *, scope: str = "default") -> Redaction:
        text = _check_text(text)
        found = self.analyze(text)
        if not found:
            return Redaction(text, ())
        parts: list[str] = []
        items: list[RedactedItem] = []
        pos = 0
        for d in found:
            rep = self.operator.apply(d.entity, text[d.start:d.end], scope)
            parts.append(text[pos:d.start])
            parts.append(rep)
            pos = d.end
            items.append(RedactedItem(d.entity, d.start, d.end, d.score, d.subtype, rep, d.recognizer))
        parts.append(text[pos:])
        return Redaction("".join(parts), tuple(items))

    def restore(self, text: str, *, scope: str, allowed: Sequence[str] | None = None) -> tuple[str, int]:
        """Replace pseudonym tokens of ``scope`` by their values, only for entity types in
        ``allowed`` (None: all). Returns the text and the number of tokens restored."""
        count = 0
        allow = None if allowed is None else set(allowed)

        def sub(m: re.Match[str]) -> str:
            nonlocal count
            if allow is not None and m.group(1) not in allow:
                return m.group(0)
            hit = self.vault.lookup(scope, m.group(0))
            if hit is None or (allow is not None and hit[0] not in allow):
                return m.group(0)
            count += 1
            return hit[1]

        return TOKEN_RE.sub(sub, text), count

    def restore_value(self, value: Any, *, scope: str, allowed: Sequence[str]) -> tuple[Any, int]:
        """``restore`` applied to every string inside a JSON-like value."""
        if isinstance(value, str):
            return self.restore(value, scope=scope, allowed=allowed)
        if isinstance(value, Mapping):
            total = 0
            out: dict[Any, Any] = {}
            for k, v in value.items():
                out[k], n = self.restore_value(v, scope=scope, allowed=allowed)
                total += n
            return out, total
        if isinstance(value, (list, tuple)):
            total = 0
            items = []
            for v in value:
                nv, n = self.restore_value(v, scope=scope, allowed=allowed)
                items.append(nv)
                total += n
            return (type(value)(items) if isinstance(value, tuple) else items), total
        return value, 0

    def stream(self, *, scope: str = "default", lookback: int = 128, max_buffer: int = 8192) -> Any:
        """A :class:`~guardrails.redact.stream.StreamRedactor` bound to this redactor."""
        from .stream import StreamRedactor

        return StreamRedactor(self, scope=scope, lookback=lookback, max_buffer=max_buffer)


def _check_text(text: Any) -> str:
    if isinstance(text, (bytes, bytearray, memoryview)):
        raise InputError("text must be str, not bytes: decode it first (e.g. errors='replace')")
    if not isinstance(text, str):
        raise InputError(f"text must be str, not {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"text of {len(text):,} characters exceeds the limit of {MAX_TEXT_CHARS:,}")
    return text


def _resolve(ds: list[Detection]) -> list[Detection]:
    """Merge overlapping detections into one span (the union, so no part of a value leaks),
    labelled with the highest-scoring member (longer wins ties)."""
    ds = sorted(ds, key=lambda d: (d.start, -d.end))
    out: list[Detection] = []
    group: list[Detection] = []
    end = -1
    for d in ds:
        if group and d.start < end:
            group.append(d)
            end = max(end, d.end)
            continue
        if group:
            out.append(_label(group, end))
        group = [d]
        end = d.end
    if group:
        out.append(_label(group, end))
    return out


def _label(group: list[Detection], end: int) -> Detection:
    best = max(group, key=lambda d: (d.score, d.end - d.start, d.entity == "SECRET"))
    return replace(best, start=group[0].start, end=end)


@functools.lru_cache(maxsize=32)
def shared_redactor(entities: tuple[str, ...], operator: str, score_threshold: float, ner: bool
) -> Redactor:
    """Process-wide cache used by the CLI and evals (the screen keeps its own)."""
    return Redactor(entities, operator=operator, score_threshold=score_threshold, ner=ner)

