"""Guard orchestration: fail closed, shadow mode, degraded, async, invalid events."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from guardrails import Action, CheckContext, Event, EventKind, Finding, Guard, Manifest, Verdict
from guardrails.screens.policy import PolicyScreen

from .conftest import BASE


class Boom:
    name = "injection"
    kinds = frozenset(EventKind)

    def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
        raise RuntimeError("engine exploded")


class Rewriter:
    name = "redact"
    kinds = frozenset({EventKind.TOOL_RESULT})

    def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
        ctx.content = event.content.replace("secret", "<SECRET>")
        return [Finding(screen="redact", category="secret.test", action=Action.REDACT, span=(0, 6))]


def _m(**defaults: Any) -> Manifest:
    return Manifest.from_dict({**BASE, "defaults": defaults})


def test_failing_screen_blocks_by_default() -> None:
    m = _m()
    g = Guard(m, screens=[PolicyScreen(m), Boom()])
    v = g.check(Event.input(agent="support", content="hello"))
    assert v.action == Action.BLOCK and not v.degraded
    assert v.findings[0].category == "screen.error"
    assert "engine exploded" not in v.explain()  # no exception text (could hold content) leaks


def test_on_error_allow_is_degraded() -> None:
    m = _m(on_error="allow")
    g = Guard(m, screens=[PolicyScreen(m), Boom()])
    v = g.check(Event.input(agent="support", content="hello"))
    assert v.action == Action.ALLOW and v.degraded


def test_on_error_per_check() -> None:
    m = _m(injection={"on_error": "allow"})
    g = Guard(m, screens=[PolicyScreen(m), Boom()])
    assert g.check(Event.input(agent="support", content="x")).degraded


def test_shadow_mode_lets_pass_and_records() -> None:
    m = _m(mode="shadow")
    g = Guard(m, screens=[PolicyScreen(m)])
    v = g.check(Event.tool_call(agent="support", tool="rm_rf", args={}))
    assert v.action == Action.ALLOW and v.mode == "shadow" and v.intended == Action.BLOCK
    assert v.decided == Action.BLOCK and v.findings


def test_rewrite_sets_content_and_redact() -> None:
    m = _m()
    g = Guard(m, screens=[PolicyScreen(m), Rewriter()])
    v = g.check(Event.tool_result(agent="support", tool="search_kb", content="secret stuff"))
    assert v.action == Action.REDACT and v.content == "<SECRET> stuff"


@pytest.mark.parametrize("bad", [None, "text", {"kind": "tool_call"}, 42])
def test_non_events_are_blocked(policy_guard: Guard, bad: Any) -> None:
    v = policy_guard.check(bad)
    assert v.action == Action.BLOCK and v.findings[0].category == "input.invalid"


def test_event_with_wrong_field_types_is_blocked(policy_guard: Guard) -> None:
    ev = Event(EventKind.INPUT, agent="support", content=b"bytes")  # type: ignore[arg-type]
    assert policy_guard.check(ev).blocked
    ev = Event(EventKind.TOOL_CALL, agent="support")  # no tool
    assert policy_guard.check(ev).blocked


def test_acheck_matches_check(policy_guard: Guard) -> None:
    ev = Event.tool_call(agent="support", run_id="a", tool="get_order", args={"order_id": "AB12345678"})
    bad = Event.tool_call(agent="support", run_id="a", tool="nope", args={})
    assert asyncio.run(policy_guard.acheck(ev)).action == Action.ALLOW
    assert asyncio.run(policy_guard.acheck(bad)).action == Action.BLOCK


def test_acheck_awaits_async_screens_and_fails_closed() -> None:
    class AsyncBoom:
        name = "injection"
        kinds = frozenset(EventKind)

        def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
            return ()

        async def acall(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
            await asyncio.sleep(0)
            raise ValueError("x")

    m = _m()
    g = Guard(m, screens=[AsyncBoom()])
    assert asyncio.run(g.acheck(Event.input(agent="support", content="x"))).blocked
    assert g.check(Event.input(agent="support", content="x")).allowed


def test_check_all_merges(policy_guard: Guard) -> None:
    v = policy_guard.check_all([
        Event.tool_call(agent="support", tool="get_order", args={"order_id": "AB12345678"}),
        Event.tool_call(agent="support", tool="nope", args={}),
    ])
    assert v.action == Action.BLOCK


def test_builtin_screens_are_loaded(manifest: Manifest) -> None:
    g = Guard(manifest)
    assert "policy" in {s.name for s in g.screens}


def test_guard_requires_manifest() -> None:
    with pytest.raises(TypeError):
        Guard({"version": 1})  # type: ignore[arg-type]


def test_verdict_merge_is_order_free() -> None:
    import itertools

    f1 = Finding(screen="a", category="x", action=Action.REDACT)
    f2 = Finding(screen="b", category="y", action=Action.BLOCK)
    vs = [Verdict(action=Action.REDACT, findings=(f1,), content="c"),
          Verdict(action=Action.BLOCK, findings=(f2,)),
          Verdict(action=Action.ALLOW, degraded=True)]
    results = {Verdict.merge(p) for p in itertools.permutations(vs)}
    assert len(results) == 1
    r = results.pop()
    assert r.action == Action.BLOCK and r.degraded and r.content == "c" and len(r.findings) == 2
    assert Verdict.merge().action == Action.ALLOW


def test_action_order_and_parse() -> None:
    assert Action.ALLOW < Action.REDACT < Action.REVIEW < Action.BLOCK
    assert Action.parse("Block") is Action.BLOCK and str(Action.REVIEW) == "review"
    with pytest.raises(ValueError):
        Action.parse("deny")
