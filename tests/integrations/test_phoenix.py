"""End to end against a real OpenTelemetry backend: Arize Phoenix on loopback.

Skipped unless ``PERIMETER_PHOENIX_URL`` is set (``.ci/phoenix.sh start`` prints it). Runs
``perimeter demo --otlp URL`` in a subprocess, then reads the spans back through Phoenix's REST API
(``GET /v1/projects/<project>/spans``) and checks that the blocks and the findings arrived.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest

URL = os.environ.get("PERIMETER_PHOENIX_URL", "").rstrip("/")

pytestmark = [
    pytest.mark.phoenix,
    pytest.mark.skipif(not URL, reason="PERIMETER_PHOENIX_URL is not set (see .ci/phoenix.sh)"),
]


def _get(path: str, **params: Any) -> Any:
    q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    with urllib.request.urlopen(f"{URL}{path}{'?' + q if q else ''}", timeout=10) as r:
        return json.loads(r.read().decode())


def _spans(project: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        page = _get(f"/v1/projects/{urllib.parse.quote(project)}/spans", limit=100, cursor=cursor)
        out.extend(page.get("data") or [])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return out


def _events(span: dict[str, Any]) -> list[dict[str, Any]]:
    return [e.get("attributes") or {} for e in span.get("events") or []
            if e.get("name") == "guardrails.finding"]


@pytest.fixture(scope="module")
def spans() -> list[dict[str, Any]]:
    project = f"perimeter-e2e-{uuid.uuid4().hex[:8]}"
    proc = subprocess.run(
        [sys.executable, "-m", "guardrails.cli", "demo", "--otlp", URL, "--project", project, "--no-tree"],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    deadline = time.monotonic() + 60
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            found = _spans(project)
        except OSError:
            found = []
        # 4 scene spans + at least 25 check spans: wait until ingestion caught up
        if sum(s["name"].startswith("perimeter.demo.scene") for s in found) == 4 and len(found) >= 29:
            break
        time.sleep(1)
    return found


def _checks(spans: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [s for s in spans if s["name"] == f"guardrails.check {kind}"]


def test_blocked_send_email_with_its_finding(spans: list[dict[str, Any]]) -> None:
    blocked = [s for s in _checks(spans, "tool_call")
               if s["attributes"].get("gen_ai.tool.name") == "send_email"
               and s["attributes"].get("guardrails.action") == "block"]
    assert blocked, "the hijacked send_email block did not reach Phoenix"
    s = blocked[0]
    assert s["attributes"]["gen_ai.agent.name"] == "support"
    assert "policy.arg" in s["attributes"]["guardrails.categories"]
    cats = [e.get("guardrails.finding.category") for e in _events(s)]
    assert "policy.arg" in cats
    assert s["attributes"]["guardrails.finding.count"] == len(_events(s))


def test_injection_findings_on_the_tool_result(spans: list[dict[str, Any]]) -> None:
    from guardrails import Guard
    from guardrails.demo.scenario import manifest_path

    if "injection" not in {s.name for s in Guard.from_yaml(manifest_path()).screens}:
        pytest.skip("no injection screen in this build")
    flagged = [s for s in _checks(spans, "tool_result")
               if any(c.startswith("injection.") for c in s["attributes"].get("guardrails.categories", []))]
    assert flagged
    ev = [e for s in flagged for e in _events(s)]
    assert any(str(e.get("guardrails.finding.category", "")).startswith("injection.") for e in ev)
    assert all(isinstance(e.get("guardrails.finding.score"), float) for e in ev)
    assert all(e.get("guardrails.finding.rule") for e in ev)


def test_handoff_outside_peers_blocked(spans: list[dict[str, Any]]) -> None:
    msgs = [s for s in _checks(spans, "message") if s["attributes"].get("guardrails.action") == "block"]
    pairs = {(s["attributes"]["gen_ai.agent.name"], s["attributes"]["guardrails.peer"],
              s["attributes"]["guardrails.direction"]) for s in msgs}
    assert ("support", "admin", "send") in pairs
    assert ("admin", "support", "receive") in pairs
    for s in msgs:
        assert "policy.peer_not_allowed" in [e.get("guardrails.finding.category") for e in _events(s)]


def test_checks_are_children_of_the_scene_spans_and_carry_no_content(spans: list[dict[str, Any]]) -> None:
    scenes = {s["context"]["span_id"] for s in spans if s["name"].startswith("perimeter.demo.scene")}
    checks = [s for s in spans if s["name"].startswith("guardrails.check ")]
    assert len(scenes) == 4 and len(checks) >= 25
    assert all(s["parent_id"] in scenes for s in checks)
    blob = json.dumps(checks)
    assert "jane.doe@gmail.com" not in blob  # no content without capture_content
    assert "audit@evil-corp.example" not in blob
