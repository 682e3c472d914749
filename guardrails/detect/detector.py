"""The prompt-injection detector: normalization, rule matching, de-obfuscation, scoring.

Usable without a manifest::

    from guardrails.detect import InjectionDetector
    res = InjectionDetector().scan("Ignore previous instructions", kind="tool_result")
    res.score, res.flagged, [f.rule for f in res.findings]

Work is bounded: texts longer than ``WINDOW`` characters are scanned in overlapping windows,
matches per text are capped, decoded payloads are limited in number, size and nesting depth, and
the only backtracking matcher (``regex``, for misspelt phrases) runs in a small window around a
linear-time anchor hit, with a timeout.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import regex  # type: ignore[import-untyped,unused-ignore]

from ..verdict import Action, Finding
from .classifier import TextClassifier
from .decoders import TRIGGERS, triggered_payloads
from .engine import PrefilterEngine, make_engine
from .gibberish import SOUP_RULE, soup_weight, suffix_soup
from .lexical import LexicalModel
from .normalize import (
    MAX_PAYLOAD_CHARS,
    Payload,
    find_payloads,
    leet_view,
    normalize,
    reversed_lines,
    rot13_view,
)
from .rules import Rule, RuleSet, default_rules, match_lazy

__all__ = [
    "MAX_DEPTH",
    "OVERLAP",
    "UNDAMPED_CATEGORIES",
    "UNTRUSTED_KINDS",
    "WINDOW",
    "InjectionDetector",
    "RuleHit",
    "ScanResult",
    "combine",
    "default_detector",
]

UNTRUSTED_KINDS = frozenset({"tool_result", "message"})
WINDOW = 16_384  # characters per scanned window
OVERLAP = 512  # characters shared by consecutive windows (a phrase across the seam is still seen)
MAX_DEPTH = 4  # nested encodings decoded at most this deep
MAX_DECODED = 65_536  # decoded characters per scan, over all payloads and depths
MAX_FUZZY = 8  # fuzzy confirmations per scan
_GATE_DECODERS: dict[str, tuple[str, ...]] = {
    "b64": ("base64",), "hex": ("hex",), "bin": ("binary",), "url": ("url",), "spaced": ("spaced",),
    "blob": ("base64", "hex"),
}
LEXICAL_PMIN = 0.7  # lexical probability below this adds nothing
LEXICAL_CHARS = 65_536  # characters the lexical model reads
MAX_HITS = 512  # rule hits kept per scan (the score saturates long before)
LAZY_SKIP_ABOVE = 0.9  # jailbreak_signals: no lazy cue matching once the other hits score this
# Fuzzy confirmation is bounded by its window, not by the clock: the ``regex`` search runs on at
# most FUZZY_MAX_WINDOW characters around the anchor (the packaged rule's windows are at most ~230),
# at most MAX_FUZZY times per scan. FUZZY_TIMEOUT is only a safety net far above that work (a few
# ms at worst); when it fires the anchor counts as confirmed (fail towards flagging) and the scan
# records the signal ``fuzzy_timeout``, so a result that depended on the clock is visible.
FUZZY_MAX_WINDOW = 256  # characters searched per fuzzy confirmation
FUZZY_TIMEOUT = 0.25  # seconds per fuzzy confirmation (safety net only)


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One rule that matched: span in the ORIGINAL text, how it was seen (``via``: text, leet,
    rot13, reversed, base64, hex, url, binary, spaced, tags, or a chain such as base64>rot13)."""

    rule: str
    category: str
    weight: float
    span: tuple[int, int]
    via: str = "text"


@dataclass(frozen=True, slots=True)
class ScanResult:
    score: float
    threshold: float
    kind: str
    hits: tuple[RuleHit, ...]
    findings: tuple[Finding, ...]
    signals: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def flagged(self) -> bool:
        return self.score >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "threshold": self.threshold,
            "kind": self.kind,
            "flagged": self.flagged,
            "hits": [
                {"rule": h.rule, "category": h.category, "weight": h.weight, "span": list(h.span),
                 "via": h.via}
                for h in self.hits
            ],
            "signals": dict(self.signals),
        }


def combine(hits: Iterable[RuleHit]) -> float:
    """Score in [0, 1] from rule hits.

    Within a category the distinct rules combine with diminishing returns (the k-th strongest
    counts with half the weight of the one before); categories combine by noisy-OR; damping cues
    (negative weights: documentation about attacks) scale the result down, never below half.
    Damping only applies to what documentation quotes (overrides, personas, templates, extraction
    phrasings): an attacker can write security vocabulary too, so it never discounts the
    operational part of an attack (a tool call, an exfiltration sink, hidden text)."""
    by_cat: dict[str, dict[str, float]] = {}
    damp_spans: set[tuple[int, int]] = set()
    for h in hits:
        if h.weight < 0:
            damp_spans.add(h.span)
            continue
        rules = by_cat.setdefault(h.category, {})
        if h.weight > rules.get(h.rule, 0.0):
            rules[h.rule] = h.weight
    miss = 1.0  # damped categories
    kept = 1.0  # operational categories, never damped
    for cat, rules in by_cat.items():
        ws = sorted(rules.values(), reverse=True)[:4]
        cmiss = 1.0
        for k, w in enumerate(ws):
            cmiss *= 1.0 - min(w, 0.999) * (0.5**k)
        if cat in UNDAMPED_CATEGORIES:
            kept *= cmiss
        else:
            miss *= cmiss
    p = 1.0 - miss
    if damp_spans and p > 0:
        p *= max(0.45, 1.0 - 0.15 * min(len(damp_spans), 5))
    p = 1.0 - (1.0 - p) * kept
    return max(0.0, min(1.0, p))


# categories whose evidence documentation-style damping never discounts (see combine)
UNDAMPED_CATEGORIES = frozenset({"tool_hijack", "exfiltration", "hidden"})


def jailbreak_signals(text: str, hits: list[RuleHit], by_id: Mapping[str, Rule], untrusted: bool,
                      signals: dict[str, int]) -> list[RuleHit]:
    """Post-processing of one scan's hits for jailbreak-style attacks: adds the token-soup signal
    (an optimized adversarial suffix, ``gibberish.py``), matches the lazy cue rules that a fired
    co-occurrence rule (``Rule.requires``) asks for, and drops the co-occurrence hits whose
    partner is absent. A requirement is met only by a rule without requirements (no chains)."""
    soup = suffix_soup(text)
    ws = soup_weight(soup.score, untrusted)
    if ws > 0:
        signals["soup_pct"] = round(100 * soup.score)
        hits.append(RuleHit(SOUP_RULE, "obfuscation", ws, soup.span, "text"))
    elif soup.weak:  # a thinner suffix counts only after a harmful request (the GCG shape)
        goals = [(r, span) for r, span in match_lazy(
            text, [r for r in by_id.values() if r.lazy and r.category == "goal"], [soup.span])
            if r.weight_for(untrusted) >= 0.05]  # a specific request, not a faint topical cue
        if goals:
            hits.append(RuleHit(SOUP_RULE, "obfuscation", soup_weight(0, untrusted, True), soup.span,
                                "text"))
            hits.extend(RuleHit(r.id, r.category, round(r.weight_for(untrusted), 4), span, "text")
                        for r, span in goals if r.weight_for(untrusted) > 0)
    gated = [h for h in hits if h.weight > 0 and (r := by_id.get(h.rule)) is not None and r.requires]
    if not gated:
        return hits
    free = [(h.rule, h.category) for h in hits if h.weight > 0
            and ((r := by_id.get(h.rule)) is None or not r.requires)]
    unmet = [by_id[h.rule] for h in gated if not by_id[h.rule].satisfied(free)]
    # lazy cues are looked for only where they can matter: not when the rest already saturates
    gated_ids = {h.rule for h in gated}
    if unmet and combine(h for h in hits if h.rule not in gated_ids) < LAZY_SKIP_ABOVE:
        probe = Rule("", "", 0.0, 0.0, "", requires=tuple({n for r in unmet for n in r.requires}))
        lazy = [r for r in by_id.values() if r.lazy and probe.satisfied([(r.id, r.category)])]
        near = [h.span for h in gated if by_id[h.rule] in unmet]
        for r, span in match_lazy(text, lazy, near):
            w = r.weight_for(untrusted)
            if w > 0:
                hits.append(RuleHit(r.id, r.category, round(w, 4), span, "text"))
                free.append((r.id, r.category))
    drop = {id(h) for h in gated if not by_id[h.rule].satisfied(free)}
    # met only by a faint partner (weight < 0.05: a broad topic cue), a framing that another rule
    # already counted on the same words adds nothing more
    strong = [(h.rule, h.category) for h in hits if h.weight >= 0.05
              and ((r := by_id.get(h.rule)) is None or not r.requires)]
    others = [h for h in hits if h.weight > 0 and id(h) not in drop and h.category == "persona"]
    drop.update(id(h) for h in gated if id(h) not in drop and not by_id[h.rule].satisfied(strong)
                and any(o.span[0] < h.span[1] and h.span[0] < o.span[1] for o in others))
    return [h for h in hits if id(h) not in drop] if drop else hits


class _Budget:
    """Work limits for one scan (all windows, views and decoded payloads together)."""

    __slots__ = ("decoded", "fuzzy", "fuzzy_timeouts", "hits")

    def __init__(self) -> None:
        self.decoded = MAX_DECODED
        self.fuzzy = MAX_FUZZY
        self.fuzzy_timeouts = 0
        self.hits = MAX_HITS


class InjectionDetector:
    """Rule-based prompt-injection detector (thread-safe after construction).

    ``rules``: a RuleSet (default: the packaged rules); ``engine``: ``auto``/``re2``/``hyperscan``.
    ``threshold``: default decision threshold; ``thresholds``: per event kind."""

    def __init__(self, rules: RuleSet | None = None, *, engine: str = "auto",
                 threshold: float = 0.5, thresholds: Mapping[str, float] | None = None,
                 lexical: bool | str | LexicalModel | None = None,
                 classifier: TextClassifier | None = None) -> None:
        self.rules = rules or default_rules()
        self._rules: tuple[Rule, ...] = self.rules.rules
        self.engine: PrefilterEngine = make_engine(
            [r.pattern for r in self._rules], [r.anchors for r in self._rules], engine)
        self.threshold = threshold
        self.thresholds = dict(thresholds or {})
        self._gate_names = self.engine.gate_names
        self._by_id = dict(self.rules.by_id())
        # optional learned lexical tier (off by default: see benchmarks/RESULTS.md, it does not
        # generalize to unseen sources); True = the packaged model, a str = a model file path
        self.lexical: LexicalModel | None = None
        if isinstance(lexical, LexicalModel):
            self.lexical = lexical
        elif lexical:
            self.lexical = LexicalModel.load(None if lexical is True else lexical)
        # optional user-supplied local model (guardrails.detect.classifier); never required
        self.classifier = classifier
        self._warm_stop = threading.Event()  # set to end warm_up early (at interpreter exit)
        # score-independent parts of findings (see _findings); a plain dict: a lost race between
        # two threads only computes the same value twice
        self._finding_parts: dict[tuple[str, str, float, str, str], tuple[str, str, Mapping[str, str]]] = {}
        self._fuzzy: dict[int, Any] = {
            # only whether a match exists is asked, so no BESTMATCH (the same answer, found
            # without searching for the best of all matches)
            i: regex.compile(r.fuzzy, regex.IGNORECASE)
            for i, r in enumerate(self._rules) if r.fuzzy
        }

    # ------------------------------------------------------------------ public API
    def threshold_for(self, kind: str) -> float:
        return self.thresholds.get(kind, self.threshold)

    def scan(self, text: str, *, kind: str = "input", untrusted: bool | None = None,
             threshold: float | None = None, action: Action = Action.BLOCK,
             screen: str = "injection") -> ScanResult:
        """Screen ``text`` as it would reach an agent as event ``kind``."""
        kind = str(kind)
        if untrusted is None:
            untrusted = kind in UNTRUSTED_KINDS
        thr = self.threshold_for(kind) if threshold is None else threshold
        signals: dict[str, int] = {}
        budget = _Budget()
        hits = self._scan_windows(text, untrusted, signals, budget)
        hits = jailbreak_signals(text, hits, self._by_id, untrusted, signals)
        if not hits and self.lexical is None and self.classifier is None:
            return ScanResult(0.0, thr, kind, (), (), MappingProxyType(signals))
        if self.lexical is not None and text:
            p = self.lexical.predict(normalize(text[:LEXICAL_CHARS]).text)
            signals["lexical_pct"] = round(100 * p)
            w = max(0.0, (p - LEXICAL_PMIN) / (1.0 - LEXICAL_PMIN)) * 0.95
            if w > 0:
                hits.append(RuleHit("lexical.model", "lexical", round(w, 4),
                                    (0, min(len(text), LEXICAL_CHARS)), "text"))
        if self.classifier is not None and text:
            pc = float(self.classifier.predict(text[:LEXICAL_CHARS]))
            signals["classifier_pct"] = round(100 * pc)
            wc = max(0.0, (pc - 0.5) / 0.5) * 0.95
            if wc > 0:
                hits.append(RuleHit("classifier.model", "classifier", round(wc, 4),
                                    (0, min(len(text), LEXICAL_CHARS)), "text"))
        score = combine(hits)
        hits_t = tuple(sorted(hits, key=_hit_order))
        findings: tuple[Finding, ...] = ()
        if score >= thr:
            findings = self._findings(hits_t, score, kind, action, screen)
        return ScanResult(score, thr, kind, hits_t, findings, MappingProxyType(signals))

    def score(self, text: str, *, kind: str = "input") -> float:
        return self.scan(text, kind=kind).score

    def warm_up(self, timeout: float | None = 120.0) -> float:
        """Scan every rule's examples once (plain and base64-encoded, as input and as tool result)
        after the prefilter is ready, so that RE2 has built its matching states before real
        traffic arrives: a cold first scan costs several times a warm one. Returns the seconds
        spent; never raises (a failure only means the first real scans are slower)."""
        import base64
        import time

        start = time.perf_counter()
        try:
            self.engine.wait_ready(timeout)
            for rule in self._rules:
                if self._warm_stop.is_set():
                    break
                for ex in rule.examples:
                    for kind in ("input", "tool_result"):
                        self.scan(ex, kind=kind)
                    self.scan(base64.b64encode(ex.encode("utf-8", "replace")).decode("ascii"),
                              kind="tool_result")
        except Exception:  # noqa: BLE001,S110 - warming is an optimization only
            pass
        return time.perf_counter() - start

    # ------------------------------------------------------------------ internals
    def _findings(self, hits: tuple[RuleHit, ...], score: float, kind: str, action: Action,
                  screen: str) -> tuple[Finding, ...]:
        """The findings of a flagged scan: one per positive hit, as :meth:`_finding` builds them.
        The parts that do not depend on the score (category, the reason up to the score, the
        details mapping) are cached per (rule, category, weight, via, kind): a flagged text has
        several hits, and the same few combinations recur from scan to scan."""
        cache = self._finding_parts
        tail = f"{score:.2f})"
        out = []
        for h in hits:
            if h.weight <= 0:
                continue
            key = (h.rule, h.category, h.weight, h.via, kind)
            parts = cache.get(key)
            if parts is None:
                if len(cache) >= _FINDING_CACHE_MAX:
                    cache.clear()  # bounded; the keys come from the rule set, so rarely hit
                parts = cache[key] = self._finding_head(h, kind)
            category, head, details = parts
            out.append(Finding(screen=screen, category=category, action=action, score=score,
                               span=h.span, rule=h.rule, reason=head + tail, details=details))
        return tuple(out)

    def _finding_head(self, h: RuleHit, kind: str) -> tuple[str, str, Mapping[str, str]]:
        rule = self._by_id.get(h.rule)
        desc = rule.description if rule else _EXTRA_DESCRIPTIONS.get(h.rule, h.rule)
        via = "" if h.via == "text" else f", seen via {h.via}"
        return (f"injection.{h.category}", f"{desc} (rule {h.rule}, weight {h.weight:.2f}{via}; score ",
                MappingProxyType({"safe.weight": f"{h.weight:.2f}", "safe.via": h.via, "safe.kind": kind}))

    def _scan_windows(self, text: str, untrusted: bool, signals: dict[str, int],
                      budget: _Budget) -> list[RuleHit]:
        hits = self._scan_all(text, untrusted, signals, budget)
        if budget.fuzzy_timeouts:
            signals["fuzzy_timeout"] = budget.fuzzy_timeouts
        return hits

    def _scan_all(self, text: str, untrusted: bool, signals: dict[str, int],
                  budget: _Budget) -> list[RuleHit]:
        if len(text) <= WINDOW:
            return self._scan_text(text, untrusted, signals, budget, 0, "text")
        seen: dict[tuple[str, tuple[int, int]], RuleHit] = {}
        step = WINDOW - OVERLAP
        for off in range(0, len(text), step):
            piece = text[off: off + WINDOW]
            for h in self._scan_text(piece, untrusted, signals, budget, 0, "text"):
                span = (h.span[0] + off, h.span[1] + off)
                key = (h.rule, span)
                if key not in seen:
                    seen[key] = RuleHit(h.rule, h.category, h.weight, span, h.via)
            if off + WINDOW >= len(text):
                break
        signals["windows"] = (len(text) + step - 1) // step
        return list(seen.values())

    def _scan_text(self, text: str, untrusted: bool, signals: dict[str, int], budget: _Budget,
                   depth: int, via: str) -> list[RuleHit]:
        norm = normalize(text)
        nt = norm.text
        first = self.engine.scan(nt)
        # blob: long runs without spaces, maybe an encoded payload (decoders run on it)
        blob = len(nt) >= 48 and nt.count(" ") + nt.count("\n") < len(nt) // 40
        if not first and not norm.invisible and not blob:
            # fast path: no rule can match, no gate fired, nothing hidden or encoded
            if norm.confusable >= 3:
                signals["confusable"] = signals.get("confusable", 0) + norm.confusable
            return []
        out: dict[tuple[str, tuple[int, int]], RuleHit] = {}
        gates: set[str] = set()

        cats: set[str] = set()  # categories with a positive exact hit (fuzzy adds nothing there)

        def add(rule: Rule, span: tuple[int, int], how: str) -> None:
            w = rule.weight_for(untrusted)
            key = (rule.id, span)
            if w == 0 or key in out or budget.hits <= 0:
                return
            budget.hits -= 1
            out[key] = RuleHit(rule.id, rule.category, round(w, 4), span, how)
            if w > 0 and not rule.fuzzy:
                cats.add(rule.category)

        def run(view: str, mapper: Callable[[int, int], tuple[int, int]] | None, how: str,
                skip: set[int] | frozenset[int] = frozenset(),
                raw: list[tuple[int, int, int]] | None = None) -> set[int]:
            matched: set[int] = set()
            fuzzy: list[tuple[int, int, int]] = []
            n_rules = len(self._rules)
            for i, a, b in (self.engine.scan(view, skip) if raw is None else raw):
                if a < 0:
                    gates.add(self._gate_names[i - n_rules])
                    continue
                rule = self._rules[i]
                matched.add(i)
                if rule.fuzzy:
                    fuzzy.append((i, a, b))
                    continue
                add(rule, norm.to_orig(*(mapper(a, b) if mapper else (a, b))), how)
            for i, a, b in fuzzy:  # after the exact rules, so that they take precedence
                rule = self._rules[i]
                if rule.category in cats or budget.fuzzy <= 0:
                    continue
                if self._confirm_fuzzy(i, view, a, b, budget):
                    add(rule, norm.to_orig(*(mapper(a, b) if mapper else (a, b))), how)
            return matched

        matched = run(nt, None, via, raw=first)
        boost = 1.1 if via != "text" else 1.0
        if boost != 1.0:
            for k, h in list(out.items()):
                if h.weight > 0:
                    out[k] = RuleHit(h.rule, h.category, round(min(0.99, h.weight * boost), 4),
                                     h.span, h.via)
        if "leet" in gates:
            lv = leet_view(nt)
            if lv is not None:
                run(lv, None, _chain(via, "leet"), matched)
        triggers = {self._rules[i].decode for i in matched if self._rules[i].decode}
        if "rot13" in triggers:
            run(rot13_view(nt), None, _chain(via, "rot13"))
        if "reverse" in triggers:
            rv, back = reversed_lines(nt)
            run(rv, back, _chain(via, "reversed"))
        # hidden-text signals
        if norm.invisible:
            signals["invisible"] = signals.get("invisible", 0) + norm.invisible
            w = (0.1 if norm.invisible < 8 else 0.2) * (1.5 if untrusted else 1.0)
            out[("hidden.invisible_chars", (0, len(text)))] = RuleHit(
                "hidden.invisible_chars", "hidden", w, (0, len(text)), via)
        if norm.confusable >= 3:
            signals["confusable"] = signals.get("confusable", 0) + norm.confusable
        # decoded payloads
        if depth >= MAX_DEPTH:
            if (blob or gates & {"b64", "hex", "bin", "url"}) and find_payloads(
                    text, norm, budget=1, encodings={"base64", "hex", "binary", "url"}):
                # still encoded after MAX_DEPTH layers: deep nesting is itself a signal
                out[("obfuscation.deep_nesting", (0, len(text)))] = RuleHit(
                    "obfuscation.deep_nesting", "obfuscation", 0.5 if untrusted else 0.4,
                    (0, len(text)), via)
        elif budget.decoded > 0:
            if blob:
                gates.add("blob")
            payload_gates = gates & {"b64", "hex", "bin", "url", "spaced", "blob"}
            encodings = {e for g in payload_gates for e in _GATE_DECODERS[g]}
            payloads = find_payloads(text, norm, encodings=encodings) if payload_gates else []
            if norm.tag_text and norm.tag_span is not None:
                payloads.append(Payload("tags", norm.tag_span, norm.tag_text))
            if triggers & TRIGGERS:  # Morse, Caesar, Pig Latin, non-Latin gloss (decoders.py)
                payloads.extend(triggered_payloads(text, triggers))
            for p in payloads:
                if budget.decoded <= 0:
                    break
                ptext = p.text[: min(MAX_PAYLOAD_CHARS, budget.decoded)]
                budget.decoded -= len(ptext)
                signals["decoded"] = signals.get("decoded", 0) + 1
                inner = self._scan_text(ptext, untrusted, signals, budget, depth + 1,
                                        _chain(via, p.encoding))
                positive = [h for h in inner if h.weight > 0 and h.category != "hidden"]
                for h in inner:
                    key = (h.rule, p.span)
                    if key not in out:
                        out[key] = RuleHit(h.rule, h.category, h.weight, p.span, h.via)
                if positive:
                    key = ("obfuscation.encoded_payload", p.span)
                    out[key] = RuleHit("obfuscation.encoded_payload", "obfuscation",
                                       0.3 if untrusted else 0.25, p.span, _chain(via, p.encoding))
        return list(out.values())

    def _confirm_fuzzy(self, i: int, view: str, a: int, b: int, budget: _Budget) -> bool:
        rule = self._rules[i]
        budget.fuzzy -= 1
        lo, hi = fuzzy_window(a, b, rule.window, len(view))
        try:
            m = self._fuzzy[i].search(view, lo, hi, timeout=FUZZY_TIMEOUT)
        except TimeoutError:
            budget.fuzzy_timeouts += 1
            return True  # safety net only: keep the anchor (fail towards flagging), signalled
        return m is not None


_EXTRA_DESCRIPTIONS = {
    "lexical.model": "the learned lexical model finds the wording typical of injections",
    "classifier.model": "the configured local classifier rates the text as an injection",
    "hidden.invisible_chars": "invisible / zero-width / bidi / tag characters in the text",
    "obfuscation.encoded_payload": "an encoded payload (base64, hex, URL, ...) carries instructions",
    "obfuscation.deep_nesting": "a payload is still encoded after several decoding layers",
    SOUP_RULE: "a request followed by a run of token gibberish (optimized adversarial suffix)",
}


def fuzzy_window(a: int, b: int, window: int, length: int) -> tuple[int, int]:
    """The characters a fuzzy confirmation searches: ``window`` on each side of the anchor match
    ``[a, b)``, at most FUZZY_MAX_WINDOW in all (the anchor's start and the left margin first)."""
    lo = max(0, a - min(window, FUZZY_MAX_WINDOW // 2))
    return lo, min(length, b + window, lo + FUZZY_MAX_WINDOW)


_FINDING_CACHE_MAX = 4096


def _hit_order(h: RuleHit) -> tuple[tuple[int, int], str]:
    return (h.span, h.rule)


def _chain(via: str, step: str) -> str:
    return step if via == "text" else f"{via}>{step}"


_default: InjectionDetector | None = None
_lock = threading.Lock()


def _stop_warm_up(det: InjectionDetector, thread: threading.Thread) -> None:
    det._warm_stop.set()
    thread.join(timeout=5.0)


def default_detector() -> InjectionDetector:
    """A shared detector with the packaged rules (built on first use, then warmed up in a
    background thread: see :meth:`InjectionDetector.warm_up`)."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                det = InjectionDetector()
                t = threading.Thread(target=det.warm_up, name="perimeter-detect-warm-up", daemon=True)
                t.start()
                # a daemon thread still inside RE2/Hyperscan when the interpreter finalizes aborts
                # the process: stop the warm-up (between two scans) and wait for it at exit
                atexit.register(_stop_warm_up, det, t)
                _default = det
    return _default
