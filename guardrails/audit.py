"""Append-only, hash-chained decision log.

Each decision is one JSON line: who acted (agent, run), on what (kind, tool), what was decided
(action, mode, degraded, categories, rules) and when. Every line carries the hash of the previous
line, so deleting, reordering or editing a line breaks the chain at that point
(``perimeter audit verify``). With a ``key`` the chain is an HMAC-SHA256, so someone who can
write the file but lacks the key cannot rebuild a consistent chain either. No message content,
argument values or secrets are written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .events import Event
from .verdict import Verdict

__all__ = ["GENESIS", "AuditLog", "AuditReport", "verify"]

GENESIS = "0" * 64


def _digest(key: bytes | None, prev: str, body: str) -> str:
    data = (prev + "\n" + body).encode("utf-8")
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def _canonical(rec: dict[str, Any]) -> str:
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _last_line(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            end = fh.tell()
            pos = end
            chunk = b""
            while pos > 0:
                step = min(4096, pos)
                pos -= step
                fh.seek(pos)
                chunk = fh.read(step) + chunk
                lines = chunk.rstrip(b"\n").split(b"\n")
                if len(lines) > 1 or pos == 0:
                    last = lines[-1]
                    return last.decode("utf-8") if last else None
    except FileNotFoundError:
        return None
    return None


class AuditLog:
    """Append decisions to ``path``; continue the chain of an existing file."""

    def __init__(self, path: str | Path, *, key: bytes | str | None = None, fsync: bool = False) -> None:
        self.path = Path(path)
        self._key = key.encode("utf-8") if isinstance(key, str) else key
        self._fsync = fsync
        self._lock = threading.Lock()
        last = _last_line(self.path)
        if last is None:
            self._prev, self._seq = GENESIS, 0
        else:
            try:
                rec = json.loads(last)
                self._prev, self._seq = str(rec["hash"]), int(rec["seq"])
            except (ValueError, KeyError, TypeError):
                raise InputError(f"{self.path}: the last line is not an audit record; refusing to "
                                 "continue a chain that does not verify") from None

    def record(self, event: Event, verdict: Verdict) -> None:
        rec: dict[str, Any] = {
            "ts": round(time.time(), 6),
            "agent": event.agent,
            "run_id": event.run_id,
            "kind": str(event.kind),
            "action": verdict.action.label,
            "decided": verdict.decided.label,
            "mode": verdict.mode,
            "degraded": verdict.degraded,
            "categories": list(verdict.categories),
            "rules": sorted({f.rule for f in verdict.findings if f.rule}),
        }
        if event.tool is not None:
            rec["tool"] = event.tool.name
            if event.tool.call_id:
                rec["call_id"] = event.tool.call_id
        if event.peer:
            rec["peer"] = event.peer
        with self._lock:
            self._seq += 1
            rec["seq"] = self._seq
            rec["prev"] = self._prev
            body = _canonical(rec)
            rec["hash"] = _digest(self._key, self._prev, body)
            line = _canonical(rec) + "\n"
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)
                if self._fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            self._prev = rec["hash"]


@dataclass(frozen=True, slots=True)
class AuditReport:
    ok: bool
    records: int
    first_bad_line: int | None = None
    problem: str | None = None


def _records(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            yield n, line.rstrip("\n")


def verify(path: str | Path, *, key: bytes | str | None = None) -> AuditReport:
    """Check the whole chain: sequence numbers, links and hashes."""
    k = key.encode("utf-8") if isinstance(key, str) else key
    p = Path(path)
    prev, seq, n = GENESIS, 0, 0
    try:
        for n, line in _records(p):
            try:
                rec = json.loads(line)
                claimed = rec.pop("hash")
            except (ValueError, KeyError, TypeError, AttributeError):
                return AuditReport(False, n - 1, n, "not an audit record")
            if rec.get("prev") != prev:
                return AuditReport(False, n - 1, n, "link to the previous record is broken")
            if rec.get("seq") != seq + 1:
                return AuditReport(False, n - 1, n, "sequence number is out of order")
            if not hmac.compare_digest(str(claimed), _digest(k, prev, _canonical(rec))):
                return AuditReport(False, n - 1, n, "hash does not match the record")
            prev, seq = str(claimed), seq + 1
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except UnicodeDecodeError:
        return AuditReport(False, n, n + 1, "not UTF-8 text")
    return AuditReport(True, seq)
