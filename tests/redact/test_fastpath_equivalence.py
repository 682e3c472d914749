"""The fast path must return exactly what Presidio's AnalyzerEngine (no_op) returns with the
same recognizers."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import pytest

from guardrails.redact.fastpath import FastAnalyzer, relax_pattern
from guardrails.redact.presidio_bridge import analyzer_engine, predefined_recognizers
from guardrails.redact.secrets import secret_recognizers

BENCH = Path(__file__).resolve().parents[3] / "shared" / "bench"

SAMPLES = [
    "call (212) 555-0199 or +44 20 7946 0958, fax 030 1234567",
    "card 4111-1111-1111-1111 exp 12/27; backup 5500 0000 0000 0004",
    "IBAN DE89 3704 0044 0532 0130 00 and GB82WEST12345698765432",
    "ssn 078-05-1120, 219 09 9999, 457555462",
    "ip 192.168.1.1 and 2001:0db8:85a3::8a2e:0370:7334 and ::1",
    "mail bob.o'neil+tag@sub.example.co.uk, not@localhost, x@y",
    "ſtrange K\u212aelvin İstanbul \u0661\u0662\u0663-\u0664\u0665\u0666-\u0667\u0668\u0669\u0660 digits",
    "\ufeffzero\u200bwidth 212\u200b555\u200b0199 and full-width \uff12\uff11\uff12\uff15\uff15\uff15\uff10\uff11\uff19\uff19",
    "lone surrogate \ud800 next to bob@example.com \udfff",
    "2024-05-15 12:00:00 order 55512 shipped, total 1,234.56 USD, ref 0000-1111",
    "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 and AKIAIOSFODNN7EXAMPLE and xoxb-123-456-abc",
    "tel. +1-903-140-4508x769 ext. 12 and 555-1234 ext 99 and 555-9876 x 5",
]


def _random_texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    alphabet = "0123456789     ---..()+/@xX:abcdefgh\n\u00a0\u2013ſK\u0661"
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            kind = rng.random()
            if kind < 0.4:
                parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))))
            elif kind < 0.6:
                parts.append(rng.choice(SAMPLES))
            else:
                parts.append(rng.choice(["call", "phone", "card", "ip", "email", "the", "Fax:", "IBAN"]))
        out.append(" ".join(parts))
    return out


def _texts() -> list[str]:
    texts = list(SAMPLES) + _random_texts(400)
    f = BENCH / "pii_spans_dev.jsonl"
    if f.exists():
        texts += [json.loads(line)["text"] for line in f.open(encoding="utf-8")][:600]
    return texts


def _differences(fast, engine, texts, *, cold: bool = False) -> list:
    """(text excerpt, differing results) for every text where the fast path and Presidio disagree;
    ``cold``: clear the fast path's caches before each text."""
    diffs = []
    for t in texts:
        if cold:
            fast.clear_cache()
        a = _key(engine.analyze(t, language="en"))
        b = _key(fast.analyze_results(t))
        if a != b:
            diffs.append((t[:80], sorted(set(a) ^ set(b))[:4]))
    return diffs


def _key(results: list) -> list:
    return sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in results)


@pytest.fixture(scope="module")
def pair():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from guardrails.redact.extra import supplementary_recognizers

        extra = [r for group in supplementary_recognizers().values() for r in group]
        recs = predefined_recognizers() + list(secret_recognizers()) + extra
        return FastAnalyzer(recs), analyzer_engine(recs)


def test_same_results_as_presidio(pair):
    fast, engine = pair
    texts = _texts()
    diffs = _differences(fast, engine, texts)
    assert not diffs, diffs[:5]
    assert len(texts) > 400


def test_prefilter_finds_nothing_in_plain_prose(pair):
    fast, _ = pair
    text = "The team reviewed the plan and agreed to ship it next week after the review. " * 12
    assert fast.analyze_results(text) == []


def test_every_pattern_is_prefiltered(pair):
    fast, _ = pair
    assert fast.stats["always"] == 0


@pytest.mark.parametrize("pattern,relaxed", [
    (r"\bab(?=c)", "ab"),
    (r"(?<!\d)\d{3}(?!\d)", r"[\d\x{80}-\x{10FFFF}]{3}"),
    (r"^x$", "x"),
    (r"(?P<n>a)\1", "(a)(?:a)"),
])
def test_relax_pattern(pattern, relaxed):
    assert relax_pattern(pattern) == relaxed


def test_short_number_tables_match_phonenumbers():
    import phonenumbers

    from guardrails.redact._phone_short import PHONENUMBERS_VERSION, VALID_4, VALID_5

    if phonenumbers.__version__ != PHONENUMBERS_VERSION:
        pytest.skip("other phonenumbers metadata: the fast path does not use the tables")
    regions = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
    rng = random.Random(3)
    sample = [str(rng.randrange(10**5)).zfill(5) for _ in range(150)] + sorted(VALID_5)[::20]
    sample += [str(rng.randrange(10**4)).zfill(4) for _ in range(150)] + sorted(VALID_4)[::5]
    from guardrails.redact._phone_six import valid_6

    sample += [str(rng.randrange(10**6)).zfill(6) for _ in range(150)]
    sample += ["016400", "016899", "116950", "499999", "500000"]
    for d in sample:
        found = any(True for r in regions
                    for _ in phonenumbers.PhoneNumberMatcher(f"call {d} now", r, leniency=1))
        expected = valid_6(d) if len(d) == 6 else d in (VALID_5 if len(d) == 5 else VALID_4)
        assert found == expected, d


def test_short_chains_with_context(pair):
    fast, engine = pair
    texts = ["in 2024, (1645) and +2024 or 1645-1 x 2024 and 12 345 then 16-45 and 99999",
             "order 123456, ref 016400 and 01 64 00, amount 250 000, code 1-164-000",
             "ab1645cd 1645% $1645 20 24 ext 12 and 0049 1645"]
    for t in texts:
        assert _key(engine.analyze(t, language="en")) == _key(fast.analyze_results(t))


# ---------------------------------------------------------------- dense, digit-heavy texts
def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _phone(rng: random.Random) -> str:
    """A random number in one of many written formats (random digits, so mostly invalid)."""
    d = lambda n: _digits(rng, n)  # noqa: E731
    return rng.choice([
        f"({d(3)}) {d(3)}-{d(4)}", f"{d(3)}-{d(3)}-{d(4)}", f"{d(3)}.{d(3)}.{d(4)}", f"+1 {d(3)} {d(3)} {d(4)}",
        f"+44 {d(2)} {d(4)} {d(4)}", f"0{d(2)} {d(4)} {d(4)}", f"+49 (0){d(2)} {d(6)}", f"0{d(3)}/{d(7)}",
        f"+33 {d(1)} {d(2)} {d(2)} {d(2)} {d(2)}", f"0{d(1)}.{d(2)}.{d(2)}.{d(2)}.{d(2)}", f"+91 {d(5)} {d(5)}",
        f"+972-{d(1)}-{d(3)}-{d(4)}", f"0{d(1)}-{d(7)}", f"+55 {d(2)} {d(5)}-{d(4)}", f"{d(10)}", f"{d(11)}",
        f"00{d(2)} {d(3)} {d(6)}", f"011 {d(2)} {d(4)} {d(4)}", f"1-800-{d(3)}-{d(4)}", f"{d(3)}-{d(4)} x{d(3)}",
        f"{d(3)} {d(3)} {d(4)} ext. {d(2)}", f"+{d(2)} {d(3)} {d(3)} {d(3)}", f"{d(4)} {d(3)} {d(3)}",
        f"(0{d(3)}) {d(6)}", f"{d(2)} {d(2)} {d(2)} {d(2)} {d(2)}", f"{d(5)} {d(6)}", f"[{d(3)}] {d(3)}-{d(4)}",
    ])


def _dense_texts(n: int, seed: int = 11) -> list[str]:
    """Synthetic phone-heavy prose, digit-heavy tables and log lines (random digits)."""
    rng = random.Random(seed)
    d = lambda k: _digits(rng, k)  # noqa: E731
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:  # prose with many numbers
            parts = [rng.choice(["Call", "Fax:", "Reach me at", "Office", "Or try", "Mobile", "ref", "Order"])
                     + " " + rng.choice([_phone(rng), d(rng.randint(4, 16)), f"{d(4)}-{d(2)}-{d(2)}"])
                     + rng.choice([".", ",", ";", " or", " and", "\n"]) for _ in range(rng.randint(4, 12))]
            out.append(" ".join(parts))
        elif kind == 1:  # a table
            rows = ["| id | phone | card | amount | date |", "|---|---|---|---|---|"]
            for _ in range(rng.randint(3, 10)):
                rows.append(f"| {d(rng.randint(3, 8))} | {_phone(rng)} | {d(4)} {d(4)} {d(4)} {d(4)} | "
                            f"{d(rng.randint(1, 5))}.{d(2)} | {d(2)}/{d(2)}/{d(4)} |")
            out.append("\n".join(rows))
        else:  # log lines
            lines = []
            for _ in range(rng.randint(3, 10)):
                lines.append(f"2026-{d(2)}-{d(2)}T{d(2)}:{d(2)}:{d(2)}.{d(3)}Z pid={d(5)} "
                             f"ip={rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)} "
                             f"caller={_phone(rng)} took {d(3)}ms seq={d(rng.randint(6, 14))} "
                             f"amount={d(3)},{d(3)}.{d(2)}")
            out.append("\n".join(lines))
    return out


def test_same_results_as_presidio_on_dense_digit_texts(pair):
    fast, engine = pair
    diffs = _differences(fast, engine, _dense_texts(60))
    assert not diffs, diffs[:5]


def test_phone_gate_agrees_with_the_matcher():
    """The region gate and the per-candidate gate never drop a match of PhoneNumberMatcher."""
    import phonenumbers

    from guardrails.redact._phone_gate import PhoneGate

    regions = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
    gate = PhoneGate(regions)
    assert gate.enabled
    rng = random.Random(5)
    prefixes = ["", "0", "00", "011", "1", "44", "49", "33", "972", "91", "55", "90", "(0)", "1-", "(", "+", "+1 "]
    seps = [" ", "-", ".", "/", " - ", ") ", "(", "", "\u00a0", ":", ",", "\n", " x ", "#", " ext ", ";"]
    windows = []
    for _ in range(700):
        k = rng.randint(1, 4)
        body = rng.choice(prefixes) + rng.choice(seps).join(
            _digits(rng, rng.choice([1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 10, 11, 13, 16])) for _ in range(k))
        windows.append(rng.choice(["a ", "! ", "% ", "", "$"]) + body + rng.choice(["", " is", ":", "\n", "x"]))
    windows += [_phone(rng) for _ in range(300)]
    pruned = 0
    for w in windows:
        keep = gate.regions(w)
        for r in regions:
            want = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(w, r, leniency=1)]
            got = gate.matches(w, r, 1) if r in keep else []
            pruned += r not in keep
            assert got == want, (w, r)
    assert pruned > 1000  # the gate does skip work


def test_phone_gate_judges_only_plain_windows():
    from guardrails.redact._phone_gate import PhoneGate

    regions = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
    gate = PhoneGate(regions)
    assert gate.regions("no digits at all") == ()
    assert gate.regions("a 3544270487356962 is") == ()  # a card number: no region can validate it
    for w in ("+1 5", "12 ext 34", "\u0661\u0662\u0663\u0664\u0665", "5" * 300, "12 x 34", "1#2"):
        assert gate.regions(w) == regions, w
    assert gate.may_parse("", "US") is False and gate.may_parse("7", "US") is False
    assert gate.may_parse("+44 20 7946 0958", "US") is True


def test_phone_gate_keeps_every_valid_number():
    """Valid example numbers of many countries, written in international, national and
    dialling-prefix forms: the gated matcher finds exactly what the matcher finds."""
    import phonenumbers
    from phonenumbers import PhoneNumberFormat as Fmt
    from phonenumbers import PhoneNumberType as Typ

    from guardrails.redact._phone_gate import PhoneGate

    regions = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
    gate = PhoneGate(regions)
    rng = random.Random(9)
    numbers = []
    for rc in sorted(phonenumbers.SUPPORTED_REGIONS)[::4] + list(regions):
        for t in (Typ.FIXED_LINE, Typ.MOBILE, Typ.TOLL_FREE):
            n = phonenumbers.example_number_for_type(rc, t)
            if n is not None:
                numbers.append(n)
    found = 0
    for n in numbers:
        intl = phonenumbers.format_number(n, Fmt.INTERNATIONAL)
        nat = phonenumbers.format_number(n, Fmt.NATIONAL)
        forms = [phonenumbers.format_number(n, Fmt.E164), intl, nat, intl.replace("+", "00", 1),
                 intl.replace("+", "011 ", 1), intl[1:], nat.replace(" ", "-"), nat.replace(" ", ""),
                 nat + " x12", intl + "x345"]
        for f in forms:
            w = rng.choice(["call ", "a ", "(", ""]) + f + rng.choice(["", " now", ":"])
            keep = gate.regions(w)
            for r in regions:
                want = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(w, r, leniency=1)]
                assert (gate.matches(w, r, 1) if r in keep else []) == want, (w, r)
                found += bool(want)
    assert found > 500


def _long_texts(n: int, seed: int = 13) -> list[str]:
    """Long texts (2-10 KB) where candidates crowd: runs of IP addresses, IBANs, e-mail
    addresses and card numbers back to back, next to prose, tables and log lines (patterns
    with short matches are prefiltered without start-of-match: their windows start a whole
    match width before each end, so neighbouring matches share windows)."""
    rng = random.Random(seed)
    d = lambda k: _digits(rng, k)  # noqa: E731
    pieces = [
        lambda: ".".join(str(rng.randint(0, 255)) for _ in range(4)),
        lambda: f"{rng.randint(1, 9)}::{d(2)}:ffff:{rng.randint(0, 255)}.{rng.randint(0, 255)}.1.{rng.randint(0, 9)}",
        lambda: "2001:db8:" + ":".join(f"{rng.randrange(65536):x}" for _ in range(rng.randint(2, 6))),
        lambda: rng.choice(["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR14 2004 1010 0505 0001 3M02 606",
                            "DE" + d(20), "NL91ABNA" + d(10)]),
        lambda: f"{rng.choice(['bob', 'a.b-c', 'x' * 40])}@{rng.choice(['example.com', 'mail.co.uk', 'h'])}",
        lambda: rng.choice(["4111 1111 1111 1111", "5500-0000-0000-0004", d(16), d(4) + " " + d(4)]),
        lambda: rng.choice(SAMPLES),
        lambda: f"{d(3)}-{d(2)}-{d(4)}",
        lambda: rng.choice(["the", "and", "call", "ip", "card", "IBAN", "ssn", "mail"]),
    ]
    out = []
    for _ in range(n):
        size = rng.randint(2_000, 10_000)
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < size:
            if rng.random() < 0.1:
                parts.append(rng.choice(_dense_texts(3, seed=rng.randrange(1000))))
            else:
                parts.append(rng.choice(pieces)())
            parts.append(rng.choice([" ", ", ", "; ", "\n", "", "/", ":"]))
        out.append("".join(parts))
    return out


def test_same_results_as_presidio_on_long_crowded_texts(pair):
    fast, engine = pair
    diffs = _differences(fast, engine, _long_texts(12), cold=True)
    assert not diffs, diffs[:3]


def test_short_chains_with_unicode_dashes_and_digits(pair):
    """Short chains written with non-ASCII dashes or digits take the slower digit reading:
    same results as Presidio either way."""
    fast, engine = pair
    texts = ["years 1900\u20131947, 1955\u20141970 and 16\u201345; pages 431 \u2013 687, 2.648 \u2013 2.691",
             "\u0661\u0666\u0664\u0665 and \u0661\u0666\u0664\u0665\u2013\u0661\u0662 or \uff11\uff16\uff14\uff15 x 2",
             "range 01640\u201301699, code 1\u2212164\u2212000, id 016400\u00a0and 1645\u2012x"]
    for t in texts:
        fast.clear_cache()
        assert _key(engine.analyze(t, language="en")) == _key(fast.analyze_results(t)), t
