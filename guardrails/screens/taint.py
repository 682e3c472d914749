"""Taint tracking: where did the values in a planned tool call come from?

The hard attacks on agents do not call a forbidden tool; they call an allowed tool with the
attacker's values (an IBAN, a recipient, a URL) that arrived inside a tool output. This screen
remembers, per run, what the agent read through trusted channels (user and system input) and
through untrusted ones (tool results, retrieval, peer messages), together with the injection
screen's findings on each untrusted piece. On each planned tool call it extracts the values the
arguments carry (whole strings, and the e-mail addresses, URLs, domains, IBANs, phone numbers,
file names, ids and numbers inside them), normalizes them and classifies each one:

``trusted``    seen in user/system input (the user's own words win over everything)
``flagged``    seen inside (or near) a span the injection screen flagged as instructions
``injected``   seen in an untrusted output that carried an injection, outside the flagged span
``untrusted``  seen only in untrusted content without findings
``unseen``     seen nowhere (the model produced it, or decoded an obfuscated value)

The manifest decides (``taint`` settings, ``ToolPolicy.untrusted_args``, ``ArgRule.untrusted``):
a flagged value is blocked; a *sink* value (recipient, URL, IBAN, phone; any argument of a
destructive tool) from an output that carried an injection, or unseen in a run that saw one, is
sent to review; other untrusted values follow ``untrusted_args`` (``allow`` by default), so
"reply to Bob's last e-mail" keeps working. Findings name the argument, the value kind and where
it was seen, never the value itself.

Memory is bounded per run (``max_pieces`` pieces of at most ``max_text`` characters each, plus
capped value sets) and expires with ``run_ttl``; extraction is linear-time and capped too.

Per-task scope: a trusted ``input`` event whose metadata has ``scope`` (a list of tool names, or
the name of a scope declared in ``taint.scopes``) narrows the tools of that run; a call outside
it is a ``scope.tool_outside_task`` finding (``taint.out_of_scope``, block by default).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import count, islice
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .._text import fold_confusables, strip_invisible
from ..events import Direction, Event, EventKind, Source
from ..verdict import Action, Finding, Verdict
from .base import CheckContext, register_screen

if TYPE_CHECKING:
    from ..manifest import AgentPolicy, Manifest, TaintSettings, ToolPolicy

__all__ = [
    "PROVENANCES",
    "SCOPE_METADATA_KEY",
    "Piece",
    "TaintScreen",
    "TracedValue",
    "build",
    "compact",
    "extract_values",
    "iter_leaves",
    "normalize_text",
]

SCOPE_METADATA_KEY = "scope"

PROVENANCES = ("trusted", "flagged", "near", "injected", "untrusted", "unseen")

_MAX_DEPTH = 64  # nesting levels of an argument value that are traced
_MAX_LEAVES = 5000  # leaf values traced per call
_MAX_ARG_CHARS = 1_000_000  # characters of argument text traced per call
_MAX_VALUES = 4000  # extracted values per call
_MAX_PIECE_VALUES = 5000  # extracted values remembered per content piece
_MAX_FRAGMENTS = 200  # sentence fragments of long strings checked per call
_MAX_SCAN = 262_144  # characters of one content piece scanned for values
_MAX_DECODED = 32  # encoded runs decoded per piece
_MIN_COMPACT = 8  # compact (punctuation-free) matching only for values at least this long
_MAX_FINDINGS = 32
_MAX_MATCH_CHARS = 200_000_000  # remembered characters scanned per call (substring search)
_MAX_MATCHES = 2000  # matches of one value kind taken from one text

_ACTION = {"allow": Action.ALLOW, "review": Action.REVIEW, "block": Action.BLOCK}

# ------------------------------------------------------------------------------ normalization
# (applied to normalized text, where whitespace is already collapsed to single spaces)
_OBFUSCATED_AT = re.compile(
    r" ?[\[\(\{<] ?(?:at|@) ?[\]\)\}>] ?| at (?=[a-z0-9-]+ ?(?:[\[\(\{<] ?)?(?:dot|\.))"
)
_OBFUSCATED_DOT = re.compile(r" ?[\[\(\{<] ?(?:dot|\.) ?[\]\)\}>] ?| dot ")


def normalize_text(s: str) -> str:
    """NFKC, invisible characters removed, confusables folded, case-folded, whitespace collapsed."""
    s = unicodedata.normalize("NFKC", s)
    s = strip_invisible(s)
    s = fold_confusables(s)
    s = s.casefold()
    # str.split() splits on exactly the characters that Unicode ``\s`` matches (str.isspace), and
    # the join is one C-level pass: ~20x faster than ``_WS.sub(" ", s).strip()``, same string
    return " ".join(s.split())


def _deobfuscate(s: str) -> str:
    """``bob [at] example [dot] com`` -> ``bob@example.com`` (on normalized text)."""
    if not _gate("obfuscation", s):
        return s  # neither substitution below can match (see _GATE_PATTERNS)
    s = _OBFUSCATED_AT.sub("@", s)
    return _OBFUSCATED_DOT.sub(".", s)


def compact(s: str) -> str:
    """ASCII letters and digits only (on normalized text): defeats values split by spaces,
    dashes, dots, quotes or line breaks, and obfuscated ``[at]``/``[dot]``. (Same as deleting
    ``[^0-9a-z@]+`` and then "@", done as an ASCII encode plus a byte deletion table.)"""
    return _deobfuscate(s).encode("ascii", "ignore").translate(None, _NOT_LOWER_ALNUM).decode("ascii")


_NOT_LOWER_ALNUM = bytes(b for b in range(128) if not (48 <= b <= 57 or 97 <= b <= 122))


# ------------------------------------------------------------------------------ value extraction
_TLD = r"[a-z]{2,24}"
_EMAIL = re.compile(r"(?<![a-z0-9._%+\-])[a-z0-9._%+\-]{1,64}@(?:[a-z0-9\-]{1,63}\.){1,8}" + _TLD + r"\b")
_URL = re.compile(r"(?:\b[a-z][a-z0-9+.\-]{1,15}://|\bwww\.)[^\s<>\"'`\]\)\}\\,;|]{1,2000}")
_DOMAIN = re.compile(
    r"(?<![@\w.\-])(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.){1,8}" + _TLD + r"(?![\w\-]|\.\w)"
)
_IBAN = re.compile(
    r"\b[a-z]{2}[0-9]{2}(?:[a-z0-9]{11,30}|(?:[ \-][a-z0-9]{4}){2,7}(?:[ \-][a-z0-9]{1,4})?)\b"
)
_PHONE = re.compile(
    r"(?<![\w.+])(?:\+[0-9][0-9 ().\-]{6,20}[0-9]|\(?[0-9]{3}\)?[ .\-][0-9]{3}[ .\-][0-9]{4})(?![\w])"
)
_NUMBER = re.compile(r"(?<![\w.])-?[0-9][0-9,']*(?:\.[0-9]+)?(?![\w])")
_FILE_EXT = (
    "txt|docx?|xlsx?|pptx?|pdf|csv|tsv|json|ya?ml|xml|md|rtf|odt|ods|png|jpe?g|gif|svg|zip|tar|gz|"
    "py|js|ts|sh|sql|log|html?|eml|msg|key|pem|bak|db"
)
_FILE = re.compile(r"(?<![\w\-.])[a-z0-9_][\w\-.]{0,120}\.(?:" + _FILE_EXT + r")\b")
_ID = re.compile(r"(?<![\w\-])(?=[\w\-]*[0-9])(?=[\w\-]*[a-z])[a-z0-9][\w\-]{5,127}(?![\w\-])")
_FILE_EXT_RE = re.compile(r"\.(?:" + _FILE_EXT + r")$")
_B64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,4096}={0,2}(?![A-Za-z0-9+/=])")
_HEX = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}){8,2048}(?![0-9a-fA-F])")
# pseudonym tokens of the redaction screen (``<EMAIL_ADDRESS_1>``), matched on normalized text
_PSEUDONYM = re.compile(r"<([a-z][a-z0-9_]{0,40})_([1-9][0-9]{0,9})>")
_PSEUDONYM_KIND = {"email_address": "email", "iban_code": "iban", "phone_number": "phone",
                   "url": "url", "domain_name": "domain", "ip_address": "domain"}
_SPLIT = re.compile(r"(?<=[.!?:;])\s+|\n+")


@dataclass(frozen=True, slots=True)
class TracedValue:
    """One value found in a tool argument. ``canon`` is the normalized form used for matching;
    it is never put into a finding."""

    arg: str  # dotted path of the argument, e.g. ``recipients[0]``
    kind: str  # email | url | domain | iban | phone | file | id | number | text
    canon: str
    compact: str
    host: str | None = None


def _canon_number(tok: str) -> str | None:
    t = tok.replace(",", "").replace("'", "")
    try:
        f = float(t)
    except ValueError:
        return None
    if f != f or f in (float("inf"), float("-inf")):
        return None
    if f == int(f) and abs(f) < 1e18:
        return str(int(f))
    return repr(f)


def _canon_url(u: str) -> tuple[str, str | None]:
    u = u.rstrip(".!?)'\"")
    rest = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", u)
    rest = rest.split("@")[-1] if "@" in rest.split("/")[0] else rest
    if rest.startswith("www."):
        rest = rest[4:]
    rest = rest.rstrip("/")
    host = rest.split("/")[0].split("?")[0].split("#")[0].split(":")[0]
    return rest, host or None


def _canon_domain(d: str) -> str:
    d = d.rstrip(".")
    return d[4:] if d.startswith("www.") else d


def _iban_like(v: str) -> bool:
    bban = v[4:]
    return 15 <= len(v) <= 34 and sum(c.isdigit() for c in bban) * 2 >= len(bban)


def _capped(rx: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    return islice(rx.finditer(text), _MAX_MATCHES)


# Cheap necessary conditions for each value pattern: searches that must succeed wherever the full
# pattern could match (supersets), run by RE2's DFA (about 5 µs on 1.5 KB where Python's ``re``
# takes 20-140 µs per class pattern), so that prose without an "@", a "label.tld" or a token that
# mixes letters and digits never pays for the expensive look-around patterns (0.8 -> 0.1 ms on
# 1.5 KB of prose). Built on first use.
_GATES: dict[str, Any] = {}
_GATE_PATTERNS = {
    "domain": r"[a-z0-9]\.[a-z]{2}",
    "iban": r"[a-z]{2}[0-9]{2}",
    # _PHONE without its look-arounds (a "+" and digits, or 3-3-4 digit groups), where the old
    # gate, any 3 digits, fired on every date and amount
    "phone": r"\+[0-9][0-9 ().\-]{6,20}[0-9]|\(?[0-9]{3}\)?[ .\-][0-9]{3}[ .\-][0-9]{4}",
    "file": r"\.(?:" + _FILE_EXT + r")",
    "id": r"[0-9]\S*[a-z]|[a-z]\S*[0-9]",  # \S is a superset of the ID pattern's [\w\-]
    # wherever _OBFUSCATED_AT or _OBFUSCATED_DOT can match (their cores; the optional spaces
    # around them do not matter): a bracketed at/@/dot/"." or " dot ", or " at " followed by
    # what the look-ahead of _OBFUSCATED_AT needs. Plain " at " ("at the hub") does not fire.
    "obfuscation": r"[\[\(\{<] ?(?:at|@|dot|\.) ?[\]\)\}>]| dot | at [a-z0-9-]+ ?(?:[\[\(\{<] ?)?(?:dot|\.)",
    # _B64 and _HEX need a run of 16 characters of the base64 alphabet (hex digits are in it)
    "b64": r"[A-Za-z0-9+/]{16}",
}


def _gate(name: str, text: str) -> bool:
    if not _GATES:
        import re2

        opts = re2.Options()
        opts.max_mem = 8 << 20
        _GATES.update({k: re2.compile(v, opts) for k, v in _GATE_PATTERNS.items()})
    return _GATES[name].search(text) is not None


def _entities(text: str) -> Iterator[tuple[str, str, str | None]]:
    """(kind, canonical value, host) of the values inside normalized ``text`` (at most
    ``_MAX_MATCHES`` of each kind)."""
    if "<" in text:
        for m in _capped(_PSEUDONYM, text):
            yield _PSEUDONYM_KIND.get(m.group(1), "id"), m.group(0), None
    if "@" in text:
        for m in _capped(_EMAIL, text):
            v = m.group(0).strip(".")
            yield "email", v, v.rsplit("@", 1)[-1]
    if "://" in text or "www." in text:
        for m in _capped(_URL, text):
            canon, host = _canon_url(m.group(0))
            yield "url", canon, host
            if host:
                yield "domain", host, host
    if _gate("domain", text):
        for m in _capped(_DOMAIN, text):
            d = m.group(0)
            if _FILE_EXT_RE.search(d):
                continue
            yield "domain", _canon_domain(d), _canon_domain(d)
    if _gate("file", text):
        for m in _capped(_FILE, text):
            yield "file", m.group(0).strip(), None
    if not any(c in text for c in "0123456789"):
        return  # every pattern below needs an ASCII digit
    if _gate("iban", text):
        for m in _capped(_IBAN, text):
            v = re.sub(r"[ \-]", "", m.group(0))
            if _iban_like(v):
                yield "iban", v, None
    if _gate("phone", text):
        for m in _capped(_PHONE, text):
            digits = re.sub(r"[^0-9]", "", m.group(0))
            if 8 <= len(digits) <= 15:
                yield "phone", digits, None
    if _gate("id", text):
        for m in _capped(_ID, text):
            yield "id", m.group(0), None
    for m in _capped(_NUMBER, text):
        n = _canon_number(m.group(0))
        if n is not None:
            yield "number", n, None


def _kind_of(v: str) -> str:
    """The kind of a whole (normalized) argument string."""
    if _EMAIL.fullmatch(v):
        return "email"
    if _URL.fullmatch(v):
        return "url"
    if _DOMAIN.fullmatch(v) and not _FILE_EXT_RE.search(v):
        return "domain"
    if _IBAN.fullmatch(v) and _iban_like(re.sub(r"[ \-]", "", v)):
        return "iban"
    if _NUMBER.fullmatch(v):
        return "number"
    if _PHONE.fullmatch(v) and 8 <= len(re.sub(r"[^0-9]", "", v)) <= 15:
        return "phone"
    if _FILE.fullmatch(v):
        return "file"
    if _ID.fullmatch(v):
        return "id"
    return "text"


def iter_leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Leaf values of a nested argument with their dotted paths. Raises ``OverflowError`` when
    the value is nested deeper than the traced limit or has too many leaves (fail closed)."""
    stack: list[tuple[str, Any, int]] = [(path, value, 0)]
    n = 0
    while stack:
        p, v, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise OverflowError(f"argument nested deeper than {_MAX_DEPTH} levels")
        if isinstance(v, Mapping):
            for k, sub in reversed(list(v.items())):
                stack.append((f"{p}.{k}" if p else str(k), sub, depth + 1))
        elif isinstance(v, (list, tuple)):
            for i in range(len(v) - 1, -1, -1):
                stack.append((f"{p}[{i}]", v[i], depth + 1))
        else:
            n += 1
            if n > _MAX_LEAVES:
                raise OverflowError(f"argument has more than {_MAX_LEAVES} values")
            yield p, v


def extract_values(args: Mapping[str, Any], *, min_length: int = 4) -> list[TracedValue]:
    """The values a tool call's arguments carry, normalized. Raises ``OverflowError`` when the
    arguments exceed the traced limits (the screen turns that into a finding)."""
    out: list[TracedValue] = []
    seen: set[tuple[str, str, str]] = set()
    budget = _MAX_ARG_CHARS
    fragments = 0

    def add(arg: str, kind: str, canon: str, host: str | None = None) -> None:
        key = (arg, kind, canon)
        if key in seen:
            return
        seen.add(key)
        if len(out) >= _MAX_VALUES:
            raise OverflowError(f"arguments carry more than {_MAX_VALUES} values")
        out.append(TracedValue(arg, kind, canon, compact(canon), host))

    for path, leaf in iter_leaves(args):
        top = path
        if leaf is None or isinstance(leaf, bool):
            continue
        if isinstance(leaf, (int, float)):
            n = _canon_number(repr(leaf)) if isinstance(leaf, float) else str(leaf)
            if n is not None:
                add(top, "number", n)
            continue
        s = leaf if isinstance(leaf, str) else str(leaf)
        budget -= len(s)
        if budget < 0:
            raise OverflowError(f"arguments longer than {_MAX_ARG_CHARS} characters")
        v = normalize_text(s)
        if not v:
            continue
        pm = _PSEUDONYM.fullmatch(v)
        if pm is not None:  # a redaction pseudonym standing for an address, IBAN, ...
            add(top, _PSEUDONYM_KIND.get(pm.group(1), "id"), v)
            continue
        kind = _kind_of(v)
        if kind == "url":
            canon, host = _canon_url(v)
            add(top, "url", canon, host)
        elif kind == "domain":
            add(top, "domain", _canon_domain(v), _canon_domain(v))
        elif kind == "iban":
            add(top, "iban", re.sub(r"[ \-]", "", v))
        elif kind == "phone":
            add(top, "phone", re.sub(r"[^0-9]", "", v))
        elif kind == "number":
            n = _canon_number(v)
            if n is not None:
                add(top, "number", n)
        elif kind == "email":
            add(top, "email", v, v.rsplit("@", 1)[-1])
        elif len(v) >= min_length:
            add(top, kind, v)
        if kind in ("text", "file", "id"):
            dv = _deobfuscate(v)
            for k, canon, host in _entities(dv):
                if k == "number" and len(canon) < max(min_length, 5):
                    continue
                add(top, k, canon, host)
            if kind == "text" and len(v) > 40:
                for frag in _SPLIT.split(v):
                    frag = frag.strip(" ,.'\"")
                    if len(frag) >= max(min_length, 20) and frag != v and fragments < _MAX_FRAGMENTS:
                        fragments += 1
                        add(top, "text", frag)
    return out


# ------------------------------------------------------------------------------ run memory
@dataclass(frozen=True, slots=True)
class Piece:
    """What the run remembers of one content piece (JSON-friendly so that a shared store such
    as Redis can hold it)."""

    seq: int
    trusted: bool
    source: str  # e.g. "tool_result:read_file" (a kind and a tool name, never content)
    injected: bool
    rules: tuple[str, ...]  # rules of the injection findings on it
    values: frozenset[str]
    text: str
    compact: str
    flag_values: frozenset[str]
    flag_text: str
    flag_compact: str
    span_text: str = ""  # the flagged spans alone (no window): for non-sink values
    span_compact: str = ""

    def to_item(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "uid": secrets.randbits(62), "t": self.trusted, "src": self.source,
            "inj": self.injected,
            "rules": list(self.rules), "vals": sorted(self.values), "text": self.text,
            "cmp": self.compact, "fvals": sorted(self.flag_values), "ftext": self.flag_text,
            "fcmp": self.flag_compact, "stext": self.span_text, "scmp": self.span_compact,
        }

    @classmethod
    def from_item(cls, d: Mapping[str, Any]) -> Piece:
        return cls(
            seq=int(d["seq"]), trusted=bool(d["t"]), source=str(d["src"]), injected=bool(d["inj"]),
            rules=tuple(d.get("rules", ())), values=frozenset(d.get("vals", ())),
            text=str(d.get("text", "")), compact=str(d.get("cmp", "")),
            flag_values=frozenset(d.get("fvals", ())), flag_text=str(d.get("ftext", "")),
            flag_compact=str(d.get("fcmp", "")), span_text=str(d.get("stext", "")),
            span_compact=str(d.get("scmp", "")),
        )


def _decoded_runs(text: str) -> list[str]:
    """Base64 / hex / percent-encoded runs inside ``text``, decoded (bounded)."""
    out: list[str] = []
    # both patterns need 16 characters of the base64 alphabet in a row (hex digits are in it)
    runs = _gate("b64", text)
    for m in _B64.finditer(text) if runs else ():
        if len(out) >= _MAX_DECODED:
            break
        tok = m.group(0)
        if not (any(c.isdigit() for c in tok) or any(c in "+/=" for c in tok)) and tok.isalpha() \
                and (tok.islower() or tok.isupper()):
            continue  # a long plain word, not base64
        try:
            raw = base64.b64decode(tok + "=" * (-len(tok) % 4), validate=True)
            s = raw.decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
        if s and sum(c.isprintable() or c.isspace() for c in s) >= 0.95 * len(s):
            out.append(s)
    for m in _HEX.finditer(text) if runs else ():
        if len(out) >= _MAX_DECODED:
            break
        try:
            s = bytes.fromhex(m.group(0)).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if s and all(c.isprintable() or c.isspace() for c in s):
            out.append(s)
    if "%" in text:
        u = unquote(text)
        if u != text:
            out.append(u)
    return out


def _values_of(text: str) -> set[str]:
    vals: set[str] = set()
    for kind, canon, host in _entities(text):
        if len(vals) >= _MAX_PIECE_VALUES:
            break
        vals.add(f"{kind}:{canon}")
        if kind == "email" and host:
            vals.add(f"emaildomain:{host}")
    return vals


def _flag_regions(content: str, spans: Sequence[tuple[int, int]], window: int) -> list[tuple[int, int]]:
    n = len(content)
    regions: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        s = max(0, min(n, s))
        e = max(s, min(n, e))
        s2, e2 = max(0, s - window), min(n, e + window)
        # snap outwards to whitespace so that a value is not cut in half
        while s2 > 0 and not content[s2 - 1].isspace() and s - s2 < window + 200:
            s2 -= 1
        while e2 < n and not content[e2].isspace() and e2 - e < window + 200:
            e2 += 1
        if regions and s2 <= regions[-1][1]:
            regions[-1] = (regions[-1][0], max(regions[-1][1], e2))
        else:
            regions.append((s2, e2))
    return regions


_seq = count(1)
_seq_lock = threading.Lock()


def _next_seq() -> int:
    with _seq_lock:
        return next(_seq)


def make_piece(content: str, *, trusted: bool, source: str, injection: Sequence[Finding],
               settings: TaintSettings, redacted: str | None = None) -> Piece:
    """Summarize one content piece for the run memory. ``redacted`` is the text the agent saw
    when the redaction screen rewrote it: its pseudonym tokens (``<EMAIL_ADDRESS_1>``) are
    remembered too, so that an argument carrying a token is traced like the value itself."""
    body = content[:_MAX_SCAN]
    norm = normalize_text(body)
    extra = [normalize_text(d) for d in _decoded_runs(body)] if not trusted else []
    full = " \n ".join([norm, *extra]) if extra else norm
    dfull = _deobfuscate(full)
    spans = [f.span for f in injection if f.span is not None]
    rest = dfull
    flag_text = ""
    span_text = ""
    flag_values: set[str] = set()
    if injection and not trusted:
        parts: list[str] = []
        strict: list[str] = []
        if spans:
            regions = _flag_regions(body, [(int(a), int(b)) for a, b in spans], settings.flag_window)
            parts = [normalize_text(body[a:b]) for a, b in regions]
            strict = [normalize_text(body[max(0, a):max(0, b)]) for a, b in spans if b > a][:64]
            # the remainder: the piece with the flagged regions cut out
            keep, last = [], 0
            for a, b in regions:
                keep.append(body[last:a])
                last = b
            keep.append(body[last:])
            rest = _deobfuscate(normalize_text(" \n ".join(keep)))
        # encoded payloads in an injected piece count as instructions too
        parts += extra
        strict += extra
        span_text = _deobfuscate(" \n ".join(strict))
        if extra:
            rest = _deobfuscate(normalize_text(" \n ".join(keep))) if spans else _deobfuscate(norm)
        flag_text = _deobfuscate(" \n ".join(parts))
        flag_values = _values_of(flag_text)
    values = _values_of(rest)
    if redacted and redacted != content and "<" in redacted:
        values |= {f"{_PSEUDONYM_KIND.get(m.group(1), 'id')}:{m.group(0)}"
                   for m in _capped(_PSEUDONYM, normalize_text(redacted[:_MAX_SCAN]))}
    cap = settings.max_text
    return Piece(
        seq=_next_seq(), trusted=trusted, source=source, injected=bool(injection) and not trusted,
        rules=tuple(sorted({f.rule or f.category for f in injection}))[:8],
        values=frozenset(values), text=rest[:cap], compact=compact(rest)[:cap],
        flag_values=frozenset(flag_values), flag_text=flag_text[:cap],
        flag_compact=compact(flag_text)[:cap], span_text=span_text[:cap],
        span_compact=compact(span_text)[:cap],
    )


class _Budget:
    """Characters of remembered text that one call may scan (bounds matching time)."""

    __slots__ = ("left",)

    def __init__(self, chars: int) -> None:
        self.left = chars

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise OverflowError("too many argument values to trace against this run's content")


def _seen(v: TracedValue, values: frozenset[str], text: str, comp: str, min_length: int,
          budget: _Budget | None = None) -> bool:
    if not text and not values:
        return False
    key = f"{v.kind}:{v.canon}"
    if key in values:
        return True
    if v.kind == "number":
        return False  # numbers match as whole tokens only
    if v.kind == "url" and v.host and (f"domain:{v.host}" in values) and len(v.host) >= min_length:
        return True
    if v.kind == "domain" and (f"emaildomain:{v.canon}" in values or f"url:{v.canon}" in values):
        return True
    if budget is not None:
        budget.spend(len(text) + len(comp))
    if len(v.canon) >= min_length and v.canon in text:
        return True
    return len(v.compact) >= _MIN_COMPACT and v.compact in comp


# ------------------------------------------------------------------------------ the screen
def _words(name: str) -> set[str]:
    parts = re.split(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])", name)
    return {p.lower() for p in parts if p}


_GENERIC = frozenset({
    "get", "set", "list", "read", "search", "fetch", "find", "show", "view", "query", "lookup",
    "look", "run", "call", "do", "make", "new", "all", "by", "for", "from", "the", "to", "of", "in",
    "on", "and", "or", "with", "api", "tool", "info", "data", "details", "current", "my", "user",
})
_WORD = re.compile(r"[a-z][a-z0-9]+")


def _tool_words(name: str) -> frozenset[str]:
    """Content words of a tool name as 5-letter prefixes (``get_received_emails`` ->
    {``recei``, ``email``}); generic verbs and glue words are dropped."""
    return frozenset(w[:5] for w in _words(name) if len(w) >= 3 and w not in _GENERIC)


def _prefixes(text: str) -> frozenset[str]:
    return frozenset(w[:5] for w in _WORD.findall(text[:200_000]) if len(w) >= 3)


def _untrusted_rule(tool: ToolPolicy | None, arg: str) -> str | None:
    """What the manifest says about untrusted values in ``arg`` of ``tool`` (None: unset)."""
    if tool is None:
        return None
    top = re.split(r"[.\[]", arg, maxsplit=1)[0]
    if isinstance(tool.args, dict):
        rule = tool.args.get(top)
        if rule is not None and rule.untrusted is not None:
            return rule.untrusted
    ua = tool.untrusted_args
    if isinstance(ua, str):
        return ua
    if isinstance(ua, dict):
        return ua.get(top) or ua.get("*")
    return None


def _parse_args(raw: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            return {"<raw>": raw}
        except RecursionError:
            raise OverflowError("arguments nested too deeply to parse") from None
        return parsed if isinstance(parsed, Mapping) else {"<raw>": parsed}
    return raw


class TaintScreen:
    """Tracks provenance of content in each run and checks tool-call arguments against it."""

    name = "taint"
    kinds = frozenset({EventKind.TOOL_CALL, EventKind.INPUT, EventKind.TOOL_RESULT,
                       EventKind.MESSAGE, EventKind.OUTPUT})

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self._cache: OrderedDict[str, tuple[tuple[int, int], list[Piece]]] = OrderedDict()
        self._lock = threading.Lock()

    # -------------------------------------------------------------- state
    @staticmethod
    def _key(event: Event) -> str:
        return f"taint:{event.agent}\x1f{event.run_id}"

    def pieces(self, event: Event, ctx: CheckContext) -> list[Piece]:
        """The run's remembered pieces (decoded once per change of the stored list)."""
        key = self._key(event)
        items = ctx.state.items(key)
        # a random id per stored item: replicas sharing a store never reuse a stale decoding
        sig = (len(items), int(items[-1].get("uid", items[-1]["seq"])) if items else 0)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == sig:
                self._cache.move_to_end(key)
                return hit[1]
        pieces = [Piece.from_item(d) for d in items]
        with self._lock:
            self._cache[key] = (sig, pieces)
            self._cache.move_to_end(key)
            while len(self._cache) > 256:
                self._cache.popitem(last=False)
        return pieces

    # -------------------------------------------------------------- observe
    def observe(self, event: Event, verdict: Verdict, ctx: CheckContext) -> None:
        policy = ctx.policy
        if policy is None or not policy.taint.enabled:
            return
        settings = policy.taint
        if event.kind is EventKind.INPUT:
            trusted = event.source in (Source.USER, Source.SYSTEM)
            scope = event.metadata.get(SCOPE_METADATA_KEY) if event.metadata else None
            if trusted and scope is not None:
                self._bind_scope(event, scope, policy, ctx)
        elif event.kind is EventKind.TOOL_RESULT:
            trusted = not event.untrusted
        elif event.kind is EventKind.MESSAGE and event.direction is Direction.RECEIVE:
            trusted = False
        else:
            return
        if not event.content:
            return
        injection = [f for f in verdict.findings if f.category.startswith("injection.")]
        tool = event.tool.name if event.tool is not None else (event.peer or "")
        source = f"{event.kind.value}:{tool}" if tool else f"{event.kind.value}:{event.source.value}"
        piece = make_piece(event.content, trusted=trusted, source=source[:80], injection=injection,
                           settings=settings, redacted=verdict.content)
        ctx.state.append(self._key(event), piece.to_item(), ttl=policy.run_ttl,
                         max_items=settings.max_pieces)

    def _bind_scope(self, event: Event, scope: Any, policy: AgentPolicy, ctx: CheckContext) -> None:
        if isinstance(scope, str):
            tools = policy.taint.scopes.get(scope)
            if tools is None:
                tools = ("\x00unknown-scope",)  # an unknown named scope allows nothing: fail closed
        elif isinstance(scope, (list, tuple, frozenset, set)):
            tools = tuple(str(t) for t in scope)
        else:
            tools = ("\x00unknown-scope",)
        key = f"taintscope:{event.agent}\x1f{event.run_id}"
        ctx.state.delete(key)
        ctx.state.append(key, list(tools)[:1000], ttl=policy.run_ttl, max_items=1)

    # -------------------------------------------------------------- check
    def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
        if event.kind is EventKind.OUTPUT or (
                event.kind is EventKind.MESSAGE and event.direction is Direction.SEND):
            return self._check_text_out(event, ctx)
        if event.kind is not EventKind.TOOL_CALL or event.tool is None:
            return ()
        policy = ctx.policy
        if policy is None or not policy.taint.enabled:
            return ()
        settings = policy.taint
        out: list[Finding] = []
        scope_f = self._check_scope(event, ctx, settings)
        if scope_f is not None:
            out.append(scope_f)
        if settings.follow != "allow":
            follow_f = self._check_follow(event.tool.name, self.pieces(event, ctx), settings)
            if follow_f is not None:
                out.append(follow_f)
        raw = ctx.args if ctx.args is not None else event.tool.args
        try:
            values = extract_values(_parse_args(raw), min_length=settings.min_length)
            if values:
                out.extend(self._check_values(event.tool.name, values, policy, ctx, event))
        except (OverflowError, RecursionError) as exc:
            out.append(Finding(
                screen=self.name, category="taint.untraceable", action=Action.REVIEW,
                rule="taint.limits", reason=f"arguments of {event.tool.name!r} could not be traced: "
                f"{exc}", details={"safe.tool": event.tool.name},
            ))
        return out

    def _check_values(self, tool: str, values: Sequence[TracedValue], policy: AgentPolicy,
                      ctx: CheckContext, event: Event) -> list[Finding]:
        settings = policy.taint
        tool_policy = policy.tools.get(tool)
        out: list[Finding] = []
        pieces = self.pieces(event, ctx)
        run_injected = any(p.injected for p in pieces)
        destructive = bool(_words(tool) & set(settings.destructive))
        budget = _Budget(_MAX_MATCH_CHARS)
        sinks = set(settings.sinks)
        # one decision per (argument, kind, provenance); keep the strongest
        decisions: dict[tuple[str, str, str], tuple[Action, str, Piece | None]] = {}
        for v in values:
            is_sink = v.kind in sinks or (destructive and v.kind != "text")
            prov, where = self._provenance(v, pieces, settings.min_length, is_sink, budget)
            if prov == "trusted":
                continue
            configured = _untrusted_rule(tool_policy, v.arg)
            action, category = self._decide(prov, is_sink, configured, run_injected, settings)
            if action is None:
                continue
            k = (v.arg, v.kind, prov)
            prev = decisions.get(k)
            if prev is None or action > prev[0]:
                decisions[k] = (action, category, where)
        ranked = sorted(decisions.items(), key=lambda kv: (-int(kv[1][0]), kv[0]))
        for (arg, kind, prov), (action, category, where) in ranked[:_MAX_FINDINGS]:
            out.append(self._finding(tool, arg, kind, prov, action, category, where))
        if len(ranked) > _MAX_FINDINGS:
            worst = max(a for a, _c, _w in decisions.values())
            out.append(Finding(screen=self.name, category="taint.more", action=worst,
                               rule="taint.more", reason=f"{len(ranked) - _MAX_FINDINGS} more traced "
                               "argument values not listed"))
        return out

    @staticmethod
    def _provenance(v: TracedValue, pieces: Sequence[Piece], min_length: int,
                    sink: bool, budget: _Budget | None = None) -> tuple[str, Piece | None]:
        """trusted > flagged (seen ONLY inside flagged instructions) > injected > untrusted > unseen.
        A value that also occurs in untrusted content outside any flagged region is corroborated
        by data the attacker did not write there, so it is not counted as flagged. Sink values
        count as flagged within ``flag_window`` characters of a flagged span (an attacker's
        address sits next to the trigger phrase); other values only inside the span itself."""
        flagged: Piece | None = None
        near: Piece | None = None
        injected: Piece | None = None
        untrusted: Piece | None = None
        for p in pieces:
            if p.trusted:
                if _seen(v, p.values, p.text, p.compact, min_length, budget):
                    return "trusted", p
                continue
            in_flag = p.injected and (
                _seen(v, p.flag_values, p.flag_text, p.flag_compact, min_length, budget) if sink
                else _seen(v, frozenset(), p.span_text, p.span_compact, min_length, budget))
            if in_flag and flagged is None:
                flagged = p
            if (p.injected and not sink and not in_flag and near is None
                    and _seen(v, p.flag_values, p.flag_text, p.flag_compact, min_length, budget)):
                near = p
            if (injected is None if p.injected else untrusted is None) and _seen(
                    v, p.values, p.text, p.compact, min_length, budget):
                if p.injected:
                    injected = p
                else:
                    untrusted = p
        if injected is None and untrusted is None:
            if flagged is not None:
                return "flagged", flagged
            if near is not None:
                return "near", near
        if injected is not None:
            return "injected", injected
        if untrusted is not None:
            return "untrusted", untrusted
        return "unseen", None

    @staticmethod
    def _decide(prov: str, is_sink: bool, configured: str | None, run_injected: bool,
                settings: TaintSettings) -> tuple[Action | None, str]:
        base = _ACTION[configured] if configured is not None else _ACTION[settings.default]
        if prov == "flagged":
            if not is_sink and base == Action.ALLOW and settings.flagged != "allow":
                # a non-sink value (free text, a number) copied out of the injected instructions
                return max(_ACTION[settings.flagged], Action.REVIEW), "taint.flagged_arg"
            return max(_ACTION[settings.flagged], base), "taint.flagged_arg"
        if prov == "near":
            # a non-sink value found only next to flagged instructions (not in the span itself)
            return max(_ACTION[settings.injected], base), "taint.flagged_arg"
        if prov == "injected":
            if is_sink:
                return max(_ACTION[settings.injected], base), "taint.injected_arg"
            return (base, "taint.untrusted_arg") if base > Action.ALLOW else (None, "")
        if prov == "untrusted":
            if base > Action.ALLOW or is_sink:
                return base, "taint.untrusted_arg"
            return None, ""
        # unseen
        if is_sink and run_injected:
            return _ACTION[settings.injected], "taint.unseen_arg"
        if is_sink and settings.unseen != "allow":
            return _ACTION[settings.unseen], "taint.unseen_arg"
        return None, ""

    def _finding(self, tool: str, arg: str, kind: str, prov: str, action: Action, category: str,
                 where: Piece | None) -> Finding:
        what = {
            "flagged": "appears inside text the injection screen flagged as instructions",
            "near": "appears only next to text the injection screen flagged as instructions",
            "injected": "appears only in untrusted content that carried an injection",
            "untrusted": "appears only in untrusted content",
            "unseen": "appears in no content of this run, which contained an injection",
        }[prov]
        src = f" ({where.source} #{where.seq})" if where is not None else ""
        score = {"flagged": 0.95, "near": 0.85, "injected": 0.8, "untrusted": 0.5, "unseen": 0.6}[prov]
        details = {"safe.tool": tool, "safe.arg": arg, "safe.kind": kind, "safe.provenance": prov}
        if where is not None:
            details["safe.source"] = where.source
            if where.rules:
                details["safe.injection_rules"] = ",".join(where.rules)
        return Finding(
            screen=self.name, category=category, action=action, score=score,
            rule=f"taint.{prov}.{kind}",
            reason=f"argument {arg!r} of {tool!r}: a {kind} value that {what}{src}",
            details=details,
        )

    def _check_text_out(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
        """Text the agent sends out (final answer, message to a peer): a sink value (link,
        address, IBAN) that comes only from flagged instructions is the attacker's payload
        (a phishing link, a markdown image that exfiltrates data)."""
        policy = ctx.policy
        if policy is None or not policy.taint.enabled or not event.content:
            return ()
        settings = policy.taint
        text = ctx.content if ctx.content is not None else event.content
        try:
            values = [v for v in extract_values({"content": text}, min_length=settings.min_length)
                      if v.kind in settings.sinks]
            if not values:
                return ()
            pieces = self.pieces(event, ctx)
            if not any(p.injected for p in pieces):
                return ()
            budget = _Budget(_MAX_MATCH_CHARS)
            kinds: dict[str, Piece | None] = {}
            for v in values:
                prov, where = self._provenance(v, pieces, settings.min_length, True, budget)
                if prov == "flagged":
                    kinds.setdefault(v.kind, where)
        except (OverflowError, RecursionError) as exc:
            return [Finding(screen=self.name, category="taint.untraceable", action=Action.REVIEW,
                            rule="taint.limits", reason=f"{event.kind.value} could not be traced: {exc}")]
        where_s = event.kind.value if event.kind is EventKind.OUTPUT else f"message to {event.peer!r}"
        return [Finding(
            screen=self.name, category="taint.flagged_output", action=_ACTION[settings.flagged],
            score=0.9, rule=f"taint.flagged.{kind}",
            reason=f"the {where_s} carries a {kind} value that appears only inside text the injection "
                   f"screen flagged as instructions" + (f" ({w.source} #{w.seq})" if w else ""),
            details={"safe.kind": kind, "safe.provenance": "flagged",
                     **({"safe.source": w.source} if w else {})},
        ) for kind, w in sorted(kinds.items())]

    def _check_follow(self, tool: str, pieces: Sequence[Piece], settings: TaintSettings) -> Finding | None:
        """A call whose tool the flagged instructions name and the user's request does not: the
        agent is following the injected text (catches read-first attacks whose arguments are
        empty, e.g. "first list all files, then ...")."""
        words = _tool_words(tool)
        if not words:
            return None
        hit: Piece | None = None
        for p in pieces:
            if p.trusted:
                if words <= _prefixes(p.text):
                    return None
            elif hit is None and p.injected and words <= _prefixes(p.flag_text):
                hit = p
        if hit is None:
            return None
        return Finding(
            screen=self.name, category="taint.follows_injection", action=_ACTION[settings.follow],
            score=0.7, rule="taint.follow",
            reason=f"tool {tool!r} is named by flagged instructions ({hit.source} #{hit.seq}) and not "
                   "by the user's request",
            details={"safe.tool": tool, "safe.source": hit.source, "safe.provenance": "flagged"},
        )

    def _check_scope(self, event: Event, ctx: CheckContext, settings: TaintSettings) -> Finding | None:
        assert event.tool is not None
        items = ctx.state.items(f"taintscope:{event.agent}\x1f{event.run_id}")
        if not items:
            return None
        allowed = items[-1]
        if event.tool.name in allowed:
            return None
        return Finding(
            screen=self.name, category="scope.tool_outside_task",
            action=_ACTION[settings.out_of_scope], rule="taint.scope",
            reason=f"tool {event.tool.name!r} is in the role but outside this run's task scope",
            details={"safe.tool": event.tool.name},
        )


@register_screen("taint", order=20)
def build(manifest: Manifest) -> TaintScreen | None:
    """Factory: a taint screen unless every agent disabled it."""
    if manifest.agents and not any(
        (p := manifest.agent(a)) is not None and p.taint.enabled for a in manifest.agent_names
    ):
        return None
    return TaintScreen(manifest)
