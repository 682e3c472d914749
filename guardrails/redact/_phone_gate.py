"""A necessary condition for ``PhoneNumberMatcher(window, region, leniency=VALID)`` to find
anything, cheap enough to test before running the matcher for each region.

Presidio's phone recognizer runs the matcher once per region; about 85% of the time goes to
``phonenumbers.parse`` and ``is_valid_number`` on candidates that cannot be valid for most
regions: a 16-digit card number, an order id, a date. The gate decides, per region, whether
some number in the window *could* pass, from phonenumbers' own metadata; the matcher then runs
only for the regions that survive, so the result is the same set of matches.

Why the condition is necessary (for windows it accepts to judge; others: every region runs):

* The window is plain: between its first and last ASCII digit there are only ASCII digits and
  `` -./()`` (no ``+``, no letters, so no extension, no vanity number, no RFC 3966), it holds no
  other digit characters, no plus sign, and is at most 200 characters long.
* Every candidate the matcher parses there (whole ``_PATTERN`` matches, and the inner groups
  of ``_extract_inner_match``) starts and ends at the edges of digit runs, because they are cut
  at separators only. So its digits are the concatenation ``ds`` of consecutive runs.
* ``parse(ds, region)`` without a plus sign and without the region's international prefix at
  the start gives the region's country calling code ``cc``. The national significant number is
  then ``ds`` minus a prefix: optionally ``cc`` (when ``ds`` starts with it), then the national
  prefix for parsing at most twice (the default region's metadata and the main region of
  ``cc``). A region whose national prefix has a *transform rule* that could apply, or whose
  international prefix matches, is not judged (it runs).
* ``is_valid_number`` is only true if the national number has one of the possible lengths of
  the general description of some region of ``cc`` and matches its pattern
  (``_number_type_helper`` checks that first).

``tests/redact/test_fastpath_equivalence.py`` compares the gated matcher with the matcher on
many digit-heavy windows, and the fast path with Presidio on dense texts.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PhoneGate"]

_PLAIN = re.compile(r"[0-9](?:[0-9 \-./()]*[0-9])?")
_RUN = re.compile(r"[0-9]+")
#: Characters no candidate of the matcher contains (not phone punctuation, and here never part
#: of an extension, since a window with a letter, ``#``, ``;`` or ``~`` between digits is not judged).
_BREAK = re.compile(r"[\n\r\t\v\f:,|=!?\"'&@$%_<>{}`^]+")
_EDGE = " -./()"
_MAX_WINDOW = 200
_MAX_STRIP = 8  # longest national prefix strip judged
#: Digits; a longer concatenation cannot shrink to 17 digits (the longest national number) by
#: removing a country code (3) and two national prefixes (2 x _MAX_STRIP).
_MAX_DS = 40
_CACHE_SIZE = 16384


@dataclass(frozen=True, slots=True)
class _Region:
    code: str
    cc: str
    idd: Any  # compiled international prefix, or None
    nps: tuple[tuple[Any, bool], ...]  # (national prefix for parsing, has transform rule)


class PhoneGate:
    """``regions(window)``: the regions of ``regions`` for which the matcher may find a
    number in ``window`` (all of them when the window is not plain)."""

    def __init__(self, regions: Sequence[str]) -> None:
        import phonenumbers
        from phonenumbers import PhoneMetadata

        self.all = tuple(regions)
        self._regions: list[_Region] = []
        self._descs: dict[str, dict[int, Any]] = {}
        self._cache: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        ok = True
        for code in self.all:
            meta = PhoneMetadata.metadata_for_region(code.upper(), None)
            if meta is None:
                ok = False
                break
            cc = int(meta.country_code)
            main = phonenumbers.region_code_for_country_code(cc)
            metas = [meta]
            main_meta = PhoneMetadata.metadata_for_region(main, None)
            if main_meta is not None and main_meta is not meta:
                metas.append(main_meta)
            nps = []
            for m in metas:
                npfp = m.national_prefix_for_parsing
                if npfp:
                    nps.append((re.compile(npfp), bool(m.national_prefix_transform_rule)))
            idd = re.compile(meta.international_prefix) if meta.international_prefix else None
            self._regions.append(_Region(code, str(cc), idd, tuple(nps)))
            if str(cc) not in self._descs:
                by_len: dict[int, list[str]] = {}
                for rc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ()):
                    rm = PhoneMetadata.metadata_for_region_or_calling_code(cc, rc)
                    gd = None if rm is None else rm.general_desc
                    if gd is None or not gd.national_number_pattern:
                        continue
                    for n in (gd.possible_length or range(1, 18)):
                        by_len.setdefault(int(n), []).append(gd.national_number_pattern)
                if not by_len:
                    ok = False
                self._descs[str(cc)] = {
                    n: re.compile("|".join(f"(?:{p})" for p in dict.fromkeys(ps)))
                    for n, ps in by_len.items()
                }
        self.enabled = ok

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def regions(self, window: str) -> tuple[str, ...]:
        if not self.enabled or len(window) > _MAX_WINDOW:
            return self.all
        cached = self._cache.get(window)
        if cached is not None:
            return cached
        out = self._judge(window)
        with self._lock:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[window] = out
        return out

    def _judge(self, window: str) -> tuple[str, ...]:
        if "+" in window or "\uff0b" in window:
            return self.all
        digits = [i for i, c in enumerate(window) if c.isdigit()]
        if not digits:
            return ()
        mid = window[digits[0]:digits[-1] + 1]
        if not mid.isascii():
            return self.all
        strings: set[str] = set()
        for piece in _BREAK.split(mid):
            core = piece.strip(_EDGE)
            if not core:
                continue
            if _PLAIN.fullmatch(core) is None:
                return self.all
            runs = _RUN.findall(core)
            for i in range(len(runs)):
                ds = ""
                for j in range(i, len(runs)):
                    ds += runs[j]
                    if len(ds) > _MAX_DS:
                        break
                    strings.add(ds)
        return tuple(r.code for r in self._regions if self._may_match(r, strings))

    def _may_match(self, r: _Region, strings: set[str]) -> bool:
        table = self._descs[r.cc]
        for ds in strings:
            if r.idd is not None and r.idd.match(ds):
                return True
            heads = [ds]
            if ds.startswith(r.cc):
                heads.append(ds[len(r.cc):])
            for _ in range(2):  # the national prefix is stripped at most twice
                more = []
                for h in heads:
                    for rx, transform in r.nps:
                        pm = rx.match(h)
                        if pm is None:
                            continue
                        groups = pm.groups()
                        if transform and groups and groups[-1] is not None:
                            return True  # transformed, not just stripped: not judged
                        if pm.end() > _MAX_STRIP:
                            return True  # longer than the bound _MAX_DS relies on: not judged
                        if pm.end() > 0:
                            more.append(h[pm.end():])
                heads.extend(more)
            for nsn in heads:
                rx = table.get(len(nsn))
                if rx is not None and rx.fullmatch(nsn) is not None:
                    return True
        return False
