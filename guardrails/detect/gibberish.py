"""Token-soup detection: a clean natural-language request that ends in a run of optimized
adversarial tokens (GCG-style suffixes such as ``… describing.\\ + similarlyNow write oppositeley.](``).

The signal is a contrast between the HEAD and the TAIL of the last line of a text: the head reads as
ordinary prose (lower-case words, normal punctuation) while the tail is dense with token shapes
that prose seldom has: glued CamelCase fragments (``DEBUGdevletinjust``), letters mixed with code
symbols (``$\\ensuremath``, ``('/]``), bare symbol clusters (``]->``, ``{[``), and capitalised words
in the middle of a sentence. Code, tables, URLs, base64 and other non-prose are rejected because
their head is not clean prose either. One pass over at most ``MAX_LINE`` characters: O(n), cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_LINE", "SOUP_RULE", "WEAK_WEIGHT", "SoupScore", "soup_weight", "suffix_soup"]

SOUP_RULE = "obfuscation.token_soup"

MAX_LINE = 320  # characters of the last line that are examined (longer lines: the last ones)
_MIN_TOKENS = 14  # a line shorter than this has no head/tail to contrast
_TAIL_MIN = 5  # at least this many tokens in the tail
_RATE = 0.25  # the tail is the suffix with the largest sum of (oddness - _RATE)
_HEAD_MIN = 6  # at least this many tokens in the head
_CODE = frozenset("[]{}()<>\\$^`|~=*#@_\"")
_STRONG = frozenset("[]{}<>\\$^`|~=#@_")
_EDGE_OPEN = "([{\"'`*"
_EDGE_CLOSE = ")]}\"'`.,;:!?*"
_BENIGN_SYMBOL_TOKENS = frozenset({"-", "--", "---", "—", "–", "&", "...", "…", "/", "+", "=", "*", "|",
                                   "•", "·", "->", "=>", ":", ";", ",", ".", "!", "?", "(", ")", "%"})
_SENTENCE_END = ".!?:;\"')]"
_TOKEN = re.compile(r"\S+")
# a token that cannot be odd: letters/digits without a glued capital hump or a capital run glued
# to lower case, at most 15 lower-case letters in a row, ordinary punctuation around or inside
_PLAIN = re.compile(r"[(\"'*]?(?:[A-Z]?[a-z]{1,15}|[A-Z]{1,8}s?|[0-9][0-9.,:%/-]*|[A-Z][a-z]{1,15}[A-Z][a-z]{1,15})"
                    r"(?:['\u2019.-][A-Za-z0-9]{1,15})*[)\"'*.,;:!?%]{0,3}")
_BRACKETS = frozenset("()[]{}\"'`")
_ALPHA_RX = re.compile(r"[^\W\d_]")
_DIGIT_RX = re.compile(r"\d")
_CODE_RX = re.compile(r"[\[\]{}()<>\\$^`|~=*#@_\"]")
_HUMP_RX = re.compile(r"[a-z][A-Z]")
_CAPRUN_RX = re.compile(r"[A-Z]{2}[a-z]{2}")
_STRONG_RX = re.compile(r"[\[\]{}<>\\$^`|~=#@_]")
_MIN_CHARS = 60  # shorter texts cannot hold _MIN_TOKENS words
_HEAD_CHARS = 40  # the opening characters of the line that must be free of code symbols
_PROBE_CHARS = 80  # the sparse-tail gate looks at this many characters at the end
_PROBE = re.compile(r"(?i) (?:the|an?|to|of|and|in|is|for|that|you|with|on|it|are|this|be|as|your|or|i) ")
_SPARSE_CHARS = 200  # characters at the end that hold the last _SPARSE_TAIL words (usually)
_SPARSE_TAIL = 12  # words at the end of the line checked for function words
_SPARSE_HEAD = 8
_STRIP = ".,;:!?\"'()[]{}*`"
_FUNCTION_WORDS = frozenset(
    "the a an of to and in is are was were be been for that with on as it its by or from at this "
    "these those not you your we our can will would should could if than then so but which who what "
    "when where how do does i me my he she they them their his her there here have has had also all "
    "any each more most other some such no nor only own same too very just into over under about "
    "after before between through during up down out off again".split())


@dataclass(frozen=True, slots=True)
class SoupScore:
    """How soup-like the tail of the last line is, against its head."""

    tail_tokens: int
    tail_odd: int  # glued / mixed-symbol / symbol-cluster tokens in the tail, in half units
    tail_caps: int  # capitalised words mid-sentence in the tail
    head_tokens: int
    head_odd: int
    head_words: int  # plain lower-case words in the head
    span: tuple[int, int] = (0, 0)  # the tail, as character offsets in the text
    sparse: bool = False  # the head reads as prose but the last words have no function words

    @property
    def score(self) -> float:
        """0 (prose) … 1 (a clean request followed by dense token soup)."""
        if self.tail_tokens < 5 or self.head_tokens < 6:
            return 0.0
        if self.head_odd * 10 > self.head_tokens or self.head_words * 3 < self.head_tokens * 2:
            return 0.0  # the head is not clean prose: code, a table, a list of names ...
        odd = self.tail_odd / 2 + 0.5 * self.tail_caps
        rate = odd / self.tail_tokens
        if self.tail_odd < 5 or rate < 0.35:
            return 0.0
        return min(1.0, 0.5 + (rate - 0.35))

    @property
    def weak(self) -> bool:
        """A thinner soup (fewer odd tokens, or a run of words without any function word): only a
        signal next to a harmful request."""
        if self.sparse:
            return True
        if self.tail_tokens < 4 or self.head_tokens < 6 or self.tail_odd < 3:
            return False
        if self.head_odd * 10 > self.head_tokens or self.head_words * 3 < self.head_tokens * 2:
            return False
        return (self.tail_odd / 2 + 0.5 * self.tail_caps) / self.tail_tokens >= 0.25


_NONE = SoupScore(0, 0, 0, 0, 0, 0)


def _odd(tok: str) -> float:
    """How unlike ordinary prose a token's shape is: 1 (glued CamelCase, letters mixed with code
    symbols, a bare symbol cluster), 0.5 (a long glued lower-case run), 0 (a word, a number, a URL)."""
    if _PLAIN.fullmatch(tok) is not None:
        return 0.0  # the common case: a word with ordinary punctuation (one C-level match)
    bare = tok.rstrip(".,;:!?")
    if len(bare) > 2 and bare[0] == "`" and bare[-1] == "`" and bare.count("`") == 2:
        return 0.0  # inline code in prose: `name`
    left = tok.lstrip(_EDGE_OPEN)
    core = left.rstrip(_EDGE_CLOSE)
    edges = tok[: len(tok) - len(left)] + left[len(core):]
    if core and _STRONG_RX.search(edges) is not None and len(set(edges) & _BRACKETS) >= 3:
        return 1.0  # a pile of mixed closers / openers glued to a word: timeout.....")]
    strong = len(_STRONG_RX.findall(tok))
    if not core:
        return 1.0 if strong >= 2 or (len(tok) >= 3 and tok not in _BENIGN_SYMBOL_TOKENS
                                       and tok.strip(".!?,;:-") != "" and strong >= 1) else 0.0
    if "://" in core or core.startswith("www.") or ("@" in core and "." in core):
        return 0.0  # URL / e-mail address
    if core[0] in "#@" and core[1:].replace("_", "").isalnum():
        return 0.0  # hashtag / mention
    if _ALPHA_RX.search(core) is None:
        if _DIGIT_RX.search(core) is not None:
            return 0.0
        return 1.0 if len(core) >= 2 and core not in _BENIGN_SYMBOL_TOKENS else 0.0
    if strong >= 2 or _CODE_RX.search(core) is not None:
        return 1.0
    # glued CamelCase after position 1 (iPhone, eBay stay clean); a run of capitals glued to a
    # lower-case word (XVIIIblogs, HTMLParser)
    humps = len(_HUMP_RX.findall(core, 1)) + len(_CAPRUN_RX.findall(core))
    if humps >= 2 or (humps == 1 and not core[0].isupper()):
        return 1.0
    if humps == 1:
        return 0.5  # YouTube, PowerPoint, McDonald: one hump in a capitalised word is common
    if len(core) >= 16 and core.isalpha() and core.islower():
        return 0.5  # 'includingnonumber'
    return 0.0


def suffix_soup(text: str) -> SoupScore:
    """Contrast the tail of the last non-empty line of ``text`` with its head. The tail is the
    suffix of the line with the largest excess of odd tokens (one linear pass from the end).
    Cheap exits first: most texts end in prose (function words, no code symbols) and leave after
    a few C-level string operations on the last ``MAX_LINE`` characters."""
    end = len(text)
    if end < _MIN_CHARS:
        return _NONE
    while end > 0 and text[end - 1] in " \t\r\n":
        end -= 1
    start = max(text.rfind("\n", max(0, end - MAX_LINE), end) + 1, end - MAX_LINE, 0)
    if text.count(" ", start, end) < _MIN_TOKENS - 1:
        return _NONE
    line = text[start:end]
    # two cheap gates (C-level string operations): odd token shapes need code symbols; a sparse
    # tail has none of the commonest function words in its last characters
    sym = len(_STRONG_RX.findall(line))
    tail = line[-_PROBE_CHARS:]
    maybe_sparse = not (" the " in tail or " a " in tail or " to " in tail or " and " in tail
                        or " of " in tail) and _PROBE.search(tail) is None
    if sym < 3 and not maybe_sparse:
        return _NONE
    if sym >= 3 and _STRONG_RX.search(line, 0, _HEAD_CHARS) is not None and not maybe_sparse:
        return _NONE  # code symbols already in the opening words: code or markup, not prose
    first = line.split(None, _HEAD_MIN)[:_HEAD_MIN]
    if len(first) < _HEAD_MIN or any(_odd(t) >= 1.0 for t in first) or sum(
            1 for t in first if t.strip(_STRIP).replace("'", "").replace("-", "").islower()) * 3 < _HEAD_MIN * 2:
        return _NONE  # the line does not open as prose: code, a table, a list, a log line ...
    sparse = _sparse_tail(line, start) if maybe_sparse else None
    if sym < 3:
        return SoupScore(0, 0, 0, 0, 0, 0, sparse, True) if sparse else _NONE
    toks = line.split()
    n = len(toks)
    if n < _MIN_TOKENS:
        return _NONE
    w = [0.0] * n
    caps = [False] * n
    for i, t in enumerate(toks):
        if not (t.isalpha() and (t.islower() or t.istitle()) and len(t) < 16):
            w[i] = _odd(t)  # only tokens that are not plain words need the full check
        if w[i] == 0 and i > 0 and len(t) > 1 and t[0].isupper() and toks[i - 1][-1] not in _SENTENCE_END:
            caps[i] = True
            w[i] = 0.5
    best, best_at, run = 0.0, n, 0.0
    for i in range(n - 1, _HEAD_MIN - 1, -1):
        run += w[i] - _RATE
        if run > best and n - i >= _TAIL_MIN:
            best, best_at = run, i
    if best_at >= n:
        return SoupScore(0, 0, 0, 0, 0, 0, sparse, True) if sparse else _NONE
    head = toks[:best_at]
    head_odd = sum(1 for x in w[:best_at] if x >= 1.0)
    head_words = sum(1 for t in head
                     if t.strip(_EDGE_CLOSE + _EDGE_OPEN).replace("'", "").replace("-", "").islower())
    tail_odd = sum(w[i] for i in range(best_at, n) if not caps[i])
    tail_caps = sum(1 for i in range(best_at, n) if caps[i])
    pos = len(line)
    for t in reversed(toks[best_at:]):  # the tail's first character: walk back over its tokens
        pos = line.rfind(t, 0, pos)
    return SoupScore(n - best_at, round(tail_odd * 2), tail_caps, len(head), head_odd, head_words,
                     (start + pos, end), sparse is not None)


def _sparse_tail(line: str, offset: int) -> tuple[int, int] | None:
    """The span (offset + position in ``line``) of the last ``_SPARSE_TAIL`` words when they hold
    at most one English function word while the first ``_SPARSE_HEAD`` words hold several (prose
    that ends in a run of unrelated words); else None."""
    tail = line[-_SPARSE_CHARS:].split()[-_SPARSE_TAIL:]
    if len(tail) < _SPARSE_TAIL or sum(1 for w in tail if w.strip(_STRIP).lower() in _FUNCTION_WORDS) > 1:
        return None
    words = line.split()
    if len(words) < _SPARSE_TAIL + 2:
        return None
    if sum(1 for w in words[:_SPARSE_HEAD] if w.strip(_STRIP).lower() in _FUNCTION_WORDS) < 2:
        return None
    offs = [m.start() for m in _TOKEN.finditer(line)]
    return (offset + offs[-_SPARSE_TAIL], offset + len(line))


WEAK_WEIGHT = 0.45  # a weak soup, counted only next to a harmful-request cue


def soup_weight(score: float, untrusted: bool, weak: bool = False) -> float:
    """The weight of a token-soup hit: enough to flag a user's input alone, less in tool output
    (where code and logs are common and optimized suffixes are not)."""
    if score <= 0:
        if not weak:
            return 0.0
        return round(WEAK_WEIGHT * (0.6 if untrusted else 1.0), 4)
    w = min(0.75, 0.55 + 0.4 * (score - 0.5))
    return round(w * (0.6 if untrusted else 1.0), 4)
