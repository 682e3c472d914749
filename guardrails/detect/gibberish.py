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

MAX_LINE = 1_000  # characters of the last line that are examined (longer lines: the last ones)
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
_HINT = re.compile(r"[][{}<>\\$^`|~=#@_]|[a-z][A-Z]|[a-z]{16}")
_HINT_CHARS = 600  # the prefilter looks at this many characters at the end
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
    bare = tok.rstrip(".,;:!?")
    if len(bare) > 2 and bare[0] == "`" and bare[-1] == "`" and bare.count("`") == 2:
        return 0.0  # inline code in prose: `name`
    core = tok.lstrip(_EDGE_OPEN).rstrip(_EDGE_CLOSE)
    edges = tok[: len(tok) - len(tok.lstrip(_EDGE_OPEN))] + tok[len(tok.rstrip(_EDGE_CLOSE)):]
    if core and sum(1 for c in edges if c in _STRONG) and len({c for c in edges if c in "()[]{}\"'`"}) >= 3:
        return 1.0  # a pile of mixed closers / openers glued to a word: timeout.....")]
    strong = sum(1 for c in tok if c in _STRONG)
    if not core:
        return 1.0 if strong >= 2 or (len(tok) >= 3 and tok not in _BENIGN_SYMBOL_TOKENS
                                       and tok.strip(".!?,;:-") != "" and strong >= 1) else 0.0
    if "://" in core or core.startswith("www.") or ("@" in core and "." in core):
        return 0.0  # URL / e-mail address
    if core[0] in "#@" and core[1:].replace("_", "").isalnum():
        return 0.0  # hashtag / mention
    if not any(c.isalpha() for c in core):
        if any(c.isdigit() for c in core):
            return 0.0
        return 1.0 if len(core) >= 2 and core not in _BENIGN_SYMBOL_TOKENS else 0.0
    if strong >= 2 or any(c in _CODE for c in core):
        return 1.0
    humps = 0
    for j in range(2, len(core)):
        a, b = core[j - 1], core[j]
        if a.islower() and b.isupper():
            humps += 1  # glued CamelCase after position 1 (iPhone, eBay stay clean)
        elif a.isupper() and core[j - 2].isupper() and b.islower() and j < len(core) - 1 \
                and core[j + 1].islower():
            humps += 1  # a run of capitals glued to a lower-case word: XVIIIblogs, HTMLParser
    if humps >= 2 or (humps == 1 and not core[0].isupper()):
        return 1.0
    if humps == 1:
        return 0.5  # YouTube, PowerPoint, McDonald: one hump in a capitalised word is common
    if len(core) >= 16 and core.isalpha() and core.islower():
        return 0.5  # 'includingnonumber'
    return 0.0


def suffix_soup(text: str) -> SoupScore:
    """Contrast the tail of the last non-empty line of ``text`` with its head. The tail is the
    suffix of the line with the largest excess of odd tokens (one linear pass from the end)."""
    end = len(text)
    while end > 0 and text[end - 1] in " \t\r\n":
        end -= 1
    start = text.rfind("\n", 0, end) + 1
    start = max(start, end - MAX_LINE)
    if text.count(" ", start, end) < _MIN_TOKENS - 1:
        return _NONE
    sparse = _sparse_tail(text, start, end)
    hint = 0  # cheap prefilter: odd token shapes need code symbols, humps or long glued runs
    for _ in _HINT.finditer(text, max(start, end - _HINT_CHARS), end):
        hint += 1
        if hint >= 3:
            break
    else:
        return SoupScore(0, 0, 0, 0, 0, 0, sparse or (0, 0), True) if sparse else _NONE
    spans = [(m.start() + start, m.group()) for m in _TOKEN.finditer(text, start, end)]
    n = len(spans)
    if n < _MIN_TOKENS:
        return _NONE
    toks = [t for _, t in spans]
    sp = bool(sparse)
    w = [0.0] * n
    caps = [False] * n
    for i, t in enumerate(toks):
        w[i] = _odd(t)
        if w[i] == 0 and i > 0 and len(t) > 1 and t[0].isupper() and toks[i - 1][-1] not in _SENTENCE_END:
            caps[i] = True
            w[i] = 0.5
    best, best_at, run = 0.0, n, 0.0
    for i in range(n - 1, _HEAD_MIN - 1, -1):
        run += w[i] - _RATE
        if run > best and n - i >= _TAIL_MIN:
            best, best_at = run, i
    if best_at >= n:
        return SoupScore(0, 0, 0, 0, 0, 0, sparse or (0, 0), True) if sp else _NONE
    head = toks[:best_at]
    head_odd = sum(1 for x in w[:best_at] if x >= 1.0)
    head_words = sum(1 for t in head
                     if t.strip(_EDGE_CLOSE + _EDGE_OPEN).replace("'", "").replace("-", "").islower())
    tail_odd = sum(w[i] for i in range(best_at, n) if not caps[i])
    tail_caps = sum(1 for i in range(best_at, n) if caps[i])
    return SoupScore(n - best_at, round(tail_odd * 2), tail_caps, len(head), head_odd, head_words,
                     (spans[best_at][0], end), sp)


def _sparse_tail(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of the last ``_SPARSE_TAIL`` words of the line when they hold at most one English
    function word while the first ``_SPARSE_HEAD`` words hold several (prose that ends in a run of
    unrelated words); else None."""
    words = text[max(start, end - 400):end].split()
    if len(words) < _SPARSE_TAIL + 2:
        return None
    head = text[start: start + 200].split()[:_SPARSE_HEAD]
    if sum(1 for w in head if w.strip(_STRIP).lower() in _FUNCTION_WORDS) < 2:
        return None
    tail = words[-_SPARSE_TAIL:]
    if sum(1 for w in tail if w.strip(_STRIP).lower() in _FUNCTION_WORDS) > 1:
        return None
    offs = [m.start() for m in _TOKEN.finditer(text, max(start, end - 400), end)]
    return (offs[-_SPARSE_TAIL], end)


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
