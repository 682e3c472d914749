"""Evaluate the injection detector on labelled texts (``perimeter eval texts`` and the benchmark).

Input: JSONL records ``{"id", "text", "label": "injection"|"benign", "source", "kind"}``. Each
record is screened as the event kind it would reach an agent as (``KIND_MAP``), with the
thresholds of the default manifest settings unless told otherwise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..detect import InjectionDetector, default_detector
from ..errors import InputError
from .common import Progress, format_table, percentile

__all__ = [
    "KIND_MAP",
    "METRIC_KEYS",
    "Outcome",
    "evaluate_texts",
    "format_report",
    "metrics",
    "parse_kind_map",
]

KIND_MAP: Mapping[str, str] = {
    "direct": "input", "user_request": "input", "system_prompt": "input", "harmful_plain": "input",
    "indirect": "tool_result", "document": "tool_result", "tool_output": "tool_result",
    "hard_negative": "tool_result",
}
METRIC_KEYS = ("n", "recall", "fpr", "precision", "f1", "latency_us_p50", "latency_us_p99")
_EVENT_KINDS = {"input", "tool_result", "message", "output", "model_output", "tool_call"}


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    source: str
    kind: str
    event_kind: str
    label: bool  # True = injection
    flagged: bool
    score: float
    latency_us: float
    chars: int


def parse_kind_map(spec: str | None) -> dict[str, str]:
    """``default``, or the default with overrides ``kind=event_kind,kind=event_kind``."""
    out = dict(KIND_MAP)
    if not spec or spec == "default":
        return out
    for part in spec.split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        if not sep or v.strip() not in _EVENT_KINDS:
            raise InputError(f"--kind-map: expected 'default' or kind=event_kind pairs "
                             f"(event kinds: {', '.join(sorted(_EVENT_KINDS))}), got {part!r}")
        out[k.strip()] = v.strip()
    return out


def _record_fields(rec: Mapping[str, Any], n: int) -> tuple[str, str, str, bool]:
    text = rec.get("text")
    label = rec.get("label")
    if not isinstance(text, str) or label not in ("injection", "benign"):
        raise InputError(f"record {n}: needs 'text' (string) and 'label' ('injection' or 'benign')")
    return text, str(rec.get("source", "unknown")), str(rec.get("kind", "unknown")), label == "injection"


def evaluate_texts(records: Sequence[Mapping[str, Any]], *, detector: InjectionDetector | None = None,
                   kind_map: Mapping[str, str] | None = None, threshold: Callable[[str], float] | None = None,
                   progress: Progress | None = None) -> list[Outcome]:
    """Screen every record; returns one Outcome per record (in order)."""
    det = detector or default_detector()
    km = kind_map or KIND_MAP
    if threshold is None:
        from ..manifest import InjectionSettings

        settings = InjectionSettings()
        threshold = settings.threshold_for
    out: list[Outcome] = []
    clock = time.perf_counter_ns
    for n, rec in enumerate(records, 1):
        text, source, kind, label = _record_fields(rec, n)
        ev_kind = km.get(kind, "tool_result" if kind not in km else km[kind])
        thr = threshold(ev_kind)
        t0 = clock()
        res = det.scan(text, kind=ev_kind, threshold=thr)
        dt = (clock() - t0) / 1000.0
        out.append(Outcome(str(rec.get("id", n)), source, kind, ev_kind, label, res.flagged, res.score,
                           dt, len(text)))
        if progress is not None:
            progress.update()
    if progress is not None:
        progress.close()
    return out


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def metrics(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """n, recall (on injection), fpr (on benign), precision, f1, latency p50/p99 in µs."""
    items = list(outcomes)
    tp = sum(1 for o in items if o.label and o.flagged)
    fn = sum(1 for o in items if o.label and not o.flagged)
    fp = sum(1 for o in items if not o.label and o.flagged)
    tn = sum(1 for o in items if not o.label and not o.flagged)
    recall = tp / (tp + fn) if tp + fn else math.nan
    fpr = fp / (fp + tn) if fp + tn else math.nan
    precision = tp / (tp + fp) if tp + fp else math.nan
    f1 = (2 * precision * recall / (precision + recall)
          if not (math.isnan(precision) or math.isnan(recall)) and precision + recall else math.nan)
    lat = [o.latency_us for o in items]
    return {
        "n": len(items),
        "recall": _nan_to_none(recall),
        "fpr": _nan_to_none(fpr),
        "precision": _nan_to_none(precision),
        "f1": _nan_to_none(f1),
        "latency_us_p50": _nan_to_none(percentile(lat, 50)),
        "latency_us_p99": _nan_to_none(percentile(lat, 99)),
    }


def report(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """``{"overall": {...}, "by_source": {source: {...}}, "by_kind": {kind: {...}}}``."""
    by_source: dict[str, list[Outcome]] = {}
    by_kind: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_source.setdefault(o.source, []).append(o)
        by_kind.setdefault(o.kind, []).append(o)
    return {
        "overall": metrics(outcomes),
        "by_source": {k: metrics(v) for k, v in sorted(by_source.items())},
        "by_kind": {k: metrics(v) for k, v in sorted(by_kind.items())},
    }


__all__ += ["report"]


def _row(name: str, m: Mapping[str, Any]) -> list[Any]:
    def f(v: Any) -> Any:
        return math.nan if v is None else v

    return [name, m["n"], f(m["recall"]), f(m["fpr"]), f(m["precision"]), f(m["f1"]),
            f(m["latency_us_p50"]), f(m["latency_us_p99"])]


def format_report(rep: Mapping[str, Any], *, source_width: int = 70) -> str:
    headers = ["", "n", "recall", "fpr", "precision", "f1", "p50 µs", "p99 µs"]
    parts = ["Overall", format_table(headers, [_row("all", rep["overall"])]), "",
             "By kind", format_table(headers, [_row(k, m) for k, m in rep["by_kind"].items()]), "",
             "By source", format_table(headers, [
                 _row(k if len(k) <= source_width else k[: source_width - 1] + "…", m)
                 for k, m in rep["by_source"].items()])]
    return "\n".join(parts)
