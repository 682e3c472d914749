"""``perimeter eval secrets``: recall and false-positive rate on ``{"text", "label"}`` JSONL
(label ``secret`` / ``no_secret``). A record counts as flagged when at least one ``SECRET``
detection reaches the threshold; per-``plugin`` rows when the records carry that field."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from .common import Progress, percentile

__all__ = ["evaluate_secrets"]


def evaluate_secrets(records: Sequence[dict[str, Any]], *, redactor: Any,
                     progress: bool = True) -> dict[str, Any]:
    bar = Progress(len(records), "eval secrets")
    if not progress:
        bar.enabled = False
    redactor.warm()
    groups: dict[str, list[int]] = {}
    lat: list[float] = []
    tp = fn = fp = tn = 0
    for n, rec in enumerate(records, 1):
        text, label = rec.get("text"), rec.get("label")
        if not isinstance(text, str) or label not in ("secret", "no_secret"):
            raise InputError(f"record {n}: needs 'text' and 'label' ('secret' or 'no_secret')")
        t0 = time.perf_counter()
        flagged = any(d.entity == "SECRET" for d in redactor.analyze(text))
        lat.append(time.perf_counter() - t0)
        g = groups.setdefault(str(rec.get("plugin", "all")), [0, 0, 0, 0])
        if label == "secret":
            if flagged:
                tp += 1
                g[0] += 1
            else:
                fn += 1
                g[1] += 1
        elif flagged:
            fp += 1
            g[2] += 1
        else:
            tn += 1
            g[3] += 1
        bar.update()
    bar.close()

    def row(a: int, b: int, c: int, d: int) -> dict[str, Any]:
        return {"secret": a + b, "no_secret": c + d, "tp": a, "fn": b, "fp": c, "tn": d,
                "recall": a / (a + b) if a + b else float("nan"),
                "fpr": c / (c + d) if c + d else float("nan")}

    overall = {**row(tp, fn, fp, tn), "records": len(records),
               "latency_p50_us": percentile(lat, 50) * 1e6, "latency_p99_us": percentile(lat, 99) * 1e6}
    return {"overall": overall, "by_entity": {k: row(*v) for k, v in sorted(groups.items())}}
