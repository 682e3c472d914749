"""GuardedStream: streamed answers redacted chunk by chunk, the whole answer checked at the end."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardrails import Action, Event, Guard
from guardrails.errors import InputError

EMAIL = "john.smith@example.com"
KEY = "AKIAIOSFODNN7EXAMPLE"
TEXT = f"Hello, write to {EMAIL} today; the deploy key is {KEY} and nothing else matters here."


def guard(**redact: Any) -> Guard:
    defaults: dict[str, Any] = {"redact": redact} if redact else {}
    return Guard.from_dict({"version": 1, "defaults": defaults,
                            "agents": {"bot": {"tools": {}}, "quiet": {"tools": {}, "mode": "shadow"}}},
                           telemetry=False)


G = guard()


def run(g: Guard, pieces: list[str], agent: str = "bot", **kw: Any) -> tuple[str, Any]:
    s = g.stream(agent, "run-1", **kw)
    out = "".join(s.feed(p) for p in pieces) + s.flush()
    return out, s


def cut(text: str, points: list[int]) -> list[str]:
    bounds = [0, *sorted(set(points)), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def test_values_split_across_chunks_are_redacted() -> None:
    out, s = run(G, list(TEXT))  # one character per chunk: the hardest split
    assert EMAIL not in out and KEY not in out
    assert "<EMAIL_ADDRESS>" in out and "<SECRET>" in out
    assert out == G.check(Event.output(agent="bot", run_id="run-1", content=TEXT)).content
    assert s.verdict.action is Action.REDACT


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(TEXT) - 1), max_size=12))
def test_any_split_gives_the_one_shot_result(points: list[int]) -> None:
    out, _ = run(G, cut(TEXT, points))
    assert EMAIL not in out and KEY not in out
    whole, _ = run(G, [TEXT])
    assert out == whole


def test_no_prefix_of_a_value_is_emitted_before_it_is_complete() -> None:
    s = G.stream("bot", "r")
    emitted = ""
    for ch in TEXT:
        emitted += s.feed(ch)
        # whatever was emitted so far never shows the start of the address or the key
        assert "john.smith@" not in emitted and "AKIAIOSF" not in emitted
    emitted += s.flush()
    assert emitted.endswith("nothing else matters here.")


def test_pseudonyms_match_the_guards_checks_in_the_same_run() -> None:
    g = guard(operator="pseudonym")
    out, _ = run(g, cut(TEXT, [20, 21, 40]))
    checked = g.check(Event.tool_result(agent="bot", run_id="run-1", tool="crm", content=f"to: {EMAIL}"))
    assert "<EMAIL_ADDRESS_1>" in out and checked.content == "to: <EMAIL_ADDRESS_1>"


def test_pass_through_when_nothing_is_enforced() -> None:
    g = guard(on=["tool_result"])  # outputs are not redacted for this manifest
    out, s = run(g, cut(TEXT, [5, 30]))
    assert out == TEXT and s.verdict.action is Action.ALLOW
    out, s = run(G, cut(TEXT, [5, 30]), agent="quiet")  # shadow mode: observe only
    assert out == TEXT and s.verdict.action is Action.ALLOW and s.verdict.intended is Action.REDACT


def test_unknown_agent_gets_nothing_and_a_block() -> None:
    out, s = run(G, ["hello ", "world"], agent="intruder")
    assert out == "" and s.withheld and s.verdict.action is Action.BLOCK


def test_redaction_failure_withholds_the_rest_and_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    s = G.stream("bot", "r")
    first = s.feed("safe text " * 30)
    assert first  # something was emitted before the failure

    def boom(chunk: str) -> str:
        raise RuntimeError("engine down")

    assert s._redactor is not None
    monkeypatch.setattr(s._redactor, "feed", boom)
    assert s.feed(f" mail {EMAIL}") == ""
    assert s.withheld and s.flush() == ""
    assert s.verdict.action is Action.BLOCK
    assert any(f.rule == "stream.redaction_error" for f in s.verdict.findings)


def test_bad_use_is_a_clear_error() -> None:
    s = G.stream("bot", "r")
    with pytest.raises(InputError):
        s.feed(b"bytes")  # type: ignore[arg-type]
    s.flush()
    with pytest.raises(InputError, match="already flushed"):
        s.feed("more")
    assert s.flush() == ""  # a second flush is harmless
    with pytest.raises(InputError, match="peer"):
        G.stream("bot", "r", kind="message")
    with pytest.raises(InputError, match="not 'tool_call'"):
        G.stream("bot", "r", kind="tool_call")
    with pytest.raises(InputError, match="unknown event kind"):
        G.stream("bot", "r", kind="bogus")


def test_delay_is_bounded_inside_one_long_token() -> None:
    s = G.stream("bot", "r", lookback=64, max_buffer=512)
    emitted = "".join(s.feed("x" * 100) for _ in range(50))  # 5,000 characters without a space
    assert s.pending <= 512 and len(emitted) >= 5000 - 512
    assert emitted + s.flush() == "x" * 5000


def test_message_streams_are_checked_as_messages() -> None:
    g = Guard.from_dict({"version": 1, "agents": {"a": {"tools": {}, "peers": {"send": ["b"]}},
                                                  "b": {"tools": {}}}}, telemetry=False)
    out, s = run(g, cut(TEXT, [10, 33]), agent="a", kind="message", peer="b")
    assert EMAIL not in out and s.verdict.action is Action.REDACT
    s2 = g.stream("a", "r", kind="message", peer="mallory")  # not an allowed peer
    s2.feed("hi")
    s2.flush()
    assert s2.verdict.action is Action.BLOCK
