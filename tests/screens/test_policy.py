"""The policy screen: allowlist, argument rules, limits, peers, and attempts to get around them."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardrails import Action, Event, EventKind, Finding, Guard, Manifest
from guardrails.screens.policy import MAX_ARG_DEPTH, PolicyScreen

from ..conftest import BASE


def call(guard: Guard, tool: str, args: Any = None, agent: str = "support", run: str = "r1") -> Any:
    return guard.check(Event.tool_call(agent=agent, run_id=run, tool=tool, args=args))


def cats(v: Any) -> set[str]:
    return {f.category for f in v.findings}


# ------------------------------------------------------------------ allowlist
def test_allowed_call(policy_guard: Guard) -> None:
    v = call(policy_guard, "get_order", {"order_id": "AB12345678"})
    assert v.action == Action.ALLOW and not v.findings


def test_unknown_tool_denied(policy_guard: Guard) -> None:
    v = call(policy_guard, "delete_everything", {})
    assert v.action == Action.BLOCK and cats(v) == {"policy.tool_not_allowed"}


def test_tool_of_another_agent_denied(policy_guard: Guard) -> None:
    v = call(policy_guard, "refund", {"amount": 5})
    assert v.action == Action.BLOCK and "policy.tool_not_allowed" in cats(v)


def test_unknown_agent_denied_for_every_kind(policy_guard: Guard) -> None:
    for ev in (
        Event.input(agent="ghost", content="hi"),
        Event.tool_call(agent="ghost", tool="get_order", args={"order_id": "AB12345678"}),
        Event.tool_result(agent="ghost", tool="get_order", content="x"),
        Event.message(agent="ghost", content="x", peer="support"),
        Event.output(agent="ghost", content="x"),
    ):
        v = policy_guard.check(ev)
        assert v.action == Action.BLOCK and cats(v) == {"policy.unknown_agent"}, ev.kind


LOOKALIKES = [
    "Send_email",  # case
    "SEND_EMAIL",
    "ｓｅｎｄ＿ｅｍａｉｌ",  # full width
    "send_emaіl",  # Cyrillic i
    "sеnd_email",  # Cyrillic e
    "send\u200b_email",  # zero-width space
    "send_email\u200d",  # zero-width joiner at the end
    "\u202esend_email",  # bidi override
    "send_emai\u0301l",  # combining accent
    "send-email",  # hyphen for underscore
    "send_email\U000e0041",  # tag character
    " send_email",  # leading space
]


@pytest.mark.parametrize("name", LOOKALIKES)
def test_lookalike_tool_names_are_evasion(policy_guard: Guard, name: str) -> None:
    v = call(policy_guard, name, {"to": "bob@example.com"})
    assert v.action == Action.BLOCK
    assert cats(v) == {"policy.evasion"}, (name, cats(v))


@pytest.mark.parametrize("name", ["Support", "ѕupport", "support\u200b", "ＳＵＰＰＯＲＴ"])
def test_lookalike_agent_names_are_evasion(policy_guard: Guard, name: str) -> None:
    v = call(policy_guard, "get_order", {"order_id": "AB12345678"}, agent=name)
    assert v.action == Action.BLOCK and cats(v) == {"policy.evasion"}


_FOLD = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "s": "ѕ"}


@given(
    st.sampled_from(["send_email", "get_order", "search_kb"]),
    st.lists(st.sampled_from(["upper", "width", "zw", "cyr", "nfd"]), min_size=1, max_size=3),
    st.integers(min_value=0, max_value=20),
)
@settings(max_examples=300, deadline=None)
def test_property_no_transformed_name_is_allowed(name: str, ops: list[str], pos: int) -> None:
    guard = Guard(Manifest.from_dict(BASE), screens=[PolicyScreen(Manifest.from_dict(BASE))])
    s = name
    for op in ops:
        i = pos % len(s)
        if op == "upper":
            s = s[:i] + s[i].upper() + s[i + 1:]
        elif op == "width" and "!" <= s[i] <= "~":
            s = s[:i] + chr(ord(s[i]) + 0xFEE0) + s[i + 1:]
        elif op == "zw":
            s = s[:i] + "\u200b" + s[i:]
        elif op == "cyr" and s[i] in _FOLD:
            s = s[:i] + _FOLD[s[i]] + s[i + 1:]
        elif op == "nfd":
            s = unicodedata.normalize("NFD", s[:i] + "é" + s[i:])
    v = call(guard, s, {})
    if s == name:
        return  # the transformation happened to be a no-op
    assert v.action == Action.BLOCK
    assert cats(v) <= {"policy.evasion", "policy.tool_not_allowed"}


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    "value",
    [
        "AB1234567",  # too short
        "AB123456789",  # too long
        "ab12345678",  # case
        "AB12345678\n",  # trailing newline ($ would accept it)
        "\nAB12345678",
        "AB12345678 ",
        "AB１２345678",  # full-width digits (\d would accept them)
        "AB١٢345678",  # Arabic-Indic digits
        "AB12345678\u200b",  # zero-width tail
        "АB12345678",  # Cyrillic A
        "AB12345678' OR 1=1 --",
        "",
    ],
)
def test_pattern_matches_whole_value_only(policy_guard: Guard, value: str) -> None:
    v = call(policy_guard, "get_order", {"order_id": value})
    assert v.action == Action.BLOCK and "policy.arg" in cats(v)


@pytest.mark.parametrize("value", [12345678, ["AB12345678"], {"id": "AB12345678"}, None, True])
def test_pattern_rejects_non_strings_and_containers_are_checked(policy_guard: Guard, value: Any) -> None:
    v = call(policy_guard, "get_order", {"order_id": value})
    if isinstance(value, list):
        assert v.action == Action.ALLOW  # a list of valid ids: each element is checked
    else:
        assert v.action == Action.BLOCK


def test_nested_list_values_are_each_checked(policy_guard: Guard) -> None:
    v = call(policy_guard, "get_order", {"order_id": ["AB12345678", "evil"]})
    assert v.action == Action.BLOCK and "order_id[1]" in v.findings[0].reason


def test_undeclared_and_missing_arguments(policy_guard: Guard) -> None:
    v = call(policy_guard, "get_order", {"order_id": "AB12345678", "extra": 1})
    assert cats(v) == {"policy.arg_not_allowed"}
    v = call(policy_guard, "get_order", {})
    assert cats(v) == {"policy.arg_missing"}


@pytest.mark.parametrize("key", ["Order_id", "order_іd", "order_id\u200b", "ｏｒｄｅｒ_ｉｄ"])
def test_lookalike_argument_keys(policy_guard: Guard, key: str) -> None:
    v = call(policy_guard, "get_order", {"order_id": "AB12345678", key: "ZZ00000000"})
    assert v.action == Action.BLOCK and "policy.evasion" in cats(v)


@pytest.mark.parametrize(
    "to",
    [
        "bob@evil.com",
        "bob@example.com.evil.com",
        "bob@notexample.com",
        "bob@evil.com@example.com",
        "bob@example.com,eve@evil.com",
        "bob@example.com; eve@evil.com",
        "bob@example.com\neve@evil.com",
        "bob@exаmple.com",  # Cyrillic a in the domain
        "bob@ｅｘａｍｐｌｅ.com",
        "https://example.com@evil.com/",
        "https://evil.com\\@example.com/",
        "https://evil.com/?x=example.com",
        "javascript://example.com/%0aalert(1)",
        "bob@",
        "",
        "bob@example.com\u200b",
        '"bob@evil.com"@example.com',
        ["bob@example.com", "eve@evil.com"],
        {"address": "eve@evil.com"},
        42,
    ],
)
def test_domains_rule_rejects_escapes(policy_guard: Guard, to: Any) -> None:
    v = call(policy_guard, "send_email", {"to": to})
    assert v.action == Action.BLOCK, to


@pytest.mark.parametrize(
    "to", ["bob@example.com", "Bob.Smith+tag@EXAMPLE.com", "a@mail.example.com", "https://www.example.com/x?y=1",
           ["bob@example.com", "alice@sub.example.com"], "example.com", "bob@example.com."],
)
def test_domains_rule_accepts_valid(policy_guard: Guard, to: Any) -> None:
    v = call(policy_guard, "send_email", {"to": to})
    assert v.action == Action.ALLOW, (to, v.explain())


def test_numbers_and_one_of(policy_guard: Guard) -> None:
    g = policy_guard
    assert call(g, "refund", {"amount": 50, "currency": "USD"}, agent="billing").action == Action.ALLOW
    for bad in (101, -1, "50", True, float("nan"), float("inf"), [50, 500], {"x": 500}):
        v = call(g, "refund", {"amount": bad}, agent="billing")
        assert v.action == Action.BLOCK, bad
    for cur in ("usd", "GBP", "USD ", ["USD", "GBP"], 1):
        assert call(g, "refund", {"currency": cur}, agent="billing").action == Action.BLOCK, cur


def test_max_length(policy_guard: Guard) -> None:
    assert call(policy_guard, "search_kb", {"query": "x" * 500}).action == Action.ALLOW
    assert call(policy_guard, "search_kb", {"query": "x" * 501}).action == Action.BLOCK


def test_args_any(policy_guard: Guard) -> None:
    v = call(policy_guard, "anything", {"a": [1, {"b": None}], "c": "x" * 10000})
    assert v.action == Action.ALLOW


# ------------------------------------------------------------------ malformed arguments
@pytest.mark.parametrize(
    "raw",
    [
        '{"order_id": "AB12345678", "order_id": "ZZ"}',  # duplicate key: which one runs?
        '["AB12345678"]',
        '"AB12345678"',
        "{not json",
        '{"order_id": NaN}',
        '{"order_id": Infinity}',
        "null",
        "[" * 100000 + "]" * 100000,
        b"\xff\xfe",
    ],
)
def test_malformed_json_args_are_blocked(policy_guard: Guard, raw: Any) -> None:
    v = call(policy_guard, "get_order", raw)
    assert v.action == Action.BLOCK


def test_json_string_args_are_parsed(policy_guard: Guard) -> None:
    assert call(policy_guard, "get_order", '{"order_id": "AB12345678"}').action == Action.ALLOW
    assert call(policy_guard, "get_order", '{"order_id": "evil"}').action == Action.BLOCK


def test_deep_nesting_and_huge_args_complete(policy_guard: Guard) -> None:
    deep: Any = "bob@example.com"
    for _ in range(MAX_ARG_DEPTH + 20):
        deep = [deep]
    v = call(policy_guard, "send_email", {"to": deep})
    assert v.action == Action.BLOCK
    wide = {"to": ["bob@example.com"] * 50_000}
    v = call(policy_guard, "send_email", wide)
    assert v.action == Action.BLOCK and any(f.rule == "policy.arg.size" for f in v.findings)
    v = call(policy_guard, "search_kb", {"query": "a" * 10_000_000})
    assert v.action == Action.BLOCK


def test_lone_surrogates_do_not_crash(policy_guard: Guard) -> None:
    v = call(policy_guard, "get_order", {"order_id": "AB1234567\ud800"})
    assert v.action == Action.BLOCK
    v = call(policy_guard, "send_email", {"to": "bob@exa\udcffmple.com"})
    assert v.action == Action.BLOCK


def test_pathological_pattern_input_is_linear() -> None:
    m = Manifest.from_dict({"version": 1, "agents": {"a": {"tools": {"t": {"args": {
        "x": {"pattern": "(a+)+b"}}}}}}})
    g = Guard(m, screens=[PolicyScreen(m)])
    v = g.check(Event.tool_call(agent="a", tool="t", args={"x": "a" * 100_000 + "c"}))
    assert v.action == Action.BLOCK  # RE2 answers in linear time; Python's re would not return


def test_lookaround_pattern_uses_timeout_fallback() -> None:
    m = Manifest.from_dict({"version": 1, "agents": {"a": {"tools": {"t": {"args": {
        "x": {"pattern": r"(?!admin)[a-z]+"}}}}}}})
    g = Guard(m, screens=[PolicyScreen(m)])
    assert g.check(Event.tool_call(agent="a", tool="t", args={"x": "bob"})).action == Action.ALLOW
    assert g.check(Event.tool_call(agent="a", tool="t", args={"x": "admin"})).action == Action.BLOCK


@given(st.text(max_size=14))
@settings(max_examples=400, deadline=None)
def test_property_pattern_agrees_with_ascii_fullmatch(value: str) -> None:
    m = Manifest.from_dict(BASE)
    g = Guard(m, screens=[PolicyScreen(m)])
    v = call(g, "get_order", {"order_id": value})
    expected = re.fullmatch(r"[A-Z]{2}[0-9]{8}", value, re.ASCII) is not None
    assert (v.action == Action.ALLOW) == expected


@given(st.dictionaries(st.text(max_size=8), st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
    max_leaves=20), max_size=5))
@settings(max_examples=300, deadline=None)
def test_property_random_args_never_crash_and_never_pass_undeclared(args: dict[str, Any]) -> None:
    m = Manifest.from_dict(BASE)
    g = Guard(m, screens=[PolicyScreen(m)])
    v = call(g, "send_email", args)
    assert v.action in (Action.ALLOW, Action.BLOCK)
    if v.action == Action.ALLOW:
        assert set(args) <= {"to", "body"} and "to" in args
    # the same through a JSON string
    v2 = call(g, "send_email", json.dumps(args))
    assert v2.action == v.action or not all(isinstance(x, float) for x in args.values())


# ------------------------------------------------------------------ approvals, limits, budgets
def _guard(tools: dict[str, Any], **agent: Any) -> Guard:
    m = Manifest.from_dict({"version": 1, "agents": {"a": {"tools": tools, **agent}}})
    return Guard(m, screens=[PolicyScreen(m)])


def test_approval_required_is_review() -> None:
    g = _guard({"wire": {"approval": "required", "args": "any"}})
    v = g.check(Event.tool_call(agent="a", tool="wire", args={}))
    assert v.action == Action.REVIEW and cats(v) == {"policy.approval_required"}


def test_limit_per_run_and_denied_calls_do_not_count() -> None:
    g = _guard({"t": {"limit": {"calls": 2, "per": "run"}, "args": {"x": {"type": "integer"}}}})
    ok = lambda run="r": g.check(Event.tool_call(agent="a", run_id=run, tool="t", args={"x": 1}))  # noqa: E731
    bad = g.check(Event.tool_call(agent="a", run_id="r", tool="t", args={"x": "no"}))
    assert bad.action == Action.BLOCK
    assert ok().action == Action.ALLOW
    assert ok().action == Action.ALLOW
    v = ok()
    assert v.action == Action.BLOCK and cats(v) == {"policy.limit"}
    assert ok().action == Action.BLOCK  # still over, and the refused calls did not count extra
    assert ok("other-run").action == Action.ALLOW


def test_limit_window_expires() -> None:
    now = [1000.0]
    m = Manifest.from_dict({"version": 1, "agents": {"a": {"tools": {
        "t": {"limit": {"calls": 1, "per": "1m"}}}}}})
    g = Guard(m, screens=[PolicyScreen(m)], clock=lambda: now[0])
    ev = Event.tool_call(agent="a", run_id="r", tool="t", args={})
    assert g.check(ev).action == Action.ALLOW
    assert g.check(Event.tool_call(agent="a", run_id="other", tool="t", args={})).action == Action.BLOCK
    now[0] += 121  # sliding window: the previous minute's call still weighs until it is a full window old
    assert g.check(ev).action == Action.ALLOW


def test_budget_counts_all_tools() -> None:
    g = _guard({"t": {}, "u": {}}, budget={"tool_calls": 3, "per": "run"})
    res = [g.check(Event.tool_call(agent="a", run_id="r", tool=t, args={})).action for t in "tutu"]
    assert res == [Action.ALLOW] * 3 + [Action.BLOCK]


def test_review_counts_but_block_rolls_back() -> None:
    # an approved REVIEW call runs, so it counts (else approval-gated tools had no limit at all)
    g = _guard({"t": {"approval": "required", "limit": {"calls": 1}}})
    assert g.check(Event.tool_call(agent="a", run_id="r", tool="t")).action == Action.REVIEW
    assert g.check(Event.tool_call(agent="a", run_id="r", tool="t")).action == Action.BLOCK
    # a call that was blocked (here: by the limit itself) does not use up the budget
    g = _guard({"t": {"limit": {"calls": 1}}, "u": {}}, budget={"tool_calls": 2, "per": "run"})
    res = [g.check(Event.tool_call(agent="a", run_id="r", tool=t)).action for t in "tttuu"]
    assert res == [Action.ALLOW, Action.BLOCK, Action.BLOCK, Action.ALLOW, Action.BLOCK]


def test_an_approved_call_checked_again_on_resume_counts_once() -> None:
    # REVIEW -> human approves -> the run resumes (maybe in another process, sharing the store)
    # and the same call is checked again: it must not use up the limit a second time
    from guardrails.state import MemoryStore

    store = MemoryStore()
    tools = {"wire": {"approval": "required", "limit": {"calls": 2, "per": "run"}, "args": "any"}}
    m = Manifest.from_dict({"version": 1, "agents": {"a": {"tools": tools}}})
    first, resumed = (Guard(m, screens=[PolicyScreen(m)], state=store) for _ in range(2))
    ev = lambda cid, amount=10: Event.tool_call(agent="a", run_id="r", tool="wire",  # noqa: E731
                                                args={"amount": amount}, call_id=cid)
    assert first.check(ev("c1")).action == Action.REVIEW
    assert resumed.check(ev("c1")).action == Action.REVIEW  # the resume: not counted again
    assert resumed.check(ev("c1")).action == Action.REVIEW
    assert first.check(ev("c2")).action == Action.REVIEW  # a second, different call: counted
    assert first.check(ev("c3")).action == Action.BLOCK  # the third is over the limit of 2
    # reusing an id for DIFFERENT arguments is a different call: it counts (and is over the limit)
    assert first.check(ev("c1", amount=10_000)).action == Action.BLOCK
    # tools without approval never dedupe by id: the same id twice is two calls
    g = _guard({"t": {"limit": {"calls": 1}, "args": "any"}})
    same = Event.tool_call(agent="a", run_id="r", tool="t", args={}, call_id="x")
    assert [g.check(same).action for _ in range(2)] == [Action.ALLOW, Action.BLOCK]


def test_a_blocked_approval_call_is_counted_when_it_comes_back() -> None:
    # the first check is blocked by another screen: the count and the mark are rolled back, so the
    # same call checked later (e.g. after a fix) is counted then
    from guardrails.state import MemoryStore

    class BlockOnce:
        name, kinds, n = "x", frozenset({EventKind.TOOL_CALL}), 0

        def __call__(self, event: Event, ctx: Any) -> list[Finding]:
            self.n += 1
            return [Finding(screen="x", category="x.block", action=Action.BLOCK)] if self.n == 1 else []

    store = MemoryStore()
    tools = {"wire": {"approval": "required", "limit": {"calls": 1, "per": "run"}, "args": "any"}}
    m = Manifest.from_dict({"version": 1, "agents": {"a": {"tools": tools}}})
    g = Guard(m, screens=[PolicyScreen(m), BlockOnce()], state=store)
    ev = Event.tool_call(agent="a", run_id="r", tool="wire", args={}, call_id="c1")
    assert g.check(ev).action == Action.BLOCK
    assert g.check(ev).action == Action.REVIEW  # counted now (the limit of 1 was free again)
    assert g.check(Event.tool_call(agent="a", run_id="r", tool="wire", args={}, call_id="c2")).action \
        == Action.BLOCK


def test_limits_are_atomic_under_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    g = _guard({"t": {"limit": {"calls": 50}}})
    with ThreadPoolExecutor(8) as ex:
        res = list(ex.map(lambda _: g.check(Event.tool_call(agent="a", run_id="r", tool="t")).action,
                          range(400)))
    assert res.count(Action.ALLOW) == 50


# ------------------------------------------------------------------ peers
def test_peers(policy_guard: Guard) -> None:
    g = policy_guard
    ok = g.check(Event.message(agent="support", content="hi", peer="billing", direction="receive"))
    assert ok.action == Action.ALLOW
    ok = g.check(Event.message(agent="support", content="hi", peer="billing", direction="send"))
    assert ok.action == Action.ALLOW
    v = g.check(Event.message(agent="billing", content="hi", peer="ghost", direction="receive"))
    assert v.action == Action.BLOCK and cats(v) == {"policy.peer_not_allowed"}
    v = g.check(Event.message(agent="support", content="hi", peer="Billing", direction="send"))
    assert v.action == Action.BLOCK and cats(v) == {"policy.evasion"}
    v = g.check(Event.message(agent="support", content="hi", peer="", direction="send"))
    assert v.action == Action.BLOCK


def test_send_and_receive_are_separate() -> None:
    m = Manifest.from_dict({"version": 1, "agents": {
        "a": {"peers": {"send": ["b"]}}, "b": {"peers": {"receive": ["a"]}}}})
    g = Guard(m, screens=[PolicyScreen(m)])
    assert g.check(Event.message(agent="a", content="x", peer="b", direction="send")).allowed
    assert g.check(Event.message(agent="a", content="x", peer="b", direction="receive")).blocked
    assert g.check(Event.message(agent="b", content="x", peer="a", direction="receive")).allowed
    assert g.check(Event.message(agent="b", content="x", peer="a", direction="send")).blocked
