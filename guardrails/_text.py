"""Text normalization shared by the screens: invisible characters, confusables, skeletons."""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "CONFUSABLE_CHARS",
    "INVISIBLE_RE",
    "fold_confusables",
    "has_invisible",
    "invisible_or_confusable",
    "lookalike",
    "skeleton",
    "strip_invisible",
]

# Zero-width, bidi controls, word joiners, BOM, soft hyphen, Mongolian vowel separator, variation
# selectors, tag characters, Hangul fillers, combining grapheme joiner, interlinear annotations.
_INVISIBLE_RANGES = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef\U0001d173-\U0001d17a"
)
INVISIBLE_RE = re.compile(f"[{_INVISIBLE_RANGES}]")


def strip_invisible(s: str) -> str:
    return INVISIBLE_RE.sub("", s)


def has_invisible(s: str) -> bool:
    return INVISIBLE_RE.search(s) is not None


# Look-alikes of ASCII letters from Cyrillic, Greek, Armenian, Latin extensions and symbols.
_CONFUSABLES = {
    # Cyrillic lower / upper
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i",
    "ј": "j", "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s",
    "т": "t", "у": "y", "ѡ": "w", "х": "x", "ү": "y", "ь": "b", "г": "r", "п": "n",
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M",
    "О": "O", "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "Ԝ": "W", "Ԛ": "Q",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    # Armenian, Latin extensions, letter-like symbols
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g",
    "ɩ": "i", "ʀ": "r", "ʏ": "y", "ᴀ": "a", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ᴋ": "k", "ᴍ": "m",
    "ᴏ": "o", "ᴘ": "p", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ℓ": "l", "℮": "e",
    "ǀ": "l", "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-", "＿": "_",
}
_CONF_TABLE = str.maketrans(_CONFUSABLES)
CONFUSABLE_CHARS = frozenset(_CONFUSABLES)


def fold_confusables(s: str) -> str:
    return s.translate(_CONF_TABLE)


def _strip_marks(s: str) -> str:
    d = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in d if not unicodedata.combining(ch))


_SEP = re.compile(r"[\s_\-\u2010-\u2015\u2212]+")
# letters with a stroke, bar or small-capital form (no decomposition, so NFKD keeps them)
_SKELETON_EXTRA = str.maketrans({
    "ł": "l", "ƚ": "l", "ɫ": "l", "ʟ": "l", "ɪ": "i", "ɨ": "i", "ø": "o", "ɵ": "o", "đ": "d",
    "ɗ": "d", "ħ": "h", "ŧ": "t", "ƀ": "b", "ʙ": "b", "ɢ": "g", "ʜ": "h", "ɴ": "n", "ʀ": "r",
    "ꜱ": "s", "ɾ": "r", "ƒ": "f", "ʋ": "v", "ɯ": "w", "ꞵ": "b", "ǝ": "e", "ɛ": "e",
})


def skeleton(s: str) -> str:
    """A comparison key that collapses case, width, invisible and control characters,
    diacritics and common confusables: two names with the same skeleton look alike to a human
    or a model."""
    if s.isascii() and s.isprintable():  # the common case: nothing to fold but case and separators
        return _SEP.sub("_", s.lower().strip()).replace("|", "l")
    s = unicodedata.normalize("NFKC", s)
    s = strip_invisible(s)
    if not s.isprintable():  # NUL, other controls, format, private-use, unassigned
        s = "".join(c for c in s if c.isprintable() or c.isspace())
    s = fold_confusables(s)
    s = _strip_marks(s)
    s = fold_confusables(s).translate(_SKELETON_EXTRA)  # again: 'ί' is 'ι' only without its mark
    return _SEP.sub("_", s.casefold().strip()).replace("|", "l")


def _wildcards(s: str) -> str:
    """``s`` with invisible characters and marks removed, ASCII lower-cased and every other
    character replaced by NUL: a pattern in which any non-ASCII letter may stand for any letter."""
    s = strip_invisible(s)
    s = "".join(c for c in unicodedata.normalize("NFD", s) if c.isprintable() and not unicodedata.combining(c))
    s = _SEP.sub("_", s.strip())
    return "".join(c.lower() if c.isascii() else "\x00" for c in s).replace("|", "l")


def _near(k: str, dk: str, wild: bool) -> bool:
    if len(k) != len(dk) or len(dk) < 2:
        return False
    diff = [i for i in range(len(k)) if k[i] != dk[i]]
    if not diff or len(diff) > max(1, len(dk) // 3):
        return False
    return all(k[i] == "\x00" for i in diff) if wild else all(not k[i].isascii() for i in diff)


def lookalike(name: str, declared: dict[str, str] | None) -> str | None:
    """The declared name that ``name`` imitates, or None. ``declared`` maps ``skeleton(d)`` to
    ``d``. Besides equal skeletons, a name counts as a look-alike when it has the length of a
    declared name and differs from it only in a few non-ASCII characters (homoglyphs from any
    script, e.g. Cherokee, that no table lists)."""
    if not declared or not isinstance(name, str):
        return None
    k = skeleton(name)
    hit = declared.get(k)
    if hit is not None or name.isascii():
        return hit
    w = _wildcards(name)
    for dk, d in declared.items():
        if _near(k, dk, wild=False) or _near(w, dk, wild=True):
            return d
    return None


def invisible_or_confusable(name: str) -> bool:
    """True when a declared identifier would be ambiguous: invisible/format characters, leading
    or trailing white space, a form that NFKC changes (full-width, ligatures), or look-alike
    letters mixed with ASCII."""
    if has_invisible(name) or any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return True
    if name != name.strip():  # "send_email " next to "send_email"
        return True
    if unicodedata.normalize("NFKC", name) != name:
        return True
    return any(not c.isascii() for c in name) and any(c.isascii() and c.isalpha() for c in name) \
        and fold_confusables(name) != name
