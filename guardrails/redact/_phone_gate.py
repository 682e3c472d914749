"""Necessary conditions for ``phonenumbers`` to accept a phone number, cheap enough to test
before running its matcher, so that Presidio's phone recognizer gives the same results at a
fraction of the cost.

Presidio's phone recognizer runs ``PhoneNumberMatcher(text, region, leniency=VALID)`` once per
region; about 85% of its time goes to ``phonenumbers.parse`` and ``is_valid_number`` on
candidates that cannot be valid for most regions (a card number, an order id, a date). Two
gates skip that work without changing the result:

* :meth:`PhoneGate.regions` (per window): the regions for which *some* candidate in the window
  could be valid. The matcher does not run at all for the others.
* :meth:`PhoneGate.spans` (what the fast path uses) walks the window once with a matcher whose
  parses all fail, which lists the candidates every region's matcher tries until one parses;
  then it parses, per region, only the listed candidates that :meth:`PhoneGate.may_parse`
  allows, and runs a region's whole matcher only when one of them gives a number. When every
  candidate that matcher tried has a plus sign and a country code, the answer is the same for
  every region and the other regions are not run.
* :meth:`PhoneGate.matches` runs phonenumbers' own matcher for one region with its
  ``_parse_and_verify`` step skipped for candidates that :meth:`PhoneGate.may_parse` rules out
  (the step would return None for them). Everything else (candidate search, trimming, inner
  matches, dates, time stamps, the checks of the surrounding characters) is the matcher's own
  code, so the matches are the same.

Why the conditions are necessary. A string is *plain* when its characters are ASCII digits and
`` -./()[]`` and the no-break space only (no ``+``, no letters: no extension, no vanity number,
no RFC 3966 form); for a plain candidate ``parse`` sees exactly its digits ``ds``.

* With the region's international prefix at the start of ``ds`` (and no 0 after it), parse()
  strips it and reads a country code: the rest is judged as after a plus sign (below).
  Otherwise, without a plus sign, ``parse(ds, region)`` gives the region's country calling
  code ``cc``, and the national
  significant number is ``ds`` minus a prefix: optionally ``cc`` (when ``ds`` starts with it),
  then the national prefix for parsing, at most twice (the default region's metadata, and the
  metadata of the main region of ``cc``). Where a national prefix *transform rule* applies,
  the candidate is not judged (it is parsed).
* After a leading plus sign the digits start with a country code (the first 1-3 digit prefix
  that is one); the national number is the rest minus national prefixes of that country. When
  no country code is found (or a 0 follows the plus), parse() reads the digits as a national
  number of the default region. A plus sign that does not lead is ignored.
* ``is_valid_number`` is true only if that national number matches, with one of the listed
  possible lengths, the general description of some region of ``cc`` and one of its number
  types (``_number_type_helper`` checks both). The patterns are tested with ``re.fullmatch``,
  which accepts everything phonenumbers' own full-match test accepts.
* In a window that is plain apart from separators no candidate crosses (``_BREAK``), every
  candidate the matcher parses (``_PATTERN`` matches and the inner groups of
  ``_extract_inner_match``) starts and ends at the edge of a digit run: it is cut at
  separators only. So its digits are a concatenation of consecutive runs, and a region for
  which no such concatenation passes the test above has no match in the window.

``tests/redact/test_fastpath_equivalence.py`` compares both gates with the plain matcher on many
digit-heavy windows, and the fast path with Presidio on dense texts.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PhoneGate", "shared_gate"]

#: Dashes phonenumbers treats as punctuation (removed when it normalizes a number).
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d"
_PLAIN = re.compile(f"[0-9](?:[0-9 \\-./(){_DASHES}]*[0-9])?")
_PLAIN_CANDIDATE = re.compile(f"[0-9 \\-./()\\[\\]\u00a0{_DASHES}+\uff0b]+")
_RUN = re.compile(r"[0-9]+")
#: A plain number, then an extension written with one x.
_WITH_X = re.compile(f"([0-9 \\-./()\\[\\]{_DASHES}+\uff0b]*[0-9][ )]*)[xX] ?[0-9]+")
#: Characters no candidate of the matcher contains in a window the gate judges: they are not
#: phone punctuation, and they could only be part of an extension, which needs a letter or a
#: ``#`` between the digits (such windows are not judged).
_BREAK = re.compile(r"[\n\r\t\v\f:,|=!?\"'&@$%_<>{}`^]+")
_EDGE = " -./()" + _DASHES
_MAX_WINDOW = 200
_MAX_RUNS = 12  # digit runs between two breaks; more: not judged
_CACHE_SIZE = 16384
#: What :meth:`PhoneGate.may_parse` needs to know about a candidate, whatever the region:
#: ``_NEVER`` (fewer than two digits), ``_UNJUDGED`` (not plain: parse it), or
#: ``(with_x, plain)``: the plain part before an ``x`` extension (or None) and the whole
#: candidate, each as ``(lead_plus, digits)`` (``lead_plus`` None when there is no plus sign).
_Plain = tuple[bool | None, str]
_Shape = tuple[_Plain | None, _Plain]
_NEVER: _Shape = (None, (None, ""))
_UNJUDGED: _Shape = (None, (None, "?"))


def _plain(candidate: str) -> _Plain:
    ds = "".join(c for c in candidate if "0" <= c <= "9")
    if "+" not in candidate and "\uff0b" not in candidate:
        return None, ds
    lead = next((c for c in candidate if c in "+\uff0b" or "0" <= c <= "9"), "")
    return lead in ("+", "\uff0b"), ds


def _shape(candidate: str) -> _Shape:
    if sum(1 for c in candidate if c.isdigit()) < 2:
        return _NEVER
    if _PLAIN_CANDIDATE.fullmatch(candidate) is None:
        m = _WITH_X.fullmatch(candidate)
        if m is None:
            return _UNJUDGED
        return _plain(m.group(1)), _plain(candidate)
    return None, _plain(candidate)


def _prefix_required(rules: tuple[tuple[Any, Any, bool], ...], nsn: str) -> bool:
    """Whether the formatting rule ``_choose_formatting_pattern_for_number`` picks for the
    national number ``nsn`` writes the national prefix (False: no rule applies)."""
    for ld, pattern, needs in rules:
        if (ld is None or ld.match(nsn)) and pattern.fullmatch(nsn):
            return needs
    return False


def _region_free(shape: _Shape) -> bool:
    """True when ``parse`` gives the same result (or fails alike) for every default region:
    no viable number, or a plain candidate led by a plus sign and a country code (parse()
    then reads the number from the country code on; it goes back to the default region only
    when no country code follows the plus: a 0 or no 1-3 digit country code). Too few digits
    after the plus fail alike (TOO_SHORT_AFTER_IDD)."""
    if shape is _NEVER:
        return True
    if shape is _UNJUDGED or shape[0] is not None:
        return False
    lead_plus, ds = shape[1]
    if not lead_plus or not ds or ds[0] == "0":
        return False
    if len(ds) <= 2:
        return True
    import phonenumbers

    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    return any(int(ds[:k]) in codes for k in (1, 2, 3))


_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
          "voicemail", "fixed_line", "mobile")


@dataclass(frozen=True, slots=True)
class _Region:
    code: str
    cc: str
    idd: Any  # compiled international prefix, or None
    nps: tuple[tuple[Any, bool], ...]  # (national prefix for parsing, has a transform rule)
    strip: int | None  # most digits the country code and national prefixes can remove
    #: (shortest, longest) digit strings that may hold a valid national number of this
    #: region, without an international prefix; None: no bound (a transform rule)
    bounds: tuple[int, int] | None = None
    #: what the digit test reads of the region (regions with the same ``sig`` share results)
    sig: str = ""
    meta: Any = None  # the region's metadata (default regions only)
    main: Any = None  # the metadata of the main region of its country code


def _width(pattern: str | None) -> int | None:
    """The longest string ``pattern`` can match (None: unbounded or unknown)."""
    import sys

    if sys.version_info >= (3, 11):
        from re import _parser as sre_parse
    else:  # pragma: no cover
        import sre_parse
    try:
        hi = int(sre_parse.parse(pattern or "").getwidth()[1])
    except Exception:  # noqa: BLE001
        return None
    return None if hi >= 4096 else hi


class _Union:
    """Length -> one regex for the alternation of the patterns listed for that length,
    compiled on first use (compiling all of them up front takes about half a second)."""

    __slots__ = ("_compiled", "_sources")

    def __init__(self, by_len: dict[int, list[str]]) -> None:
        self._sources = {n: "|".join(f"(?:{p})" for p in dict.fromkeys(ps)) for n, ps in by_len.items()}
        self._compiled: dict[int, Any] = {}

    def get(self, n: int) -> Any:
        rx = self._compiled.get(n)
        if rx is None:
            src = self._sources.get(n)
            if src is None:
                return None
            rx = self._compiled[n] = re.compile(src)
        return rx

    def lengths(self) -> set[int]:
        return set(self._sources)

    def source(self, n: int) -> str:
        return self._sources[n]

    def compile_all(self) -> None:
        for n in self._sources:
            self.get(n)


class PhoneGate:
    """Region and candidate gates for ``PhoneNumberMatcher`` over ``regions`` (see the module
    docstring). ``enabled`` is False when the metadata does not have the expected shape;
    callers then run the plain matcher. Thread-safe."""

    def __init__(self, regions: Sequence[str]) -> None:
        import phonenumbers
        from phonenumbers import PhoneMetadata

        self.all = tuple(regions)
        self._regions: dict[str, _Region] = {}
        self._general: dict[str, _Union] = {}
        self._types: dict[str, _Union] = {}
        self._lengths: dict[str, tuple[int, int]] = {}  # shortest, longest national number
        self._cache: dict[str, tuple[str, ...]] = {}
        self._nsn: dict[tuple[str, str], bool] = {}
        self._valid: dict[tuple[str, str, bool], bool] = {}
        self._plus: dict[tuple[str, str, int, int], tuple[Any]] = {}
        self._prefix: dict[tuple[str, str], bool] = {}
        self._shapes: dict[_Shape, tuple[str, ...]] = {}
        self._rules: dict[int, tuple[tuple[Any, Any, bool], ...]] = {}
        self._lock = threading.Lock()
        self._matcher_cls: Any = None
        self._probe_cls: Any = None
        ok = True
        for code in self.all:
            meta = PhoneMetadata.metadata_for_region(code.upper(), None)
            if meta is None or meta.country_code is None:
                ok = False
                break
            cc = int(meta.country_code)
            metas = [meta]
            main_meta = PhoneMetadata.metadata_for_region(phonenumbers.region_code_for_country_code(cc), None)
            if main_meta is not None and main_meta is not meta:
                metas.append(main_meta)
            nps = [(re.compile(m.national_prefix_for_parsing), bool(m.national_prefix_transform_rule))
                   for m in metas if m.national_prefix_for_parsing]
            idd = re.compile(meta.international_prefix) if meta.international_prefix else None
            widths = [_width(m.national_prefix_for_parsing) for m in metas if m.national_prefix_for_parsing]
            known = [w for w in widths if w is not None]
            strip = None if len(known) < len(widths) else len(str(cc)) + 2 * max(known, default=0)
            bounds = None
            if self._ensure_cc(cc) and not any(t for _, t in nps):
                lo, hi = self._lengths[str(cc)]
                bounds = (lo, 1 << 30 if strip is None else hi + strip)
            nps = list({(rx.pattern, t): (rx, t) for rx, t in nps}.values())
            sig = repr((cc, meta.international_prefix, [(rx.pattern, t) for rx, t in nps]))
            self._regions[code] = _Region(code, str(cc), idd, tuple(nps), strip, bounds, sig, meta, main_meta)
            if not self._ensure_cc(cc):
                ok = False
            else:  # the default regions' patterns now, not inside the first checks
                self._general[str(cc)].compile_all()
                self._types[str(cc)].compile_all()
        self.enabled = ok
        self._order = [self._regions[code] for code in self.all] if ok else []
        self._digit_rx: dict[str, Any] = {}
        for r in self._order:
            if r.bounds is not None and r.sig not in self._digit_rx:
                self._digit_rx[r.sig] = self._digit_regex(r)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
            self._nsn.clear()
            self._valid.clear()
            self._plus.clear()
            self._prefix.clear()
            self._shapes.clear()

    # ------------------------------------------------------------------ window gate
    def regions(self, window: str) -> tuple[str, ...]:
        """The regions for which the matcher may find a number in ``window``."""
        if not self.enabled or len(window) > _MAX_WINDOW:
            return self.all
        cached = self._cache.get(window)
        if cached is not None:
            return cached
        out = self._judge(window)
        self._put(self._cache, window, out)
        return out

    def _put(self, d: dict[Any, Any], key: Any, value: Any) -> None:
        """Bounded insert (the oldest entry goes first)."""
        with self._lock:
            if len(d) >= _CACHE_SIZE:
                d.pop(next(iter(d)), None)
            d[key] = value

    def _judge(self, window: str) -> tuple[str, ...]:
        if "+" in window or "\uff0b" in window:
            return self.all
        digits = [i for i, c in enumerate(window) if c.isdigit()]
        if not digits:
            return ()
        mid = window[digits[0]:digits[-1] + 1]
        if not mid.isascii() and any(ord(c) > 127 and c not in _DASHES for c in mid):
            return self.all
        strings: set[str] = set()
        for piece in _BREAK.split(mid):
            core = piece.strip(_EDGE)
            if not core:
                continue
            if _PLAIN.fullmatch(core) is None:
                return self.all
            runs = _RUN.findall(core)
            if len(runs) > _MAX_RUNS:
                return self.all
            for i in range(len(runs)):
                ds = ""
                for j in range(i, len(runs)):
                    ds += runs[j]
                    strings.add(ds)
        out = []
        for code in self.all:
            r = self._regions[code]
            lo, hi = self._lengths[r.cc]
            top = None if r.strip is None else hi + r.strip
            # a national number has lo..hi digits, and at most r.strip digits come before it
            # (unless an international prefix starts the string)
            if any(self._may_be_valid(r, ds) for ds in strings
                   if (lo <= len(ds) and (top is None or len(ds) <= top))
                   or (r.idd is not None and r.idd.match(ds))):
                out.append(code)
        return tuple(out)

    # ------------------------------------------------------------------ candidate gate
    def may_parse(self, candidate: str, region: str) -> bool:
        """False only if ``parse(candidate, region)`` cannot give a valid number."""
        return self._may_parse(_shape(candidate), region)

    def _may_parse(self, shape: _Shape, region: str) -> bool:
        if shape is _NEVER:
            return False  # parse() refuses it (not a viable number) whatever the region
        r = self._regions.get(region)
        if r is None or shape is _UNJUDGED:
            return True
        if shape[0] is not None:
            # "555-0199 x12": parse() reads the extension (the number before the x) or, when
            # that part is not viable, all the digits (one letter is not a vanity number)
            return self._plain_may_be_valid(r, *shape[0]) or self._plain_may_be_valid(r, *shape[1])
        lead_plus, ds = shape[1]
        if lead_plus is None:
            return self._may_be_valid(r, ds) and self._prefix_may_pass(r, ds)
        return self._plus_may_be_valid(r, lead_plus, ds)

    def _shape_regions(self, shape: _Shape) -> tuple[str, ...]:
        """The regions whose ``parse`` may give a valid number for a candidate of ``shape``
        (``[code for code in self.all if self._may_parse(shape, code)]``)."""
        if shape is _NEVER:
            return ()
        if shape is _UNJUDGED:
            return self.all
        hit = self._shapes.get(shape)
        if hit is None:
            hit = self._judge_shape(shape)
            self._put(self._shapes, shape, hit)
        return hit

    def _judge_shape(self, shape: _Shape) -> tuple[str, ...]:
        if shape[0] is None:
            lead_plus, ds = shape[1]
            if lead_plus is None:  # the common case, inlined: digits and separators only
                n = len(ds)
                out = []
                digit_rx = self._digit_rx
                for r in self._order:
                    b = r.bounds
                    if b is not None and (r.idd is None or r.idd.match(ds) is None):
                        # what _may_be_valid does first, inlined
                        if not b[0] <= n <= b[1]:
                            continue
                        rx = digit_rx.get(r.sig)
                        if rx is not None:
                            if rx.match(ds) is not None and self._prefix_may_pass(r, ds):
                                out.append(r.code)
                            continue
                    if self._may_be_valid(r, ds) and self._prefix_may_pass(r, ds):
                        out.append(r.code)
                return tuple(out)
            if _region_free(shape):  # a plus and a country code: the same for every region
                return self.all if self._may_parse(shape, self.all[0]) else ()
        return tuple(code for code in self.all if self._may_parse(shape, code))

    def _plain_may_be_valid(self, r: _Region, lead_plus: bool | None, ds: str) -> bool:
        """``lead_plus``: None without a plus sign, else whether a plus sign leads."""
        if lead_plus is not None:
            return self._plus_may_be_valid(r, lead_plus, ds)
        return self._may_be_valid(r, ds)

    def matches(self, window: str, region: str, leniency: int) -> list[tuple[int, int]]:
        """``[(m.start, m.end) for m in PhoneNumberMatcher(window, region, leniency)]``,
        with ``_parse_and_verify`` skipped where :meth:`may_parse` rules the candidate out."""
        gated, _ = self._classes()
        return [(m.start, m.end) for m in gated(window, region, leniency=leniency)]

    def spans(self, window: str, leniency: int) -> list[tuple[int, int]]:
        """The matches of ``PhoneNumberMatcher(window, region, leniency)`` over all regions,
        in region order, without repeats: what :meth:`regions` and :meth:`matches` give
        together, with less work.

        The matcher's walk over a window (candidate search, trimming, dates, time stamps,
        inner matches) depends on the region only through the results of
        ``_parse_and_verify``. One walk in which every candidate fails lists the candidates a
        region's matcher tries as long as none succeeds (``probe``). A region none of whose
        listed candidates :meth:`may_parse` has no match; for the others the listed candidates
        are parsed in order (that region's matcher would parse the same ones first), and only
        a region with a success runs its whole matcher (reusing those parses)."""
        gated, probe_cls = self._classes()
        probe = probe_cls(window, self.all[0], leniency=leniency)
        probe.seen = []
        for _ in probe:  # never yields: every candidate fails
            pass
        found: list[tuple[int, int]] = []
        if not probe.seen:
            return found
        shapes = [(c, o, self._shape_regions(_shape(c))) for c, o in probe.seen]
        for region in self.all:
            live = [(c, o) for c, o, regs in shapes if region in regs]
            if not live:
                continue
            memo: dict[tuple[str, int], Any] = {}
            m = gated(window, region, leniency=leniency)
            m.memo = memo
            if all(m._parse_and_verify(c, o) is None for c, o in live):
                continue
            m = gated(window, region, leniency=leniency)
            m.memo = memo
            m.calls = []
            for match in m:
                span = (match.start, match.end)
                if span not in found:
                    found.append(span)
            if all(_region_free(_shape(c)) for c, _ in m.calls):
                # every candidate this matcher tried reads the same for every region (a
                # leading plus and a country code): every region's matcher finds the same
                return found
        return found

    def _classes(self) -> tuple[Any, Any]:
        """The gated matcher class and the probe class (built once)."""
        if self._matcher_cls is not None:
            return self._matcher_cls, self._probe_cls
        import phonenumbers
        from phonenumbers import NumberParseException, parse
        from phonenumbers.phonenumbermatcher import PhoneNumberMatch, PhoneNumberMatcher

        gate = self
        precheck = _prechecks() if phonenumbers.__version__ in _PRECHECK_VERSIONS else None

        class _GatedMatcher(PhoneNumberMatcher):
            memo: dict[tuple[str, int], Any] | None = None
            calls: list[tuple[str, int]] | None = None

            def _parse_and_verify(self, candidate: str, offset: int) -> Any:
                if self.calls is not None:
                    self.calls.append((candidate, offset))
                memo = self.memo
                if memo is None:
                    return self._gated(candidate, offset)
                key = (candidate, offset)
                if key not in memo:
                    memo[key] = self._gated(candidate, offset)
                return memo[key]

            def _gated(self, candidate: str, offset: int) -> Any:
                if not gate.may_parse(candidate, self.preferred_region or ""):
                    return None
                if "+" not in candidate and "\uff0b" not in candidate:
                    return super()._parse_and_verify(candidate, offset)
                # A number written with its country code parses the same for every
                # default region (parse() with no region succeeds only then): the
                # verdict on this candidate at this place of this text is shared.
                key = (self.text, candidate, offset, self.leniency)
                known = gate._plus.get(key)
                if known is not None:
                    return known[0]
                found = super()._parse_and_verify(candidate, offset)
                if not _region_free(_shape(candidate)):
                    try:
                        parse(candidate, None)
                    except NumberParseException:
                        return found  # the region matters: nothing is shared
                shared = None if found is None else PhoneNumberMatch(found.start, found.raw_string,
                                                                     found.number)
                gate._put(gate._plus, key, (shared,))
                return found

        class _Probe(PhoneNumberMatcher):
            """Walks the window as the matcher does when no candidate parses, and lists the
            candidates that reach ``parse`` (the region-free checks passed)."""

            seen: list[tuple[str, int]]

            def _parse_and_verify(self, candidate: str, offset: int) -> Any:
                if precheck is None or precheck(self, candidate, offset):
                    self.seen.append((candidate, offset))
                return None

        self._probe_cls = _Probe
        self._matcher_cls = _GatedMatcher
        return _GatedMatcher, _Probe

    # ------------------------------------------------------------------ metadata
    def _ensure_cc(self, cc: int) -> bool:
        """Build the length-indexed patterns of country code ``cc`` (once). False: unknown."""
        key = str(cc)
        if key in self._general:
            return key in self._lengths
        import phonenumbers
        from phonenumbers import PhoneMetadata

        general: dict[int, list[str]] = {}
        types: dict[int, list[str]] = {}
        for rc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ()):
            rm = PhoneMetadata.metadata_for_region_or_calling_code(cc, rc)
            if rm is None or rm.general_desc is None or not rm.general_desc.national_number_pattern:
                continue
            for n in (rm.general_desc.possible_length or range(1, 18)):
                general.setdefault(int(n), []).append(rm.general_desc.national_number_pattern)
            for t in _TYPES:
                d = getattr(rm, t, None)
                if d is None or not d.national_number_pattern:
                    continue
                for n in (d.possible_length or range(1, 18)):
                    types.setdefault(int(n), []).append(d.national_number_pattern)
        with self._lock:
            self._general[key] = _Union(general)
            self._types[key] = _Union(types)
            both = set(general) & set(types)
            if general and types:
                self._lengths[key] = (min(both, default=99), max(both, default=0))
        return key in self._lengths

    def _cc_region(self, cc: int) -> _Region | None:
        """The main region of ``cc`` as parse() uses it after a plus sign (its national prefix
        rules), or None when the metadata is missing."""
        key = f"+{cc}"
        r = self._regions.get(key)
        if r is None:
            import phonenumbers
            from phonenumbers import PhoneMetadata

            rc = phonenumbers.region_code_for_country_code(cc)
            meta = PhoneMetadata.metadata_for_region_or_calling_code(cc, rc)
            if meta is None or not self._ensure_cc(cc):
                return None
            nps = ((re.compile(meta.national_prefix_for_parsing), bool(meta.national_prefix_transform_rule)),
                   ) if meta.national_prefix_for_parsing else ()
            r = _Region(key, str(cc), None, nps, None, None, key)
            with self._lock:
                self._regions[key] = r
        return r

    def _plus_may_be_valid(self, r: _Region, lead_plus: bool, ds: str) -> bool:
        """For a plain candidate with a plus sign: ``parse`` reads a country code after a
        leading plus (then the default region does not matter); when there is none (the digits
        start with 0 or no 1-3 digit prefix is a country code) it retries without the plus, as
        a number of the default region. A plus that does not lead is ignored."""
        import phonenumbers

        if not lead_plus or not ds or ds[0] == "0":
            return self._may_be_valid(r, ds)
        for k in (1, 2, 3):
            cc = int(ds[:k])
            if cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                target = self._cc_region(cc)
                if target is None:
                    return True
                return self._may_be_valid(target, ds[k:], after_cc=True)
        return self._may_be_valid(r, ds)

    # ------------------------------------------------------------------ national prefix
    def _prefix_may_pass(self, r: _Region, ds: str) -> bool:
        """False only if a number that ``parse`` reads from the plain digits ``ds`` (no plus
        sign, no extension) with default region ``r`` fails the matcher's national-prefix
        check (``_is_national_prefix_present_if_required``, part of every leniency from VALID
        on): ``ds`` starts with neither an international prefix nor the country code (so the
        country code comes from the default region), no national prefix can be read at its
        start, and every national number parse() can make of it has a formatting rule that
        writes the national prefix."""
        if r.main is None or (r.idd is not None and r.idd.match(ds) is not None) or ds.startswith(r.cc):
            return True
        key = (r.code, ds)
        hit = self._prefix.get(key)
        if hit is None:
            hit = self._judge_prefix(r, ds)
            self._put(self._prefix, key, hit)
        return hit

    def _judge_prefix(self, r: _Region, ds: str) -> bool:
        from phonenumbers.phonenumberutil import _maybe_strip_national_prefix_carrier_code

        main = r.main
        rules = self._format_rules(main)
        if not _prefix_required(rules, ds):
            return True
        if _maybe_strip_national_prefix_carrier_code(ds, main)[2]:
            return True  # a national prefix (or carrier code) is there
        if r.meta is not main:
            # the national number parse() keeps may be the digits without what the default
            # region's own national prefix rule strips (then the length test decides)
            nsn = _maybe_strip_national_prefix_carrier_code(ds, r.meta)[1]
            if nsn != ds and not _prefix_required(rules, nsn):
                return True
        return False

    def _format_rules(self, meta: Any) -> tuple[tuple[Any, Any, bool], ...]:
        """``meta``'s number formats as ``_choose_formatting_pattern_for_number`` reads them:
        (last leading-digits pattern or None, pattern, writes the national prefix)."""
        key = id(meta)
        rules = self._rules.get(key)
        if rules is None:
            from phonenumbers.phonenumberutil import _formatting_rule_has_first_group_only

            out = []
            for f in meta.number_format:
                ld = re.compile(f.leading_digits_pattern[-1]) if len(f.leading_digits_pattern) > 0 else None
                rule = f.national_prefix_formatting_rule
                needs = bool(rule) and not f.national_prefix_optional_when_formatting \
                    and not _formatting_rule_has_first_group_only(rule)
                out.append((ld, re.compile(f.pattern), needs))
            rules = tuple(out)
            with self._lock:
                self._rules[key] = rules
        return rules

    # ------------------------------------------------------------------ the condition
    def _after_idd_may_be_valid(self, rest: str) -> bool:
        import phonenumbers

        if len(rest) <= 2:
            return False  # TOO_SHORT_AFTER_IDD
        for k in (1, 2, 3):
            if len(rest) >= k and int(rest[:k]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                target = self._cc_region(int(rest[:k]))
                return True if target is None else self._may_be_valid(target, rest[k:], after_cc=True)
        return False  # INVALID_COUNTRY_CODE

    def _may_be_valid(self, r: _Region, ds: str, *, after_cc: bool = False) -> bool:
        """``ds``: the digits parse() sees with default region ``r``; with ``after_cc`` the
        digits after a country code already read (only national prefixes may follow)."""
        if not after_cc and r.bounds is not None:
            lo, top = r.bounds
            idd = r.idd is not None and r.idd.match(ds) is not None
            # a national number has lo.. digits, and at most r.strip digits come before it
            # (unless an international prefix starts the string)
            if not idd and not lo <= len(ds) <= top:
                return False
            rx = self._digit_rx.get(r.sig)
            if rx is not None and not idd:
                return rx.match(ds) is not None
        key = (r.sig, ds, after_cc)
        hit = self._valid.get(key)
        if hit is None:
            hit = self._judge_digits(r, ds, after_cc)
            self._put(self._valid, key, hit)
        return hit

    def _digit_regex(self, r: _Region) -> Any:
        """One regex that matches every digit string (not led by an international prefix)
        for which :meth:`_judge_digits` is true, and very few others: the country code,
        up to two national prefixes (each at any length its pattern allows: a superset of
        the first match parse() strips), then a national number of a possible length that
        fits the general description and a number type (the same unions as :meth:`_nsn_ok`).
        Only for regions without a national prefix transform rule (``bounds`` set)."""
        gen, typ = self._general[r.cc], self._types[r.cc]
        alts = [f"(?=\\d{{{n}}}\\Z)(?=(?:{gen.source(n)})\\Z)(?:{typ.source(n)})\\Z"
                for n in sorted(gen.lengths() & typ.lengths())]
        nps = "|".join(f"(?:{rx.pattern})" for rx, _ in r.nps)
        opt = f"(?:{nps})?" if nps else ""
        return re.compile(f"(?:{r.cc})?{opt}{opt}(?:{'|'.join(alts) or '(?!)'})")

    def _judge_digits(self, r: _Region, ds: str, after_cc: bool) -> bool:
        heads = [ds]
        if not after_cc:
            m = None if r.idd is None else r.idd.match(ds)
            if m is not None and not ds.startswith("0", m.end()):
                # parse() strips the international prefix (it keeps it only when a 0 follows)
                # and then needs more than two digits starting with a country code
                return self._after_idd_may_be_valid(ds[m.end():])
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
                    if pm.end() > 0:
                        more.append(h[pm.end():])
            heads.extend(more)
        return any(self._nsn_ok(r.cc, nsn) for nsn in heads)

    def _nsn_ok(self, cc: str, nsn: str) -> bool:
        key = (cc, nsn)
        hit = self._nsn.get(key)
        if hit is None:
            g = self._general[cc].get(len(nsn))
            t = self._types[cc].get(len(nsn))
            hit = bool(g is not None and t is not None and g.fullmatch(nsn) is not None
                       and t.fullmatch(nsn) is not None)
            self._put(self._nsn, key, hit)
        return hit


#: phonenumbers versions whose ``PhoneNumberMatcher._parse_and_verify`` starts with the
#: region-free checks copied in :func:`_prechecks` (other versions: the probe lists every
#: candidate, which is always correct, only slower).
_PRECHECK_VERSIONS = frozenset({"9.0.43"})


def _prechecks() -> Any:
    """The checks ``PhoneNumberMatcher._parse_and_verify`` makes before ``parse`` (they do not
    depend on the region): brackets, publication pages, and at leniency VALID or stricter
    the characters around the candidate. False: no region can match this candidate."""
    from phonenumbers.phonenumbermatcher import (
        _LEAD_PATTERN,
        _MATCHING_BRACKETS,
        _PUB_PAGES,
        Leniency,
    )
    from phonenumbers.re_util import fullmatch

    def check(m: Any, candidate: str, offset: int) -> bool:
        if not fullmatch(_MATCHING_BRACKETS, candidate) or _PUB_PAGES.search(candidate):
            return False
        if m.leniency >= Leniency.VALID:
            if offset > 0 and not _LEAD_PATTERN.match(candidate):
                prev = m.text[offset - 1]
                if m._is_invalid_punctuation_symbol(prev) or m._is_latin_letter(prev):
                    return False
            last = offset + len(candidate)
            if last < len(m.text):
                nxt = m.text[last]
                if m._is_invalid_punctuation_symbol(nxt) or m._is_latin_letter(nxt):
                    return False
        return True

    return check


@functools.lru_cache(maxsize=8)
def shared_gate(regions: tuple[str, ...]) -> PhoneGate:
    """One gate per set of regions for the process (building one takes about half a second)."""
    return PhoneGate(regions)
