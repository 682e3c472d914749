"""Linear-time matching for the injection rules: a one-pass prefilter, then per-rule RE2.

The default prefilter (``hyperscan``) compiles the rule patterns themselves in Hyperscan's
PREFILTER mode: one pass tells which rules *may* match (a superset), and which de-obfuscation
*gates* fire; RE2 (linear time, no backtracking) then confirms only those rules and finds their
spans. Without Hyperscan, each rule's *anchors* (literal strings of which at least one of each
group occurs in every text the rule matches; ``re:`` marks a small regex) go into an RE2 set
(``re2``), or a Hyperscan literal database (``hyperscan-anchors``). All are measured in
``benchmarks/``.

Compiling the Hyperscan database takes seconds, so it is cached in memory and on disk
(``guardrails._cache.cache_dir("detect")``: ``$PERIMETER_CACHE_DIR/detect``, default
``~/.cache/perimeter/detect``; set the variable to "" to disable), and when
it is not cached yet it is compiled in a background thread: until it is ready the engine uses
the RE2 anchor set, which leads to the same hits (RE2 confirms every candidate either way), only
more slowly. :meth:`PrefilterEngine.wait_ready` blocks until the fast path is in place.

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


_SPACED_CHAIN = r"(?:[a-z][ .*_|/\-]{1,3}){5}[a-z]"  # a superset of every "spaced" gate


# ---------------------------------------------------------------- prefilter relaxation
# Hyperscan's PREFILTER mode approximates what it cannot compile exactly in its own way, and its
# cost and precision swing with large bounded repeats such as [^\n]{0,120}. Before compiling, each
# rule pattern is rewritten into a SUPERSET that Hyperscan handles well: every bounded repeat with
# an upper bound above _RELAX_MAX becomes unbounded (X{2,300} -> X{2,}); everything else is kept.
# Any text the rule matches also matches the relaxed pattern, so RE2 (which confirms every
# candidate with the exact pattern) sees the same hits, on fewer false candidates. A pattern that
# uses syntax this rewriter does not know is kept as it is.
_RELAX_MAX = 8
_RELAX_REJECT = re.compile(r"\[:[a-z]+:\]|\{,|\(\?[a-zA-Z]|\\[pPQECzAZ0-9]")


class _Unsupported(Exception):
    pass


def _re_char(c: int) -> str:
    if c > 0x7F:
        raise _Unsupported  # the engines see normalized ASCII text; keep such patterns as they are
    ch = chr(c)
    return ch if ch.isalnum() else f"\\x{c:02x}"


def _relax_items(items: Any, sc: Any, changed: list[int]) -> str:
    out = []
    for op, av in items:
        out.append(_relax_item(op, av, sc, changed))
    return "".join(out)


def _relax_class(items: Any, sc: Any) -> str:
    cats = {sc.CATEGORY_DIGIT: "\\d", sc.CATEGORY_NOT_DIGIT: "\\D", sc.CATEGORY_SPACE: "\\s",
            sc.CATEGORY_NOT_SPACE: "\\S", sc.CATEGORY_WORD: "\\w", sc.CATEGORY_NOT_WORD: "\\W"}
    out = []
    neg = ""
    for op, av in items:
        if op is sc.NEGATE:
            neg = "^"
        elif op is sc.LITERAL:
            out.append(_re_char(av))
        elif op is sc.RANGE:
            out.append(_re_char(av[0]) + "-" + _re_char(av[1]))
        elif op is sc.CATEGORY and av in cats:
            out.append(cats[av])
        else:
            raise _Unsupported
    if not out:
        raise _Unsupported
    return "[" + neg + "".join(out) + "]"


def _relax_item(op: Any, av: Any, sc: Any, changed: list[int]) -> str:
    if op is sc.LITERAL:
        return _re_char(av)
    if op is sc.NOT_LITERAL:
        return "[^" + _re_char(av) + "]"
    if op is sc.ANY:
        return "."
    if op is sc.IN:
        return _relax_class(av, sc)
    if op is sc.AT:
        at = {sc.AT_BEGINNING: "^", sc.AT_END: "$", sc.AT_BOUNDARY: "\\b", sc.AT_NON_BOUNDARY: "\\B"}
        if av not in at:
            raise _Unsupported
        return at[av]
    if op is sc.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            raise _Unsupported
        return "(?:" + _relax_items(sub, sc, changed) + ")"
    if op is sc.BRANCH:
        return "(?:" + "|".join(_relax_items(b, sc, changed) for b in av[1]) + ")"
    if op is sc.MAX_REPEAT or op is sc.MIN_REPEAT:
        lo, hi, sub = av
        body = "(?:" + _relax_items(sub, sc, changed) + ")"
        lazy = "?" if op is sc.MIN_REPEAT else ""
        if hi is sc.MAXREPEAT or hi > _RELAX_MAX:
            if hi is not sc.MAXREPEAT or lo > _RELAX_MAX:
                changed.append(1)  # a bound was dropped
            lo = min(lo, _RELAX_MAX)
            return body + ("*" if lo == 0 else "+" if lo == 1 else f"{{{lo},}}") + lazy
        return body + f"{{{lo},{hi}}}" + lazy
    raise _Unsupported  # back-references, look-arounds, conditionals: not RE2 syntax anyway


def relax_pattern(pattern: str) -> str | None:
    """A superset of ``pattern`` (RE2 syntax, matched case-insensitively) without large bounded
    repeats, for the Hyperscan prefilter; None when the pattern uses syntax that is not handled
    here (the caller then uses the pattern itself)."""
    return _relax(pattern)[0]


def _relax(pattern: str) -> tuple[str | None, bool]:
    """(relax_pattern(pattern), whether a repeat bound was dropped)."""
    if _RELAX_REJECT.search(pattern):
        return None, False
    from re import _constants as sc  # type: ignore[attr-defined]
    from re import _parser as sp  # type: ignore[attr-defined]

    changed: list[int] = []
    try:
        tree = sp.parse(pattern, re.IGNORECASE)
        if tree.state.flags & ~(re.IGNORECASE | re.UNICODE):
            return None, False
        return _relax_items(list(tree), sc, changed), bool(changed)
    except (_Unsupported, re.error, RecursionError, OverflowError, ValueError, TypeError):
        return None, False


class Engine(Protocol):
    name: str

    def scan(self, text: str) -> list[Hit]:
        """Rule hits and gate hits for one normalized text."""
        ...


class _Prefilter(Protocol):
    def match(self, data: bytes) -> list[int]: ...


def _collect(i: int, _a: int, _b: int, _f: int, out: Any) -> None:
    out.append(i)


class _HyperscanPrefilter:
    """Literal anchors (and gates) in one Hyperscan database."""

    def __init__(self, exprs: Sequence[str]) -> None:
        import hyperscan

        self._hs = hyperscan
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
        db.compile(expressions=[e.encode() for e in exprs], ids=list(range(len(exprs))),
                   elements=len(exprs), flags=flags)
        self._db = db
        self._local = threading.local()

    def match(self, data: bytes) -> list[int]:
        s = getattr(self._local, "scratch", None)
        if s is None:
            s = self._local.scratch = self._hs.Scratch(self._db)
        idx: list[int] = []
        self._db.scan(data, match_event_handler=_collect, context=idx, scratch=s)
        return idx


def _cache_dir() -> Path | None:
    from .._cache import cache_dir  # one cache root for Perimeter (sub-directory "detect")

    return cache_dir("detect")


class _PendingDb:
    """A Hyperscan database that is ready, or being compiled in a background thread."""

    __slots__ = ("db", "done", "error")

    def __init__(self) -> None:
        self.db: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()


_HS_CACHE: dict[str, _PendingDb] = {}
_HS_LOCK = threading.Lock()


def _compile_db(exprs: Sequence[str], flags: Sequence[int], path: Path | None) -> Any:
    import hyperscan

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[e.encode() for e in exprs], ids=list(range(len(exprs))),
               elements=len(exprs), flags=list(flags))
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(hyperscan.dumpb(db))
            os.replace(tmp, path)
        except OSError:
            pass  # read-only home: compile each time
    return db


def _hyperscan_db(exprs: Sequence[str], flags: Sequence[int], background: bool = False,
                  fallback: Sequence[str] | None = None) -> _PendingDb:
    """A block-mode Hyperscan database from the in-process cache, the on-disk cache, or a fresh
    compile (in a background thread when ``background``; the returned entry's ``done`` event is
    set when it is ready). The serialized database is keyed by a hash of the patterns, flags and
    Hyperscan version, so a changed rule file recompiles. ``fallback``: expressions compiled
    instead if Hyperscan rejects ``exprs`` (same ids and flags)."""
    import hyperscan

    key = hashlib.sha256(json.dumps([list(exprs), list(flags), getattr(hyperscan, "__version__", "")])
                         .encode()).hexdigest()[:32]
    with _HS_LOCK:
        entry = _HS_CACHE.get(key)
        if entry is not None and not (entry.done.is_set() and entry.db is None):
            return entry  # ready, or being compiled by another detector
        entry = _PendingDb()
        _HS_CACHE[key] = entry
        cdir = _cache_dir()
        path = cdir / f"hs-{key}.db" if cdir is not None else None
        if path is not None and path.is_file():
            try:
                entry.db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
            except Exception:  # noqa: BLE001 - a stale or foreign cache file: recompile
                entry.db = None
        if entry.db is not None:
            entry.done.set()
            return entry

    def work() -> None:
        try:
            try:
                entry.db = _compile_db(exprs, flags, path)
            except Exception:
                if fallback is None or list(fallback) == list(exprs):
                    raise
                entry.db = _compile_db(fallback, flags, path)
        except BaseException as exc:  # noqa: BLE001 - reported to the waiting engine
            entry.error = exc
        finally:
            entry.done.set()

    if background:
        # not a daemon: a short-lived process (the CLI) still finishes the compile at exit and
        # leaves the database in the disk cache for the next run
        threading.Thread(target=work, name="perimeter-hyperscan-compile", daemon=False).start()
    else:
        work()
        if entry.error is not None:
            with _HS_LOCK:
                _HS_CACHE.pop(key, None)
            raise entry.error
    return entry


class _HyperscanRulePrefilter:
    """The rule patterns themselves in Hyperscan's PREFILTER mode (a linear-time superset of
    each pattern: bounded repeats and the like are relaxed), plus the gates. Far fewer false
    candidates than literal anchors, so RE2 runs less often. ``ready`` is False while the
    database is still being compiled in the background."""

    def __init__(self, patterns: Sequence[str], gates: Sequence[str], background: bool = False) -> None:
        import hyperscan

        self._hs = hyperscan
        rule_flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_PREFILTER
        gate_flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
        # each rule as its relaxed superset (see relax_pattern), the pattern itself if that fails
        relaxed = [relax_pattern(p) or p for p in patterns]
        exprs = relaxed + list(gates)
        flags = [rule_flags] * len(patterns) + [gate_flags] * len(gates)
        self._entry = _hyperscan_db(exprs, flags, background, list(patterns) + list(gates))
        self._db: Any = self._entry.db
        self._local = threading.local()

    @property
    def ready(self) -> bool:
        if self._db is None and self._entry.done.is_set():
            self._db = self._entry.db
        return self._db is not None

    @property
    def error(self) -> BaseException | None:
        return self._entry.error if self._entry.done.is_set() else None

    def wait(self, timeout: float | None = None) -> bool:
        self._entry.done.wait(timeout)
        return self.ready

    def match(self, data: bytes) -> list[int]:
        try:
            s = self._local.scratch
        except AttributeError:
            s = self._local.scratch = self._hs.Scratch(self._db)
        idx: list[int] = []
        self._db.scan(data, match_event_handler=_collect, context=idx, scratch=s)
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

    def match(self, data: bytes) -> list[int]:
        return list(self._set.Match(data) or ())


class PrefilterEngine:
    """Prefilter (Hyperscan or an RE2 set) + per-rule RE2 for spans.

    ``background``: compile a Hyperscan database that is not cached yet in a background thread
    and use the RE2 anchor set meanwhile (same hits, slower)."""

    def __init__(self, patterns: Sequence[str], anchors: Sequence[Sequence[Sequence[str]]],
                 prefilter: str = "auto", *, background: bool = True) -> None:
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
        gate_exprs: list[str] = []
        gate_owner: list[int] = []
        # the spaced-out keyword gates have no literal to anchor on and cost Hyperscan as much
        # as all other gates together: one cheap superset (six letters, each followed by 1-3
        # separators) goes into the Hyperscan database, and the exact gates are checked with
        # Python's re only in the rare texts where it fires
        self._spaced_gate = self.gate_names.index("spaced") if "spaced" in gates else -1
        self._spaced_rx = [re.compile(p.encode(), re.IGNORECASE) for p in gates.get("spaced", [])]
        for g, name in enumerate(self.gate_names):
            for p in gates[name]:
                exprs.append(p)
                owner.append(n + g)
                self._lit_rules.append([])
            if name == "spaced":
                gate_exprs.append(_SPACED_CHAIN)
                gate_owner.append(n + g)
            else:
                for p in gates[name]:
                    gate_exprs.append(p)
                    gate_owner.append(n + g)
        self._owner = owner
        self._exprs = exprs
        # direct (rule-pattern) prefilter: expression j < n is rule j, j >= n is gate expression
        # j - n, reported as the hit (n + gate index, -1, -1)
        self._gate_hit: list[Hit] = [(o, -1, -1) for o in gate_owner]
        self.n_rules = n
        self._hs_rules: _HyperscanRulePrefilter | None = None
        self._fast: Any = None  # the Hyperscan rule prefilter's match, once it is ready
        self._warned = False
        self._pf: _Prefilter | None = None
        self._kind = "re2-anchors"
        if prefilter in ("auto", "hyperscan", "hyperscan-anchors"):
            try:
                if prefilter == "hyperscan-anchors":
                    self._pf = _HyperscanPrefilter(exprs)
                    self._kind = "hyperscan-anchors"
                else:
                    # an explicit "hyperscan" compiles now and raises on error; "auto" may compile
                    # in the background and falls back to RE2 if Hyperscan rejects a pattern
                    self._hs_rules = _HyperscanRulePrefilter(
                        patterns, gate_exprs, background and prefilter == "auto")
                    self._kind = "hyperscan"
            except ImportError:
                if prefilter != "auto":
                    raise
        if self._pf is None and (self._hs_rules is None or not self._hs_rules.ready):
            self._pf = _Re2Prefilter(exprs)  # the RE2 path, or the fallback while compiling
        opts = re2.Options()
        opts.case_sensitive = False
        opts.max_mem = 32 << 20
        opts.never_capture = True
        self._rx: list[Any] = [re2.compile(p.encode(), opts) for p in patterns]
        # the RE2 objects of the C extension (one Match call per span, no Python generator)
        self._raw: list[Any] | None = None
        anchor_enum = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
        if anchor_enum is not None and all(hasattr(r, "_regexp") for r in self._rx):
            self._raw = [r._regexp for r in self._rx]
            self._unanchored = anchor_enum
            self._anchor_start = re2._Anchor.ANCHOR_START
            # each rule's relaxed superset (relax_pattern) in RE2, for _find; None when no repeat
            # bound was dropped (then the pattern itself is as cheap to search)
            self._relaxed: list[Any] = []
            for p in patterns:
                rp, changed = _relax(p)
                self._relaxed.append(_re2_or_none(re2, rp, opts) if changed else None)

    @property
    def name(self) -> str:
        if self._kind == "hyperscan" and not self.ready:
            hs = self._hs_rules
            if hs is not None and hs.error is not None:
                return "re2-anchors (hyperscan failed)"
            return "hyperscan (compiling; re2-anchors meanwhile)"
        return self._kind

    @property
    def ready(self) -> bool:
        """True when the configured prefilter is in use (not the RE2 fallback of a Hyperscan
        database that is still compiling)."""
        return self._hs_rules is None or self._hs_rules.ready

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._hs_rules is None or self._hs_rules.wait(timeout)

    def _match(self, data: bytes) -> tuple[list[int], bool]:
        """Prefilter expression ids for ``data``; True when they are direct (rule) ids."""
        fast = self._fast
        if fast is not None:
            return fast(data), True
        hs = self._hs_rules
        if hs is not None:
            if hs.ready:
                self._fast = hs.match
                return hs.match(data), True
            if hs.error is not None and not self._warned:
                import warnings

                self._warned = True
                warnings.warn(f"Hyperscan could not compile the injection rules ({hs.error}); "
                              "using the RE2 anchor prefilter", RuntimeWarning, stacklevel=2)
        assert self._pf is not None
        return self._pf.match(data), False

    def _split(self, ids: list[int], direct: bool, data: bytes) -> tuple[set[int], set[int]]:
        gates: set[int] = set()
        n = self.n_rules
        if direct:
            rules: set[int] = set()
            for j in ids:
                if j < n:
                    rules.add(j)
                else:
                    g = self._gate_hit[j - n][0] - n
                    if g == self._spaced_gate and not any(rx.search(data) for rx in self._spaced_rx):
                        continue  # the superset fired, the exact spaced-keyword gates did not
                    gates.add(g)
            return rules, gates
        seen: set[tuple[int, int]] = set()
        for j in ids:
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

    def candidates(self, text: str) -> tuple[set[int], set[int]]:
        """(candidate rule indexes, gate indexes) for a normalized text."""
        data = text.encode("ascii", "replace")
        ids, direct = self._match(data)
        return self._split(ids, direct, data)

    def _find(self, i: int, data: bytes, pos: int, size: int) -> tuple[int, int]:
        """The leftmost-first match of rule ``i`` in ``data[pos:size]`` (RE2 semantics, the text
        before ``pos`` is context), or (-1, -1).

        An unanchored RE2 search with a pattern that has large bounded repeats (``[^\\n]{3,800}``)
        can blow up RE2's lazy DFA: every position may start a match, and each start carries its
        own repeat counters, so the DFA cache overflows and RE2 falls back to a slow path. The
        relaxed superset (no large bounded repeats) has a small DFA; its leftmost match start
        ``a0`` is a lower bound for the exact match's start (every exact match is a relaxed
        match), and no relaxed match means no exact match. The exact pattern then runs anchored at
        ``a0``, where it explores one start only; if it does not match there, the next relaxed
        start is tried (a few times, then one unanchored search from there). Same spans as an
        unanchored exact search."""
        assert self._raw is not None
        rx = self._raw[i]
        rr = self._relaxed[i]
        if rr is None:
            span: tuple[int, int] = rx.Match(self._unanchored, data, pos, size)[0]
            return span
        for _ in range(_ANCHORED_TRIES):
            a0 = rr.Match(self._unanchored, data, pos, size)[0][0]
            if a0 < 0:
                return (-1, -1)
            span = rx.Match(self._anchor_start, data, a0, size)[0]
            if span[0] >= 0 or a0 >= size:
                return span
            pos = a0 + 1  # the exact match, if any, starts after a0
        span = rx.Match(self._unanchored, data, pos, size)[0]
        return span

    def scan(self, text: str, skip: frozenset[int] | set[int] = frozenset()) -> list[Hit]:
        """Hits in ``text``; rules in ``skip`` are not run (already matched in another view).
        Gate hits come first, in gate order; then rule hits by rule index and position."""
        data = text.encode("ascii", "replace")
        ids, direct = self._match(data)
        if not ids:
            return []  # the common case: nothing in this text can match
        rules, gates = self._split(ids, direct, data)
        n = self.n_rules
        out: list[Hit] = [(n + g, -1, -1) for g in sorted(gates)]
        if skip:
            rules -= skip
        if not rules:
            return out
        count = 0
        raw = self._raw
        size = len(data)
        for i in sorted(rules):
            k = 0
            if raw is not None:
                find = self._find
                pos = 0
                while True:
                    a, b = find(i, data, pos, size)
                    if a < 0:
                        break
                    out.append((i, a, b))
                    count += 1
                    k += 1
                    if count >= MAX_MATCHES:
                        return out
                    if k >= MAX_PER_RULE or pos == size:
                        break
                    pos = b if b != pos else pos + 1
            else:
                for m in self._rx[i].finditer(data):
                    out.append((i, m.start(), m.end()))
                    count += 1
                    k += 1
                    if count >= MAX_MATCHES:
                        return out
                    if k >= MAX_PER_RULE:
                        break
        return out


_ANCHORED_TRIES = 8  # relaxed starts tried with an anchored exact match before a plain search


def _re2_or_none(re2: Any, pattern: str | None, opts: Any) -> Any:
    """The C-level RE2 object for ``pattern``, or None (no pattern, or RE2 rejects it)."""
    if pattern is None:
        return None
    try:
        return re2.compile(pattern.encode(), opts)._regexp
    except Exception:  # noqa: BLE001 - the exact pattern is used alone then
        return None


def make_engine(patterns: Sequence[str], anchors: Sequence[Sequence[Sequence[str]]],
                prefilter: str = "auto", *, background: bool = True) -> PrefilterEngine:
    """``prefilter``: ``auto`` (Hyperscan when installed, else RE2), ``hyperscan`` (the rule
    patterns in Hyperscan prefilter mode), ``hyperscan-anchors`` (Hyperscan on the literal
    anchors) or ``re2`` (an RE2 set on the literal anchors). ``background``: see
    :class:`PrefilterEngine`."""
    return PrefilterEngine(patterns, anchors, prefilter, background=background)
