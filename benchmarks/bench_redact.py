"""Redaction benchmark: detection quality on the DEV files and speed against Presidio.

Speed: the same recognizers (Presidio's predefined ones for the target entities, the secret
recognizers and the shape recognizers) run through Presidio's ``AnalyzerEngine`` with the
``no_op`` NLP engine and through the fast path, side by side on the same texts, in one run.
Each engine runs over the same batch of texts in its own loop (interleaving them per text
leaves the CPU caches cold for whichever runs second: the fast path then measures 84 us
instead of 14-26 us on 1 KB prose); the pair of loops runs five times and each text keeps
its fastest time per engine. Times are the thread's CPU time (``time.thread_time``), so
other jobs on a shared machine do not count (cache sharing still does). The fast path's
caches are cleared before every text. Medians per text; the load average is printed.

    .venv/bin/python benchmarks/bench_redact.py [--bench ../shared/bench] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, write_section

from guardrails.evals.common import format_table, read_jsonl
from guardrails.evals.pii import TARGET_ENTITIES, evaluate_pii
from guardrails.evals.secrets import evaluate_secrets
from guardrails.redact.redactor import Redactor

_REPEATS = 5


def _load() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


def build(pool: list[str], size: int, rng: random.Random) -> str:
    out: list[str] = []
    while sum(len(x) + 1 for x in out) < size:
        out.append(rng.choice(pool))
    return " ".join(out)[:size]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default=str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    bench = Path(a.bench)
    warnings.simplefilter("ignore")
    from guardrails.redact.fastpath import FastAnalyzer
    from guardrails.redact.presidio_bridge import analyzer_engine, build_recognizers

    ents = (*TARGET_ENTITIES, "SECRET")
    recs = build_recognizers(ents)
    fast = FastAnalyzer(recs)
    engine = analyzer_engine(recs)
    rng = random.Random(0)

    pii_recs = read_jsonl(bench / "pii_spans_dev.jsonl")
    texts = read_jsonl(bench / "texts_dev.jsonl")
    docs = [t["text"] for t in texts if t["label"] == "benign" and t["kind"] in ("document", "tool_output")]
    quiet = [t for t in docs[:1500] if not engine.analyze(t, language="en")]
    plain = [t for t in quiet if not any(c.isdigit() for c in t)]
    families = {
        "prose without PII or digits": plain,
        "prose without PII (benign documents where Presidio finds nothing)": quiet,
        "benign documents and tool outputs (numbers, dates, ids)": docs,
        "PII-dense (synthetic PII sentences)": [r["text"] for r in pii_recs],
    }
    rows = []
    load_before = _load()
    for fam, pool in families.items():
        for size, n in ((1_000, 30), (10_000, 10)):
            batch = [build(pool, size, rng) for _ in range(n)]
            tp = [float("inf")] * n
            tf = [float("inf")] * n
            for _ in range(_REPEATS):
                for i, t in enumerate(batch):  # Presidio over the batch, then the fast path
                    t0 = time.thread_time()
                    engine.analyze(t, language="en")
                    tp[i] = min(tp[i], time.thread_time() - t0)
                for i, t in enumerate(batch):
                    fast.clear_cache()  # cold caches for every text
                    t0 = time.thread_time()
                    fast.analyze_results(t)
                    tf[i] = min(tf[i], time.thread_time() - t0)
            mp, mf = statistics.median(tp), statistics.median(tf)
            rows.append([fam, f"{size // 1000} KB", f"{mp * 1e3:.2f} ms", f"{mf * 1e6:.0f} us", f"{mp / mf:.0f}x"])
            print(rows[-1], flush=True)
    t = build(plain, 1_000, rng)
    lat = []
    for _ in range(3000):
        t0 = time.perf_counter()
        fast.analyze_results(t)
        lat.append(time.perf_counter() - t0)
    p50 = statistics.median(lat) * 1e6
    load_after = _load()
    speed = format_table(["texts", "size", "Presidio (no_op) median", "fast path median", "speed-up"], rows)

    pii = evaluate_pii(pii_recs, redactor=Redactor(TARGET_ENTITIES), progress=False)
    prow = [[e, r["gold"], r["predicted"], r["precision"], r["recall"]]
            for e, r in pii.by_entity.items() if r["detected"]]
    o = pii.overall
    prow.append(["overall", o["gold"], o["predicted"], o["precision"], o["recall"]])
    sec = evaluate_secrets(read_jsonl(bench / "secrets_dev.jsonl"), redactor=Redactor(("SECRET",)),
                           progress=False)
    so = sec["overall"]
    body = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')}, {machine()}, prefilter: {fast.engine}. "
        "Reproduce: `.venv/bin/python benchmarks/bench_redact.py`.",
        "",
        "### Detection quality (`perimeter eval pii` / `perimeter eval secrets`, DEV files)",
        "",
        "`pii_spans_dev.jsonl` (1,096 records; a hit = same type and at least 50% overlap both ways; "
        "threshold 0.5):",
        "",
        format_table(["entity", "gold", "predicted", "precision", "recall"], prow),
        "",
        f"Latency per record: p50 {o['latency_p50_us']:.0f} us, p99 {o['latency_p99_us']:.0f} us.",
        "",
        f"`secrets_dev.jsonl` ({so['secret']} secret / {so['no_secret']} no_secret): recall "
        f"**{so['recall']:.3f}**, false-positive rate **{so['fpr']:.3f}** "
        f"(tp {so['tp']}, fn {so['fn']}, fp {so['fp']}).",
        "",
        "### Speed against Presidio, same recognizers, same texts, one run",
        "",
        f"Thread CPU time, fastest of {_REPEATS} runs per text and engine, median over the texts "
        "(30 texts of 1 KB, 10 of 10 KB per row).",
        "",
        speed,
        "",
        f"1 KB prose without PII or digits, fast path alone, 3,000 runs (wall clock): **p50 {p50:.1f} us**.",
        "",
        f"Load average (1/5/15 min) before the speed runs {load_before}, after {load_after} "
        "(2 cores shared with other jobs).",
        "",
        "The fast path's results equal Presidio's on the same recognizers "
        "(`tests/redact/test_fastpath_equivalence.py`: mixed samples, DEV sentences, synthetic "
        "phone-heavy prose, digit tables and log lines; the phone gates against `PhoneNumberMatcher` "
        "on random digit windows and on valid example numbers of many countries; "
        "`tests/redact/test_phone_gate.py`: valid numbers of 60 random countries in 7 written forms, "
        "with and without national prefixes). Presidio's phone recognizer runs `phonenumbers`' matcher "
        "for 8 regions over the whole text. The fast path walks each window around a digit chain once "
        "to list the candidates any region's matcher would try, parses only those that the country "
        "metadata allows (length, country code, national-prefix rules; `guardrails/redact/_phone_gate.py`), "
        "and runs a region's whole matcher only when one of them parses. What remains on PII-dense text "
        "is irreducible with equal results: on a 1 KB text of the PII-dense row, about 1.2 "
        "`phonenumbers` parse-and-verify calls on real numbers (at least 50 µs each, 75-140 µs under "
        "load) plus about 10 calls of Presidio's own validators (card checksums, e-mail domains; about "
        "100 µs), together more than that row's 100x budget (about 94 µs), so it stays far below 100x. "
        "Reaching it would mean re-implementing `phonenumbers`' "
        "parsing and Presidio's validators, which the equal-results requirement rules out.",
    ])
    print(body)
    if not a.no_write:
        write_section("## Redaction", body)
    print(json.dumps({"p50_1kb_no_pii_us": p50}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
