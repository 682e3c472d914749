"""Linear-time matching for the injection rules: a one-pass prefilter, then per-rule RE2.

The default prefilter (``hyperscan``) compiles the rule patterns themselves in Hyperscan's
PREFILTER mode: one pass tells which rules *may* match (a superset), and which de-obfuscation
*gates* fire; RE2 (linear time, no backtracking) then confirms only those rules and finds their
spans. Without Hyperscan, each rule's *anchors* (literal strings of which at least one of each
group occurs in every text the rule matches; ``re:`` marks a small regex) go into an RE2 set
(``re2``), or a Hyperscan literal database (``hyperscan-anchors``). All are measured in
``benchmarks/``. The compiled Hyperscan database is cached in memory and on disk
(``$PERIMETER_CACHE_DIR``, default ``~/.cache/perimeter``; set it to "" to disable).

Inputs are the normalized texts of :mod:`.normalize`, always ASCII, so byte offsets equal
character offsets.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["MAX_MATCHES", "MAX_PER_RULE", "Engine", "Hit", "PrefilterEngine", "gate_patterns", "make_engine"]

Hit = tuple[int, int, int]  # (rule index, start, end); gates: (n_rules + gate index, -1, -1)

MAX_MATCHES = 256  # rule matches per scanned text; further matches are dropped
MAX_PER_RULE = 8  # spans reported per rule and scanned text

_KEYWORDS = ("ignore", "instructions", "previous", "disregard", "system prompt", "password",
             "you are now", "jailbreak", "forget", "reveal", "assistant")


def _b64_fragments(word: str) -> list[str]:
    """Base64 text that occurs whenever ``word`` is base64-encoded, at each of the 3 alignments."""
    out = []
    w = word.encode()
    for k in range(3):
        e1 = base64.b64encode(b"\x00" * k + w).decode()
        e2 = base64.b64encode(b"\xff" * k + w).decode()
        full = len(e1) - (4 if (k + len(w)) % 3 else 0)
        same = "".join(a if a == b else "\x00" for a, b in zip(e1[:full], e2[:full], strict=True))
        best = max(same.split("\x00"), key=len)
        if len(best) >= 6:
            out.append(best)
    return out


def gate_patterns() -> dict[str, list[str]]:
    """Cheap patterns that decide whether the decoders and extra views run (Hyperscan/RE2
    syntax, matched case-insensitively on the normalized text)."""
    b64: list[str] = []
    hexp: list[str] = []
    spaced: list[str] = []
    sep = r"[ .*_|/\-]{1,3}"
    for kw0 in _KEYWORDS:
        for kw in {kw0, kw0.capitalize(), kw0.upper()}:
            frags = _b64_fragments(kw)
            b64 += [re.escape(f.lower()) for f in frags]
            for f in frags:  # base64 of base64 (two layers)
                b64 += [re.escape(g.lower()) for g in _b64_fragments(f)]
            hx = [f"{ord(c):02x}" for c in kw[:6]]
            hexp.append("(?:0x|\\\\x)?" + "[ :,]?(?:0x|\\\\x)?".join(hx))
        kw = kw0
        word = kw.replace(" ", "")[:6]
        spaced.append(sep.join(re.escape(c) for c in word))
    b64 = sorted(set(b64))
    hexp = sorted(set(hexp))
    return {
        "leet": [r"[a-z][0134578@$!|+]{1,3}[a-z]"],
        "b64": b64,
        "hex": hexp,
        "bin": [r"[01]{8} ?[01]{8} ?[01]{8}"],
        "url": [r"%[0-9a-f]{2}[^\s%]{0,40}%[0-9a-f]{2}"],
        "spaced": spaced,
    }


class Engine(Protocol):
    name: str

    def scan(self, text: str) -> list[Hit]:
        """Rule hits and gate hits for one normalized text."""
        ...


class _Prefilter(Protocol):
    def match(self, text: str) -> list[int]: ...


class _HyperscanPrefilter:
    def __init__(self, exprs: Sequence[str]) -> None:
        import hyperscan

        self._hs = hyperscan
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
        db.compile(expressions=[e.encode() for e in exprs], ids=list(range(len(exprs))),
                   elements=len(exprs), flags=flags)
        self._db = db
        self._local = threading.local()

    def match(self, text: str) -> list[int]:
        s = getattr(self._local, "scratch", None)
        if s is None:
            s = self._local.scratch = self._hs.Scratch(self._db)
        idx: list[int] = []
        self._db.scan(text.encode("ascii", "replace"), match_event_handler=lambda i, a, b, f, c:
                      idx.append(i), scratch=s)
        return idx


_HS_CACHE: dict[str, Any] = {}
_HS_LOCK = threading.Lock()


def _cache_dir() -> Path | None:
    d = os.environ.get("PERIMETER_CACHE_DIR")
    if d == "":
        return None
    base = Path(d) if d else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "perimeter"
    return base


def _hyperscan_db(exprs: Sequence[str], flags: Sequence[int]) -> Any:
    """Compile (or load from the in-process / on-disk cache) a block-mode Hyperscan database.
    Compiling the rule set takes seconds; the serialized database is keyed by a hash of the
    patterns, flags and Hyperscan version, so a changed rule file recompiles."""
    import hyperscan

    key = hashlib.sha256(json.dumps([list(exprs), list(flags), getattr(hyperscan, "__version__", "")])
                         .encode()).hexdigest()[:32]
    with _HS_LOCK:
        db = _HS_CACHE.get(key)
        if db is not None:
            return db
        cdir = _cache_dir()
        path = cdir / f"hs-{key}.db" if cdir is not None else None
        if path is not None and path.is_file():
            try:
                db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
            except Exception:  # noqa: BLE001 - a stale or foreign cache file: recompile
                db = None
        if db is None:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=[e.encode() for e in exprs], ids=list(range(len(exprs))),
                       elements=len(exprs), flags=list(flags))
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".{os.getpid()}.tmp")
                    tmp.write_bytes(hyperscan.dumpb(db))
                    os.replace(tmp, path)
                except OSError:
                    pass  # read-only home: compile each time
        _HS_CACHE[key] = db
        return db


class _HyperscanRulePrefilter:
    """The rule patterns themselves in Hyperscan's PREFILTER mode (a linear-time superset of
    each pattern: bounded repeats and the like are relaxed), plus the gates. Far fewer false
    candidates than literal anchors, so RE2 runs less often."""

    def __init__(self, patterns: Sequence[str], gates: Sequence[str]) -> None:
        import hyperscan

        self._hs = hyperscan
        rule_flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_PREFILTER
        gate_flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
        exprs = list(patterns) + list(gates)
        flags = [rule_flags] * len(patterns) + [gate_flags] * len(gates)
        self._db = _hyperscan_db(exprs, flags)
        self._local = threading.local()

    def match(self, text: str) -> list[int]:
        s = getattr(self._local, "scratch", None)
        if s is None:
            s = self._local.scratch = self._hs.Scratch(self._db)
        idx: list[int] = []
        self._db.scan(text.encode("ascii", "replace"), match_event_handler=lambda i, a, b, f, c:
                      idx.append(i), scratch=s)
        return idx


class _Re2Prefilter:
    def __init__(self, exprs: Sequence[str]) -> None:
        import re2

        opts = re2.Options()
        opts.case_sensitive = False
        opts.max_mem = 64 << 20
        self._set = re2.Set.SearchSet(opts)
        for e in exprs:
            self._set.Add(e)
        self._set.Compile()

    def match(self, text: str) -> list[int]:
        return list(self._set.Match(text) or ())


class PrefilterEngine:
    """Anchor prefilter (Hyperscan or RE2 set) + per-rule RE2 for spans."""

    def __init__(self, patterns: Sequence[str], anchors: Sequence[Sequence[Sequence[str]]],
                 prefilter: str = "auto") -> None:
        import re2

        gates = gate_patterns()
        self.gate_names = tuple(gates)
        exprs: list[str] = []
        owner: list[int] = []  # expression -> rule index, or n + gate index
        n = len(patterns)
        lit_index: dict[str, int] = {}
        self._lit_rules: list[list[tuple[int, int]]] = []  # literal -> [(rule, group)]
        self._groups = [len(g) for g in anchors]
        for i, groups in enumerate(anchors):
            for gi, group in enumerate(groups):
                for a in group:
                    j = lit_index.get(a)
                    if j is None:
                        j = lit_index[a] = len(exprs)
                        exprs.append(a[3:] if a.startswith("re:") else re.escape(a).replace("\\ ", " "))
                        owner.append(-1)
                        self._lit_rules.append([])
                    self._lit_rules[j].append((i, gi))
        for g, name in enumerate(self.gate_names):
            for p in gates[name]:
                exprs.append(p)
                owner.append(n + g)
                self._lit_rules.append([])
        self._owner = owner
        self.n_rules = n
        self.name = "re2-anchors"
        self._direct = False  # True: the prefilter reports rule indexes (and n + gate index)
        pf: _Prefilter | None = None
        if prefilter in ("auto", "hyperscan", "hyperscan-anchors"):
            try:
                if prefilter == "hyperscan-anchors":
                    pf = _HyperscanPrefilter(exprs)
                    self.name = "hyperscan-anchors"
                else:
                    gate_exprs: list[str] = []
                    self._gate_owner: list[int] = []
                    for g, name in enumerate(self.gate_names):
                        for p in gates[name]:
                            gate_exprs.append(p)
                            self._gate_owner.append(g)
                    pf = _HyperscanRulePrefilter(patterns, gate_exprs)
                    self.name = "hyperscan"
                    self._direct = True
            except ImportError:
                if prefilter != "auto":
                    raise
        self._pf: _Prefilter = pf if pf is not None else _Re2Prefilter(exprs)
        opts = re2.Options()
        opts.case_sensitive = False
        opts.max_mem = 32 << 20
        opts.never_capture = True
        self._rx: list[Any] = [re2.compile(p.encode(), opts) for p in patterns]

    def candidates(self, text: str) -> tuple[set[int], set[int]]:
        """(candidate rule indexes, gate indexes) for a normalized text."""
        gates: set[int] = set()
        n = self.n_rules
        if self._direct:
            rules: set[int] = set()
            for j in self._pf.match(text):
                if j < n:
                    rules.add(j)
                else:
                    gates.add(self._gate_owner[j - n])
            return rules, gates
        seen: set[tuple[int, int]] = set()
        for j in self._pf.match(text):
            o = self._owner[j]
            if o < 0:
                seen.update(self._lit_rules[j])
            else:
                gates.add(o - n)
        groups = self._groups
        found: dict[int, int] = {}
        for i, _g in seen:
            found[i] = found.get(i, 0) + 1
        return {i for i, k in found.items() if k >= groups[i]}, gates

    def scan(self, text: str, skip: frozenset[int] | set[int] = frozenset()) -> list[Hit]:
        """Hits in ``text``; rules in ``skip`` are not run (already matched in another view)."""
        rules, gates = self.candidates(text)
        rules -= skip
        out: list[Hit] = [(self.n_rules + g, -1, -1) for g in sorted(gates)]
        if not rules:
            return out
        count = 0
        data = text.encode("ascii", "replace")
        for i in sorted(rules):
            rx = self._rx[i]
            if rx.search(data) is None:
                continue
            for k, m in enumerate(rx.finditer(data)):
                out.append((i, m.start(), m.end()))
                count += 1
                if count >= MAX_MATCHES:
                    return out
                if k + 1 >= MAX_PER_RULE:
                    break
        return out


def make_engine(patterns: Sequence[str], anchors: Sequence[Sequence[Sequence[str]]],
                prefilter: str = "auto") -> PrefilterEngine:
    """``prefilter``: ``auto`` (Hyperscan when installed, else RE2), ``hyperscan`` (the rule
    patterns in Hyperscan prefilter mode), ``hyperscan-anchors`` (Hyperscan on the literal
    anchors) or ``re2`` (an RE2 set on the literal anchors)."""
    return PrefilterEngine(patterns, anchors, prefilter)
