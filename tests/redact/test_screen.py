from __future__ import annotations

import pytest

from guardrails import Action, Event, Guard

MANIFEST = {
    "version": 1,
    "defaults": {"redact": {"operator": "pseudonym"}},
    "agents": {
        "support": {"peers": {"send": ["billing"], "receive": ["billing"]}, "tools": {
            "send_email": {"args": "any", "restore": ["EMAIL_ADDRESS"]},
            "notify": {"args": {"to": {"restore": ["PHONE_NUMBER"]}, "body": {}}},
            "search": {"args": "any"},
        }},
        "billing": {"peers": {"send": ["support"], "receive": ["support"]},
                    "tools": {"search": {"args": "any"}}},
        "quiet": {"redact": {"enabled": False}, "tools": {}},
    },
}


@pytest.fixture(scope="module")
def guard():
    return Guard.from_dict(MANIFEST)


def test_tool_result_is_redacted_without_leaking(guard):
    secret = "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"
    v = guard.check(Event.tool_result(agent="support", run_id="r1", tool="search",
                                      content=f"bob@example.com paid; token {secret}"))
    assert v.action == Action.REDACT
    assert v.content is not None and v.content.startswith("<EMAIL_ADDRESS_1> paid; ")
    assert "<SECRET_1>" in v.content and secret not in v.content
    cats = {f.category for f in v.findings}
    assert {"pii.EMAIL_ADDRESS", "secret.github_token"} <= cats
    dump = repr([f.to_dict() for f in v.findings])
    assert "bob@" not in dump and secret not in dump
    assert all(f.span is not None for f in v.findings if f.screen == "redact")


def test_same_value_same_token_across_agents(guard):
    a = guard.check(Event.tool_result(agent="support", run_id="r2", tool="search", content="x amy@example.com"))
    b = guard.check(Event.message(agent="billing", run_id="r2", peer="support", content="amy@example.com"))
    assert a.content == "x <EMAIL_ADDRESS_1>" and b.content == "<EMAIL_ADDRESS_1>"


def test_restore_only_where_allowed(guard):
    guard.check(Event.tool_result(agent="support", run_id="r3", tool="search",
                                  content="amy@example.com, +1 212 555 0199"))
    v = guard.check(Event.tool_call(agent="support", run_id="r3", tool="send_email",
                                    args={"to": "<EMAIL_ADDRESS_1>", "body": "call <PHONE_NUMBER_1>"}))
    assert v.args == {"to": "amy@example.com", "body": "call <PHONE_NUMBER_1>"}
    v2 = guard.check(Event.tool_call(agent="support", run_id="r3", tool="notify",
                                     args={"to": "<PHONE_NUMBER_1>", "body": "<EMAIL_ADDRESS_1>"}))
    assert v2.args is not None
    assert v2.args["body"] == "<EMAIL_ADDRESS_1>" and v2.args["to"] != "<PHONE_NUMBER_1>"
    v3 = guard.check(Event.tool_call(agent="support", run_id="r3", tool="search",
                                     args={"q": "<EMAIL_ADDRESS_1>"}))
    assert v3.args is None  # search may not see it


def test_secret_in_tool_args_blocks(guard):
    v = guard.check(Event.tool_call(agent="support", run_id="r4", tool="send_email",
                                    args={"to": "x@example.com",
                                          "body": {"note": ["key AKIAZ3MPLEKEYW2XQ7R4"]}}))
    assert v.action == Action.BLOCK
    f = next(f for f in v.findings if f.category == "secret.aws_access_key")
    assert f.details["safe.arg"] == "body" and "AKIA" not in repr(f)


def test_kinds_not_configured_are_untouched(guard):
    v = guard.check(Event.input(agent="support", run_id="r5", content="my mail is bob@example.com"))
    assert v.content is None and not any(f.screen == "redact" for f in v.findings)


def test_disabled_agent(guard):
    v = guard.check(Event.output(agent="quiet", run_id="r6", content="bob@example.com"))
    assert not any(f.screen == "redact" for f in v.findings)


def test_a_failing_redactor_fails_closed(monkeypatch):
    from guardrails.redact.fastpath import RedactionError
    from guardrails.redact.redactor import Redactor

    g = Guard.from_dict(MANIFEST)

    def boom(self, text, *, scope="default"):
        raise RedactionError("pattern timed out")

    monkeypatch.setattr(Redactor, "redact", boom)
    v = g.check(Event.tool_result(agent="support", run_id="r7", tool="search", content="bob@example.com"))
    assert v.action == Action.BLOCK and v.content is None
    assert any(f.category == "screen.error" for f in v.findings)


class SharedStore:
    """A store shared by several Guards (replicas), like a RedisStore, but in memory."""

    def __init__(self) -> None:
        from guardrails.state import MemoryStore

        self._m = MemoryStore()

    def incr(self, key, amount=1, *, ttl):
        return self._m.incr(key, amount, ttl=ttl)

    def get(self, key):
        return self._m.get(key)

    def append(self, key, item, *, ttl, max_items):
        self._m.append(key, item, ttl=ttl, max_items=max_items)

    def items(self, key):
        return self._m.items(key)

    def delete(self, key):
        self._m.delete(key)


def check_replicas_share_pseudonyms(store) -> None:
    """Replica A pseudonymizes a tool result; replica B (same store) restores it for an allowed tool
    and gives the same value the same token."""
    a, b = (Guard.from_dict(MANIFEST, state=store, telemetry=False) for _ in range(2))
    va = a.check(Event.tool_result(agent="support", run_id="rr", tool="search", content="write to amy@example.com"))
    assert va.content == "write to <EMAIL_ADDRESS_1>"
    vb = b.check(Event.tool_call(agent="support", run_id="rr", tool="send_email", args={"to": "<EMAIL_ADDRESS_1>"}))
    assert vb.args == {"to": "amy@example.com"}  # restored on the other replica
    again = b.check(Event.message(agent="billing", run_id="rr", peer="support", content="cc amy@example.com"))
    assert again.content == "cc <EMAIL_ADDRESS_1>"
    # a streamed answer on replica B uses the same tokens
    s = b.stream("support", "rr")
    out = s.feed("reply to amy@exa") + s.feed("mple.com now") + s.flush()
    assert out == "reply to <EMAIL_ADDRESS_1> now"


def test_replicas_share_pseudonyms_through_the_state_store(monkeypatch):
    monkeypatch.setenv("PERIMETER_VAULT_KEY", "11" * 32)
    check_replicas_share_pseudonyms(SharedStore())


def test_in_process_guards_keep_separate_vaults():
    # with the default in-process store each Guard keeps its own (bounded, in-memory) vault
    a, b = Guard.from_dict(MANIFEST, telemetry=False), Guard.from_dict(MANIFEST, telemetry=False)
    a.check(Event.tool_result(agent="support", run_id="z", tool="search", content="amy@example.com"))
    vb = b.check(Event.tool_call(agent="support", run_id="z", tool="send_email", args={"to": "<EMAIL_ADDRESS_1>"}))
    assert vb.args is None
