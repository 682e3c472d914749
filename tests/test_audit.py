from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardrails import Action, Event, Guard, Manifest
from guardrails.audit import AuditLog, verify
from guardrails.cli import main
from guardrails.screens.policy import PolicyScreen

from .conftest import BASE


def _guard(path: Path, key: str | None = None) -> Guard:
    m = Manifest.from_dict(BASE)
    return Guard(m, screens=[PolicyScreen(m)], audit=AuditLog(path, key=key))


def _run(g: Guard) -> None:
    g.check(Event.tool_call(agent="support", run_id="r", tool="get_order", args={"order_id": "AB12345678"}))
    g.check(Event.tool_call(agent="support", run_id="r", tool="send_email", args={"to": "x@evil.com"}))
    g.check(Event.input(agent="support", run_id="r", content="my card is 4111 1111 1111 1111"))


def test_chain_verifies_and_holds_no_content(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    _run(_guard(p))
    rep = verify(p)
    assert rep.ok and rep.records == 3
    text = p.read_text()
    assert "4111" not in text and "evil.com" not in text and "AB12345678" not in text
    recs = [json.loads(x) for x in text.splitlines()]
    assert [r["action"] for r in recs] == ["allow", "block", "allow"]
    assert recs[1]["tool"] == "send_email" and "policy.arg" in recs[1]["categories"]


def test_chain_continues_across_restarts(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    _run(_guard(p))
    _run(_guard(p))
    rep = verify(p)
    assert rep.ok and rep.records == 6


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap", "truncate_hash", "garbage"])
def test_tampering_is_detected(tmp_path: Path, tamper: str) -> None:
    p = tmp_path / "audit.jsonl"
    _run(_guard(p))
    lines = p.read_text().splitlines()
    if tamper == "edit":
        lines[1] = lines[1].replace('"block"', '"allow"')
    elif tamper == "delete":
        del lines[1]
    elif tamper == "swap":
        lines[0], lines[1] = lines[1], lines[0]
    elif tamper == "truncate_hash":
        rec = json.loads(lines[2])
        rec["hash"] = rec["hash"][:-1] + ("0" if rec["hash"][-1] != "0" else "1")
        lines[2] = json.dumps(rec)
    else:
        lines.insert(1, "not json")
    p.write_text("\n".join(lines) + "\n")
    rep = verify(p)
    assert not rep.ok and rep.first_bad_line is not None and rep.first_bad_line <= 3


def test_hmac_key_is_needed_to_rebuild(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    _run(_guard(p, key="s3cret"))
    assert verify(p, key="s3cret").ok
    assert not verify(p).ok  # an attacker recomputing plain SHA-256 cannot match
    assert not verify(p, key="wrong").ok


def test_unwritable_audit_fails_closed(tmp_path: Path) -> None:
    m = Manifest.from_dict(BASE)
    g = Guard(m, screens=[PolicyScreen(m)], audit=AuditLog(tmp_path / "missing-dir" / "audit.jsonl"))
    v = g.check(Event.tool_call(agent="support", tool="get_order", args={"order_id": "AB12345678"}))
    assert v.action == Action.BLOCK and "audit.error" in {f.rule for f in v.findings}


def test_cli_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "audit.jsonl"
    _run(_guard(p))
    assert main(["audit", "verify", str(p)]) == 0
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines[1:]) + "\n")
    assert main(["audit", "verify", str(p)]) == 1
    assert "BROKEN" in capsys.readouterr().err
