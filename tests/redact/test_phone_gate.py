"""The phone gate's shortcuts against ``phonenumbers.PhoneNumberMatcher`` itself: every
shortcut must give exactly the matcher's matches, for every default region."""

from __future__ import annotations

import random

import pytest

REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")


@pytest.fixture(scope="module")
def gate():
    from guardrails.redact._phone_gate import PhoneGate

    g = PhoneGate(REGIONS)
    assert g.enabled
    return g


def _union(window: str, leniency: int = 1) -> list[tuple[int, int]]:
    """What Presidio's phone recognizer collects: every region's matches, without repeats."""
    import phonenumbers

    found: list[tuple[int, int]] = []
    for region in REGIONS:
        for m in phonenumbers.PhoneNumberMatcher(window, region, leniency=leniency):
            if (m.start, m.end) not in found:
                found.append((m.start, m.end))
    return found


def _international(rng: random.Random) -> list[str]:
    """Valid numbers of random countries written with a plus sign, with an international
    dialling prefix, and nationally, plus random-digit look-alikes with a plus sign."""
    import phonenumbers
    from phonenumbers import PhoneNumberFormat as Fmt
    from phonenumbers import PhoneNumberType as Typ

    out = []
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    for rc in rng.sample(regions, 60):
        for t in (Typ.FIXED_LINE, Typ.MOBILE):
            n = phonenumbers.example_number_for_type(rc, t)
            if n is None:
                continue
            intl = phonenumbers.format_number(n, Fmt.INTERNATIONAL)
            out += [intl, phonenumbers.format_number(n, Fmt.E164), intl.replace(" ", "-"),
                    intl.replace("+", "00", 1), phonenumbers.format_number(n, Fmt.NATIONAL),
                    # a plus before a dialling prefix: only regions with that prefix read it
                    intl.replace("+", "+00 ", 1), intl.replace("+", "+011 ", 1)]
    for rc in REGIONS:  # a plus sign before a national number: parse() falls back to the region
        for t in (Typ.FIXED_LINE, Typ.MOBILE, Typ.TOLL_FREE):
            n = phonenumbers.example_number_for_type(rc, t)
            if n is not None:
                nat = phonenumbers.format_number(n, Fmt.NATIONAL)
                out += ["+" + nat, "+ " + nat.replace(" ", ""), "+0" + str(n.national_number)]
    for _ in range(120):
        cc = rng.choice(["1", "44", "49", "33", "972", "91", "55", "7", "86", "0", "999", "42", "80"])
        groups = " ".join(str(rng.randrange(10 ** k)).zfill(k) for k in rng.choice([(3, 3, 4), (2, 4, 4), (4, 6),
                                                                                       (1, 2, 2, 2, 2), (3,), (9,)]))
        out.append(rng.choice(["+", "+ ", "\uff0b", "+(", "00"]) + cc + rng.choice([" ", "-", "", " (0)"]) + groups)
    return out


def _windows(rng: random.Random) -> list[str]:
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    seps = [" ", "-", ".", "/", " - ", ") ", "(", "", "\u00a0", ":", ",", "\n", " x ", "#", " ext ", ";", " or "]
    out = []
    for number in _international(rng):
        out.append(rng.choice(["call ", "a ", "(", "", "tel: ", "! "]) + number + rng.choice(["", " now", ":", "x12"]))
    for _ in range(300):  # several numbers in one window: plus-led and national ones mixed
        parts = [rng.choice(_international(rng)) if rng.random() < 0.5 else digits(rng.choice([3, 4, 7, 10, 11]))
                 for _ in range(rng.randint(2, 3))]
        out.append(rng.choice(["", "a ", "! "]) + rng.choice(seps).join(parts) + rng.choice(["", " is", "\n"]))
    for _ in range(200):  # dates, times, ids: mostly nothing
        out.append(f"{digits(4)}-{digits(2)}-{digits(2)} {digits(2)}:{digits(2)} ref {digits(rng.randint(4, 16))}")
    return out


def test_spans_equal_the_matcher_over_all_regions(gate):
    rng = random.Random(21)
    windows = _windows(rng)
    hits = 0
    for w in windows:
        want = _union(w)
        assert gate.spans(w, 1) == want, w
        hits += bool(want)
    assert hits > 300  # real numbers are found, not only rejected


def test_spans_keep_region_order(gate):
    """Matches come in Presidio's order: region by region, first finder first."""
    w = "call 0201 234 5678 or (212) 555-0199 or +44 20 7946 0958 today"
    assert gate.spans(w, 1) == _union(w)


def test_region_free_candidates_parse_alike_everywhere():
    """A plus sign and a country code: parse() and the matcher's verification give the same
    answer for every default region (the probe then runs one matcher for all of them)."""
    from phonenumbers.phonenumbermatcher import PhoneNumberMatcher

    from guardrails.redact._phone_gate import _region_free, _shape

    rng = random.Random(4)
    free = 0
    for number in _international(rng):
        window = "tel " + number + " ok"
        if not _region_free(_shape(number)):
            continue
        free += 1
        answers = set()
        for region in REGIONS:
            m = PhoneNumberMatcher(window, region, leniency=1)._parse_and_verify(number, 4)
            answers.add(None if m is None else (m.start, m.end, str(m.number)))
        assert len(answers) == 1, number
    assert free > 100


def test_probe_lists_what_the_matcher_parses(gate):
    """The probe's candidates are those a matcher whose parses all fail tries, in order."""
    from phonenumbers.phonenumbermatcher import PhoneNumberMatcher

    tried: list[tuple[str, int]] = []

    class Recorder(PhoneNumberMatcher):  # type: ignore[misc]
        def _parse_and_verify(self, candidate, offset):
            tried.append((candidate, offset))
            return super()._parse_and_verify(candidate, offset)

    _, probe_cls = gate._classes()
    rng = random.Random(8)
    for w in _windows(rng)[::7]:
        tried.clear()
        found = list(Recorder(w, "US", leniency=1))
        probe = probe_cls(w, "US", leniency=1)
        probe.seen = []
        assert list(probe) == []
        if not found:  # the walks agree when nothing matches
            assert set(probe.seen) <= set(tried), w
            assert [t for t in tried if t in set(probe.seen)] == probe.seen, w


def test_hostile_windows_do_not_break_the_probe(gate):
    for w in ("", "+", "++++", "(" * 50 + "1" * 30, "1" * 400, "+1 " * 100, "\u0661" * 40, "x" * 10 + "5" * 17,
              "12:30:45 12/01/2024 1-2-3-4-5-6-7-8-9-0", "\ud800 555 0199 \udfff"):
        assert gate.spans(w, 1) == _union(w), w


def test_national_numbers_without_their_national_prefix(gate):
    """Numbers written nationally with and without the national prefix ("20 7946 0958" for
    GB needs its 0; US numbers need no 1): the national-prefix condition of the gate never
    drops a match of any region's matcher, and drops the parses that would fail."""
    import phonenumbers
    from phonenumbers import PhoneNumberFormat as Fmt
    from phonenumbers import PhoneNumberType as Typ

    rng = random.Random(17)
    windows = []
    for rc in (*REGIONS, "IT", "MX", "AR", "JP", "CN", "RU", "ES", "NL", "AU"):
        for t in (Typ.FIXED_LINE, Typ.MOBILE, Typ.TOLL_FREE, Typ.PREMIUM_RATE, Typ.VOIP, Typ.UAN):
            n = phonenumbers.example_number_for_type(rc, t)
            if n is None:
                continue
            nsn = phonenumbers.national_significant_number(n)
            nat = phonenumbers.format_number(n, Fmt.NATIONAL)
            prefix = phonenumbers.ndd_prefix_for_region(rc, True) or ""
            bare = nat[len(prefix):].lstrip() if prefix and nat.startswith(prefix) else nat
            for form in (nat, bare, nsn, prefix + nsn, nsn[:-1], "1" + nsn, nsn + "9", nat.replace(" ", "-")):
                windows.append(rng.choice(["call ", "a ", "! ", ""]) + form + rng.choice(["", " now", "."]))
    for _ in range(200):
        d = "".join(rng.choice("0123456789") for _ in range(rng.choice([7, 8, 9, 10, 11, 12])))
        windows.append("no. " + rng.choice([d, d[:3] + " " + d[3:], d[:2] + " " + d[2:6] + " " + d[6:]]))
    hits = 0
    for w in windows:
        want = _union(w)
        assert gate.spans(w, 1) == want, w
        for region in REGIONS:  # the per-region gated matcher too
            plain = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(w, region, leniency=1)]
            assert gate.matches(w, region, 1) == plain, (w, region)
        hits += bool(want)
    assert hits > 50


def test_digit_regex_accepts_whatever_the_metadata_test_accepts(gate):
    """The one-regex form of the digit test (used for the default regions) is never stricter
    than the step-by-step test, on random digit strings and on real national numbers."""
    import phonenumbers

    rng = random.Random(29)
    samples = ["".join(rng.choice("0123456789") for _ in range(rng.randint(3, 16))) for _ in range(4000)]
    for rc in REGIONS:
        for t in range(12):
            n = phonenumbers.example_number_for_type(rc, t)
            if n is not None:
                nsn = phonenumbers.national_significant_number(n)
                samples += [nsn, "0" + nsn, "1" + nsn, str(n.country_code) + nsn, str(n.country_code) + "0" + nsn]
    checked = accepted = 0
    for r in gate._order:
        rx = gate._digit_rx.get(r.sig)
        if rx is None:
            continue
        for ds in samples:
            if r.idd is not None and r.idd.match(ds):
                continue
            exact = gate._judge_digits(r, ds, False)
            accepted += exact
            checked += 1
            assert not exact or rx.match(ds) is not None, (r.code, ds)
    assert checked > 20000 and accepted > 200
