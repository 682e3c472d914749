"""Loading the injection rule set (versioned YAML data in ``guardrails/rules/``)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

__all__ = ["CATEGORIES", "LAZY_CHARS", "LAZY_WINDOW", "PACKAGED", "Rule", "RuleSet", "default_rules", "load_rules",
           "match_lazy"]

CATEGORIES = frozenset({
    "override", "template", "impersonation", "persona", "extraction", "tool_hijack",
    "exfiltration", "hidden", "obfuscation", "trigger", "meta",
    "jailbreak",  # wrappers around a request: role-play, fiction, persuasion, forced compliance
    "goal",  # a request for harmful content: never an injection alone, only next to a wrapper
})
# the packaged rule files, loaded in this order (a later file may use the macros of the files before it)
PACKAGED = ("injection.yaml", "jailbreak.yaml")
_MACRO = re.compile(r"\{([a-z_][a-z_0-9]*)\}")
LAZY_CHARS = 8_192  # characters of a text that lazy rules read, at most
LAZY_WINDOW = 600  # ... around the hits that asked for them
_LEETISH = re.compile(r"[a-z][0-9@$|][a-z0-9]")


@dataclass(frozen=True, slots=True)
class Rule:
    """One detection rule. ``pattern`` is already macro-expanded; for fuzzy rules it is the
    anchor that the linear-time engine matches, and ``fuzzy`` runs in a window around it."""

    id: str
    category: str
    weight: float
    weight_untrusted: float
    pattern: str
    description: str = ""
    examples: tuple[str, ...] = ()
    decode: str = ""
    fuzzy: str = ""
    window: int = 80
    anchors: tuple[tuple[str, ...], ...] = ()  # groups: one literal of EACH group must occur
    # co-occurrence: the hit counts only if another positive hit in the same text has one of these
    # rule ids, categories, or id prefixes (ending in '.'); see ``Rule.satisfied``
    requires: tuple[str, ...] = ()
    # lazy: not in the prefilter; matched only when a rule that requires it fired (for cue rules
    # whose vocabulary is too broad to be a cheap candidate on every text)
    lazy: bool = False

    def weight_for(self, untrusted: bool) -> float:
        return self.weight_untrusted if untrusted else self.weight

    def satisfied(self, others: Sequence[tuple[str, str]]) -> bool:
        """Whether ``requires`` is met by ``others``: (rule id, category) of the OTHER positive
        hits in the same text. A rule without requirements is always satisfied."""
        if not self.requires:
            return True
        for rid, cat in others:
            if rid == self.id:
                continue
            for need in self.requires:
                if need == rid or need == cat or (need.endswith(".") and rid.startswith(need)):
                    return True
        return False


@dataclass(frozen=True, slots=True)
class RuleSet:
    name: str
    version: int
    rules: tuple[Rule, ...]  # the rules the scanning engine runs on every text
    lazy: tuple[Rule, ...] = ()  # matched only on demand (``match_lazy``)

    def by_id(self) -> Mapping[str, Rule]:
        return {r.id: r for r in (*self.rules, *self.lazy)}


def _expand(pattern: str, macros: Mapping[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in macros:
            return m.group(0)  # a regex repeat such as {0,4} is not a macro
        return macros[name]

    out = pattern
    for _ in range(3):  # macros may use macros
        new = _MACRO.sub(sub, out)
        if new == out:
            break
        out = new
    return out


def _rule(raw: Mapping[str, Any], macros: Mapping[str, str], src: str) -> Rule:
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        raise ConfigError(f"{src}: every rule needs an id")
    cat = raw.get("category")
    if cat not in CATEGORIES:
        raise ConfigError(f"{src}: rule {rid}: unknown category {cat!r}")
    pat = raw.get("anchor") if raw.get("fuzzy") else raw.get("pattern")
    if not isinstance(pat, str) or not pat:
        raise ConfigError(f"{src}: rule {rid}: needs a pattern (or anchor + fuzzy)")
    w = float(raw.get("weight", 0.5))
    wu = float(raw.get("weight_untrusted", w))
    if not (-1.0 <= w <= 1.0 and -1.0 <= wu <= 1.0):
        raise ConfigError(f"{src}: rule {rid}: weights must lie in [-1, 1]")
    ex = raw.get("examples", ()) or ()
    anchors = raw.get("anchors")
    if isinstance(anchors, list) and anchors and all(isinstance(a, str) for a in anchors):
        anchors = [anchors]
    req = raw.get("requires", ()) or ()
    if isinstance(req, str):
        req = [req]
    if not isinstance(req, (list, tuple)) or not all(isinstance(x, str) and x for x in req):
        raise ConfigError(f"{src}: rule {rid}: 'requires' must be a list of rule ids, categories or "
                          "id prefixes ending in '.'")
    lazy = bool(raw.get("lazy", False))
    if lazy and anchors is None:
        anchors = [[pat[:1] or "?"]]  # a lazy rule is never a prefilter candidate: unused
    if not isinstance(anchors, list) or not anchors or not all(
        isinstance(g, list) and g and all(isinstance(a, str) and a for a in g) for g in anchors
    ):
        raise ConfigError(f"{src}: rule {rid}: 'anchors' must be a non-empty list of literal strings "
                          "(or a list of such lists: one literal of each must occur)")
    return Rule(
        id=rid, category=str(cat), weight=w, weight_untrusted=wu,
        pattern=_expand(pat, macros, rid), description=str(raw.get("description", "")),
        examples=tuple(str(e) for e in ex), decode=str(raw.get("decode", "")),
        fuzzy=_expand(str(raw.get("fuzzy", "")), macros, rid), window=int(raw.get("window", 80)),
        anchors=tuple(tuple(a.lower() for a in g) for g in anchors),
        requires=tuple(str(x) for x in req), lazy=lazy,
    )


def load_rules(paths: Sequence[str | Path] | None = None) -> RuleSet:
    """Load rule files (default: the packaged ``PACKAGED`` files, in order). Later files add rules
    and replace rules with the same id."""
    texts: list[tuple[str, str]] = []
    if paths is None:
        pkg = resources.files("guardrails.rules")
        texts.extend((n, pkg.joinpath(n).read_text("utf-8")) for n in PACKAGED
                     if pkg.joinpath(n).is_file())
    else:
        for p in paths:
            try:
                texts.append((str(p), Path(p).read_text(encoding="utf-8")))
            except OSError as exc:
                raise ConfigError(f"{p}: cannot read rules ({exc.strerror})") from None
    rules: dict[str, Rule] = {}
    macros: dict[str, str] = {}  # a later file sees the macros of the files before it
    name, version = "perimeter-injection", 0
    for src, text in texts:
        data = yaml.safe_load(text)
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise ConfigError(f"{src}: expected a mapping with a 'rules' list")
        macros = {**macros, **{str(k): str(v) for k, v in (data.get("macros") or {}).items()}}
        name = str(data.get("name", name))
        version = max(version, int(data.get("version", 0)))
        for raw in data["rules"]:
            if not isinstance(raw, dict):
                raise ConfigError(f"{src}: each rule must be a mapping")
            r = _rule(raw, macros, src)
            rules[r.id] = r
    if any(r.lazy and r.requires for r in rules.values()):
        bad = next(r.id for r in rules.values() if r.lazy and r.requires)
        raise ConfigError(f"rule {bad}: a lazy rule cannot have 'requires' itself")
    return RuleSet(name, version, tuple(r for r in rules.values() if not r.lazy),
                   tuple(r for r in rules.values() if r.lazy))


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    import re2

    opts = re2.Options()
    opts.case_sensitive = False
    opts.max_mem = 32 << 20
    opts.never_capture = True
    return re2.compile(pattern, opts)


def match_lazy(text: str, rules: Sequence[Rule],
               near: Sequence[tuple[int, int]] = ()) -> list[tuple[Rule, tuple[int, int]]]:
    """First match of each lazy rule, as (rule, span in the original text); rules are tried in
    order and, once one of a category matched, the later ones of that category are skipped (put
    the specific cue first, the broad one after it). With ``near`` (spans
    of the hits that asked for the rules), only the text within ``LAZY_WINDOW`` characters of them
    is read: a co-occurrence is a local thing, and a long document costs no more than a short
    one. At most ``LAZY_CHARS`` characters in all. RE2: linear time."""
    if not rules:
        return []
    if near:
        wins: list[list[int]] = []
        for a, b in sorted(near):
            lo, hi = max(0, a - LAZY_WINDOW), min(len(text), b + LAZY_WINDOW)
            if wins and lo <= wins[-1][1]:
                wins[-1][1] = max(wins[-1][1], hi)
            else:
                wins.append([lo, hi])
    else:
        wins = [[0, len(text)]]
    out: list[tuple[Rule, tuple[int, int]]] = []
    todo = list(rules)
    budget = LAZY_CHARS
    for lo, hi in wins:
        if not todo or budget <= 0:
            break
        hi = min(hi, lo + budget)
        budget -= hi - lo
        for r, (x, y) in _match_piece(text[lo:hi], todo):
            out.append((r, (x + lo, y + lo)))
            todo = [t for t in todo if t.category != r.category]
    return out


def _match_piece(piece: str, rules: Sequence[Rule]) -> list[tuple[Rule, tuple[int, int]]]:
    from .normalize import leet_view, normalize

    norm = normalize(piece)
    # line breaks read as spaces (cue phrases wrap across lines); same length, so spans stay valid
    flat = norm.text.replace("\n", " ")
    views = [flat]
    if _LEETISH.search(flat) is not None:  # a digit or symbol inside a word: h0w, m4k3
        lv = leet_view(flat)
        if lv is not None:
            views.append(lv)  # leetspeak folded, same length: the spans stay valid
    out: list[tuple[Rule, tuple[int, int]]] = []
    done: set[str] = set()
    # normalized views are ASCII: the C-level RE2 object searches their bytes directly, with the
    # same spans as the Python wrapper's search (which encodes to UTF-8 and calls the same Match)
    unanchored = _unanchored()
    raw = [v.encode("ascii") if unanchored is not None and v.isascii() else None for v in views]
    for r in rules:
        if r.category in done:
            continue
        rx = _compiled(r.pattern)
        c_rx = getattr(rx, "_regexp", None)
        for view, data in zip(views, raw, strict=True):
            if data is not None and c_rx is not None:
                a, b = c_rx.Match(unanchored, data, 0, len(data))[0]
                span = None if a < 0 else (a, b)
            else:
                m = rx.search(view)
                span = None if m is None else (m.start(), m.end())
            if span is not None:
                out.append((r, norm.to_orig(*span)))
                done.add(r.category)
                break
    return out


@functools.lru_cache(maxsize=1)
def _unanchored() -> Any:
    """RE2's UNANCHORED constant for the C-level Match, or None if this google-re2 version does
    not expose it (then the Python wrapper's search is used)."""
    import re2

    return getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)


@functools.lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    return load_rules()
