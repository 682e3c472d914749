"""Supplementary recognizers (Presidio ``PatternRecognizer`` objects, Presidio entity names).

Presidio's phone recognizer only accepts numbers that ``phonenumbers`` validates for eight
regions, and its card recognizer only Luhn-valid numbers of some issuer ranges. Text written
by people and tools has more shapes than that, so two lower-confidence recognizers add:

* ``PHONE_NUMBER`` by shape: international (``+``/``00`` country code), North-American
  ``(555) 123-4567`` style, three or more blocks with 9+ digits such as ``0688 872 49 99``
  (these score 0.5), and any group of 7 to 15 digits in two to five blocks or 10 to 12
  digits in one block (score 0.3: it needs a context word such as *phone*, *call*, *fax*,
  *mobile* to pass the default threshold). Dates, times, IPv4 addresses and SSN shapes are rejected.
* ``CREDIT_CARD`` by shape: 12 to 19 digits in blocks (score 0.3: it needs a context word such
  as *card*, *credit*, *visa*), whether or not the Luhn check passes.

They can be switched off with ``Redactor(..., supplementary=False)``; the equivalence test
against Presidio runs without them.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["CARD_CONTEXT", "PHONE_CONTEXT", "supplementary_recognizers"]

PHONE_CONTEXT = ("phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "call", "contact",
                 "number", "desk", "office", "reach", "text", "sms", "whatsapp", "dial", "landline")
CARD_CONTEXT = ("card", "credit", "debit", "visa", "mastercard", "amex", "maestro", "discover", "cc",
                "payment", "pan")

_PHONE_INTL = (r"(?<![\w+])(?:\+|00)[1-9][0-9]{0,2}[-. ]?(?:\(0\)[-. ]?)?\(?[0-9]{1,4}\)?"
               r"(?:[-. ]?[0-9]{2,4}){1,4}(?:[ ]?(?:x|ext\.?|#)[ ]?[0-9]{1,6})?(?![0-9])")
_PHONE_NANP = (r"(?<![\w+.\-/])(?:1[-. ]?)?(?:\([2-9][0-9]{2}\)[ ]?|[2-9][0-9]{2}[-. ])[0-9]{3}[-. ][0-9]{4}"
               r"(?:[ ]?(?:x|ext\.?|#)[ ]?[0-9]{1,6})?(?![0-9]|[-.][0-9])")
_PHONE_GROUPS = (r"(?<![\w+.\-/])\(?[0-9]{2,5}\)?(?:[-. ][0-9]{2,6}){1,4}"
                 r"(?:[ ]?(?:x|ext\.?)[ ]?[0-9]{1,6})?(?![0-9]|[-./:][0-9])")
_PHONE_BLOCKS = (r"(?<![\w+.\-/])(?:\(?0[0-9]{1,4}\)?|[0-9]{2,4})(?:[-. ][0-9]{2,4}){2,4}"
                 r"(?![0-9]|[-./:][0-9])")
_PHONE_PLAIN = r"(?<![\w+.\-/])\+?[0-9]{10,12}(?![0-9]|[-./:][0-9])"
_CARD = r"(?<![\w.\-/])[0-9]{4}(?:[- ]?[0-9]{2,5}){2,4}(?![0-9]|[-.][0-9])"

_DATE = re.compile(r"^(?:[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}|[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{2,4})$")
_DATE_PREFIX = re.compile(r"^[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}(?:[ T]|$)")
_TIME = re.compile(r"^[0-9]{1,2}[.:][0-9]{2}(?:[.:][0-9]{2})?$")
_IPV4 = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$")
_SSN = re.compile(r"^[0-9]{3}-[0-9]{2}-[0-9]{4}$")


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


@functools.lru_cache(maxsize=1)
def supplementary_recognizers() -> dict[str, tuple[Any, ...]]:
    """Entity -> recognizers."""
    from presidio_analyzer import Pattern, PatternRecognizer

    class ShapePhoneRecognizer(PatternRecognizer):
        def __init__(self) -> None:
            super().__init__(
                supported_entity="PHONE_NUMBER", name="ShapePhoneRecognizer",
                patterns=[Pattern("phone (international)", _PHONE_INTL, 0.5),
                          Pattern("phone (north american)", _PHONE_NANP, 0.5),
                          Pattern("phone (three or more blocks)", _PHONE_BLOCKS, 0.5),
                          Pattern("phone (digit groups)", _PHONE_GROUPS, 0.3),
                          Pattern("phone (10-12 digits)", _PHONE_PLAIN, 0.3)],
                context=list(PHONE_CONTEXT),
            )

        def invalidate_result(self, pattern_text: str) -> bool:
            core = re.split(r"\s?(?:x|ext\.?|#)\s?[0-9]+$", pattern_text.strip(), maxsplit=1)[0]
            n = len(_digits(core))
            if not 7 <= n <= 15:
                return True
            blocks = re.split(r"[-. ()]+", core.strip("()"))
            if len([b for b in blocks if b]) >= 3 and n < 9 and not core.startswith(("+", "00")):
                if not re.search(r"[-. ]", core[:6]) or n < 7:
                    return True
            t = core.strip("()")
            if _DATE_PREFIX.match(t):
                return True
            return bool(_DATE.match(t) or _TIME.match(t) or _IPV4.match(t) or _SSN.match(t))

    class ShapeCardRecognizer(PatternRecognizer):
        def __init__(self) -> None:
            super().__init__(
                supported_entity="CREDIT_CARD", name="ShapeCardRecognizer",
                patterns=[Pattern("card (digit blocks)", _CARD, 0.3)],
                context=list(CARD_CONTEXT),
            )

        def invalidate_result(self, pattern_text: str) -> bool:
            return not 12 <= len(_digits(pattern_text)) <= 19

    return {"PHONE_NUMBER": (ShapePhoneRecognizer(),), "CREDIT_CARD": (ShapeCardRecognizer(),)}
