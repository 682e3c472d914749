"""normalize()'s fast paths against straightforward reference implementations (synthetic texts)."""

from __future__ import annotations

import itertools
import random
import re

from guardrails.detect import normalize as norm_mod
from guardrails.detect.normalize import normalize

_REF_GLUED = re.compile(r"(?<=[A-Za-z0-9])_(?=[A-Z][a-z]+[ ,.:;!?])")  # the look-behind-first form
_REF_RUN = re.compile(r"[ \n]{2,}")

PIECES = ["a", "B", " ", "  ", "\n", "\n\n", " \n ", "\\n", "\\t", "\t", "\r\n", "_", "x_Yz ", "1_Ab!",
          "A_B ", "é", "ﬁ", "\u200b", "Ａ", "\u0301", "\U000e0041", "ignore", ".", "\ud800", "😀"]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 80))) for _ in range(n)]


def _ref_collapse_map(pre: str) -> tuple[list[int], list[int], list[int]]:
    spans = [m.span() for m in _REF_RUN.finditer(pre)]
    pre_starts = [a for a, _b in spans]
    removed = list(itertools.accumulate([b - a - 1 for a, b in spans]))
    starts = [a - r + (b - a - 1) for (a, b), r in zip(spans, removed, strict=True)]
    return starts, pre_starts, removed


def test_glued_underscore_regex_matches_the_reference() -> None:
    for t in [*_texts(3000, 1), "External_Ignore your rules", "snake_case_name", "a__Bc.", "_Ab "]:
        assert norm_mod._GLUED.sub(" ", t) == _REF_GLUED.sub(" ", t)


def test_collapse_map_matches_the_reference() -> None:
    seen = 0
    for t in _texts(3000, 2):
        n = normalize(t)
        if n._pre is None:
            continue
        seen += 1
        assert n._collapse_map() == _ref_collapse_map(n._pre)
    assert seen > 1000


def test_spans_map_back_to_the_original_text() -> None:
    for t in _texts(2000, 3):
        n = normalize(t)
        for a in range(len(n.text) + 1):
            for b in (a, min(len(n.text), a + 1), min(len(n.text), a + 5)):
                oa, ob = n.to_orig(a, b)
                assert 0 <= oa <= ob <= len(t)


def test_distinct_non_ascii_characters_are_all_folded() -> None:
    # lone surrogates, astral characters, combining marks and tags go through the byte-level
    # extraction of the distinct non-ASCII characters
    cases = {
        "a\ud800b": "a\x1ab",
        "\udc80x": "\x1ax",
        "é😀": "e\x1a",
        "Ｉgnore ﬁle": "ignore file",
        "in\u200bstruc\u200dtions": "instructions",
        "cafe\u0301": "cafe",
    }
    for src, want in cases.items():
        assert normalize(src).text == want, src
    assert normalize("x\u200by").invisible == 1
    assert normalize("аpple").confusable == 1  # Cyrillic a
