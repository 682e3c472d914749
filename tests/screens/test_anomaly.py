from __future__ import annotations

from typing import Any

from guardrails import Action, Event, Guard, Manifest
from guardrails.screens.anomaly import AnomalyScreen
from guardrails.screens.policy import PolicyScreen


def _guard(anomaly: dict[str, Any] | None = None, clock: Any = None) -> Guard:
    spec: dict[str, Any] = {"tools": {"read": {"args": "any"}, "send": {"args": {"to": {"domains": ["example.com"]}}}},
                            "peers": {"send": ["b"]}}
    if anomaly is not None:
        spec["anomaly"] = anomaly
    m = Manifest.from_dict({"version": 1, "agents": {"a": spec, "b": {}}})
    kw = {"clock": clock} if clock else {}
    return Guard(m, screens=[PolicyScreen(m), AnomalyScreen()], **kw)


def test_probing_run_is_stopped_after_repeated_denials() -> None:
    g = _guard({"max_denials": 3})
    for tool in ("delete_all", "Send", "send"):  # unknown, look-alike, bad argument
        args = {"to": "x@evil.com"} if tool == "send" else {}
        assert g.check(Event.tool_call(agent="a", run_id="r", tool=tool, args=args)).blocked
    v = g.check(Event.tool_call(agent="a", run_id="r", tool="read", args={}))
    assert v.blocked and {f.category for f in v.findings} == {"anomaly.probing"}
    v = g.check(Event.message(agent="a", run_id="r", content="hi", peer="b", direction="send"))
    assert v.blocked
    # other runs are not affected
    assert g.check(Event.tool_call(agent="a", run_id="other", tool="read", args={})).allowed


def test_allowed_steps_do_not_count() -> None:
    g = _guard({"max_denials": 2})
    for _ in range(50):
        assert g.check(Event.tool_call(agent="a", run_id="r", tool="read", args={})).allowed


def test_disabled_and_review_action() -> None:
    g = _guard({"enabled": False, "max_denials": 1})
    g.check(Event.tool_call(agent="a", run_id="r", tool="nope"))
    assert g.check(Event.tool_call(agent="a", run_id="r", tool="read")).allowed
    g = _guard({"max_denials": 1, "denial_action": "review"})
    g.check(Event.tool_call(agent="a", run_id="r", tool="nope"))
    assert g.check(Event.tool_call(agent="a", run_id="r", tool="read")).action == Action.REVIEW


def test_burst() -> None:
    now = [0.0]
    g = _guard({"burst_calls": 5, "burst_per": "10s"}, clock=lambda: now[0])
    res = [g.check(Event.tool_call(agent="a", run_id=f"r{i}", tool="read")).action for i in range(7)]
    assert res[:5] == [Action.ALLOW] * 5 and res[5:] == [Action.REVIEW] * 2
    now[0] = 25.0
    assert g.check(Event.tool_call(agent="a", run_id="r", tool="read")).allowed


def test_manifest_rejects_run_window_for_bursts() -> None:
    import pytest

    from guardrails import ConfigError

    with pytest.raises(ConfigError, match="burst_per"):
        Manifest.from_dict({"version": 1, "defaults": {"anomaly": {"burst_per": "run"}}, "agents": {}})
