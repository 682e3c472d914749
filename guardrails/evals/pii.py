"""``perimeter eval pii``: per-entity precision / recall on span-labelled JSONL.

Records: ``{"id", "text", "spans": [{"start", "end", "entity_type"}]}``. A predicted span is a
hit when a gold span has the same entity type and they overlap by at least half of each
(intersection >= 50% of the gold span and >= 50% of the predicted span).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .common import Progress, percentile

__all__ = ["TARGET_ENTITIES", "PiiReport", "evaluate_pii", "overlaps"]

TARGET_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS")


def overlaps(a: tuple[int, int], b: tuple[int, int], min_ratio: float = 0.5) -> bool:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return False
    return inter >= min_ratio * (a[1] - a[0]) and inter >= min_ratio * (b[1] - b[0])


@dataclass
class _Counts:
    gold: int = 0
    pred: int = 0
    tp_pred: int = 0
    tp_gold: int = 0

    def row(self) -> dict[str, Any]:
        p = self.tp_pred / self.pred if self.pred else float("nan")
        r = self.tp_gold / self.gold if self.gold else float("nan")
        f1 = 2 * p * r / (p + r) if self.pred and self.gold and (p + r) else float("nan")
        return {"gold": self.gold, "predicted": self.pred, "tp": self.tp_gold, "precision": p,
                "recall": r, "f1": f1}


@dataclass
class PiiReport:
    by_entity: dict[str, dict[str, Any]]
    overall: dict[str, Any]
    entities: tuple[str, ...]
    misses: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"overall": self.overall, "by_entity": self.by_entity}


def evaluate_pii(records: Sequence[dict[str, Any]], *, redactor: Any, progress: bool = True,
                 only_entities: Sequence[str] | None = None) -> PiiReport:
    """Run ``redactor.analyze`` on each record and score it. Gold spans of entity types the
    redactor does not detect are reported (recall 0) but kept out of the overall numbers."""
    detected = set(redactor.entities)
    counts: dict[str, _Counts] = {}
    lat: list[float] = []
    misses: list[dict[str, Any]] = []
    bar = Progress(len(records), "eval pii")
    if not progress:
        bar.enabled = False
    redactor.warm()
    for n, rec in enumerate(records, 1):
        text = rec.get("text")
        spans = rec.get("spans", [])
        if not isinstance(text, str) or not isinstance(spans, list):
            raise InputError(f"record {n}: needs 'text' (string) and 'spans' (list)")
        t0 = time.perf_counter()
        preds = redactor.analyze(text)
        lat.append(time.perf_counter() - t0)
        gold = [(int(s["start"]), int(s["end"]), str(s["entity_type"])) for s in spans]
        if only_entities is not None:
            gold = [g for g in gold if g[2] in only_entities]
        for g in gold:
            counts.setdefault(g[2], _Counts()).gold += 1
        for p in preds:
            c = counts.setdefault(p.entity, _Counts())
            c.pred += 1
            if any(g[2] == p.entity and overlaps((p.start, p.end), g[:2]) for g in gold):
                c.tp_pred += 1
        for g in gold:
            if any(p.entity == g[2] and overlaps((p.start, p.end), g[:2]) for p in preds):
                counts[g[2]].tp_gold += 1
            elif g[2] in detected:
                misses.append({"id": rec.get("id", n), "entity": g[2], "start": g[0], "end": g[1]})
        bar.update()
    bar.close()
    by_entity = {e: {**c.row(), "detected": e in detected} for e, c in sorted(counts.items())}
    tot = _Counts()
    for e, c in counts.items():
        if e in detected:
            tot.gold += c.gold
            tot.pred += c.pred
            tot.tp_gold += c.tp_gold
            tot.tp_pred += c.tp_pred
    overall = {**tot.row(), "records": len(records),
               "latency_p50_us": percentile(lat, 50) * 1e6, "latency_p99_us": percentile(lat, 99) * 1e6,
               "entities": sorted(detected)}
    return PiiReport(by_entity, overall, tuple(sorted(detected)), misses)
