"""Red-team tests of tool-call authorization: each test is an attempt that once got through (or
was misreported) and must now be denied. Grouped by the rule under attack."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrails import Action, Event, Guard, Manifest
from guardrails._net import domain_allowed, host_of, normalize_domain
from guardrails._patterns import compile_full
from guardrails.events import Direction, EventKind
from guardrails.screens.policy import PolicyScreen

MANIFEST: dict[str, Any] = {
    "version": 1,
    "agents": {
        "support": {
            "tools": {
                "send_email": {"args": {"to": {"domains": ["example.com"], "required": True},
                                        "body": {"type": "string"}}},
                "fetch": {"args": {"url": {"domains": ["example.com", "class.com", "10.0.0.1"],
                                           "required": True}}},
                "read_files": {"args": {"paths": {"items": {"pattern": "[a-z]+"}}}},
                "query": {"args": {"filter": {"properties": {"path": {"pattern": "[a-z]+"}}}}},
                "lookup": {"args": {"name": {"pattern": "(?i)[a-z]+"}}},
                "post": {"approval": "required", "limit": {"calls": 2, "per": "run"}},
                "ping": {"limit": {"calls": 3, "per": "1m"}},
            },
            "peers": {"receive": ["billing"]},
        },
        "billing": {"tools": {"refund": {"args": {"amount": {"type": "number", "max": 100}}}}},
    },
}


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(clock: Clock) -> Guard:
    m = Manifest.from_dict(MANIFEST)
    return Guard(m, screens=[PolicyScreen(m)], telemetry=False, clock=clock)


def call(g: Guard, tool: str, args: Any = None, agent: str = "support", run: str = "r1") -> Any:
    return g.check(Event.tool_call(agent=agent, run_id=run, tool=tool, args=args))


def cats(v: Any) -> set[str]:
    return {f.category for f in v.findings}


# ------------------------------------------------------------------ domains: delivered elsewhere
@pytest.mark.parametrize("to", [
    "mailto:eve%40evil.com%2Cbob@example.com",  # percent-decoded by the mail client: two recipients
    "mailto:eve%40evil.com@example.com",
    "eve%40evil.com@example.com",
    "eve%evil.com@example.com",  # percent hack: the server relays to evil.com
    "evil.com!eve@example.com",  # bang path
    "bob@example.com%0d%0abcc:eve@evil.com",
    "mailto:bob@example.com;eve@evil.com",
    "mailto:bob@example.com,eve",
])
def test_email_routing_tricks_denied(guard: Guard, to: str) -> None:
    v = call(guard, "send_email", {"to": to})
    assert v.action == Action.BLOCK, to


@pytest.mark.parametrize("url", [
    "https://cla\u00df.com/",  # IDNA2003 maps ß to ss, IDNA2008 (browsers, `idna`) keeps it
    "https://exam\u00adple.com/",  # soft hyphen: mapped away by one IDNA version only
    "https://examp\u200dle.com/",
    "https://\u03c3\u03c2.example.com.evil.com/",
    "http://evil.10.0.0.1/",  # an IP literal has no subdomains
    "http://1.10.0.0.1/",
    "http://0x0a.0.0.1/",  # hex IPv4 forms
    "http://012.0.0.1/",  # octal
    "http://167772161/",  # decimal
    "http://10.0.0.1.evil.com/",
])
def test_url_host_tricks_denied(guard: Guard, url: str) -> None:
    v = call(guard, "fetch", {"url": url})
    assert v.action == Action.BLOCK, url


@pytest.mark.parametrize("url", [
    "https://example.com/path?q=1",
    "https://api.example.com:8443/x",
    "https://EXAMPLE.com./",
    "http://10.0.0.1/",
    "http://10.0.0.1:8080/status",
    "https://class.com/",
])
def test_url_legit_allowed(guard: Guard, url: str) -> None:
    assert call(guard, "fetch", {"url": url}).action == Action.ALLOW, url


def test_idna_consistent_names_still_allowed() -> None:
    assert normalize_domain("b\u00fccher.example") == "xn--bcher-kva.example"
    assert normalize_domain("B\u00dcCHER.example") == "xn--bcher-kva.example"
    assert normalize_domain("cla\u00df.com") is None
    assert host_of("bob@example.com") == "example.com"
    assert host_of("mailto:bob@example.com") == "example.com"


# ------------------------------------------------------------------ shapes: items / properties
def test_items_rule_cannot_be_skipped_with_an_object(guard: Guard) -> None:
    v = call(guard, "read_files", {"paths": {"a": "../../etc/passwd"}})
    assert v.action == Action.BLOCK and "policy.arg" in cats(v)


def test_items_rule_cannot_be_skipped_with_a_string(guard: Guard) -> None:
    v = call(guard, "read_files", {"paths": "../../etc/passwd"})
    assert v.action == Action.BLOCK


def test_properties_rule_cannot_be_skipped_with_a_list(guard: Guard) -> None:
    v = call(guard, "query", {"filter": [{"path": "/etc/passwd"}]})
    assert v.action == Action.BLOCK


def test_properties_rule_cannot_be_skipped_with_a_json_string(guard: Guard) -> None:
    v = call(guard, "query", {"filter": json.dumps({"path": "/etc/passwd"})})
    assert v.action == Action.BLOCK


def test_items_and_properties_still_work(guard: Guard) -> None:
    assert call(guard, "read_files", {"paths": ["abc", "def"]}).action == Action.ALLOW
    assert call(guard, "query", {"filter": {"path": "abc"}}).action == Action.ALLOW
    assert call(guard, "read_files", {"paths": ["abc", "../x"]}).action == Action.BLOCK


# ------------------------------------------------------------------ patterns
@pytest.mark.parametrize("value", ["\u212aelvin", "\u017fecret", "admin\u212a"])
def test_case_insensitive_pattern_does_not_admit_kelvin_or_long_s(guard: Guard, value: str) -> None:
    assert call(guard, "lookup", {"name": value}).action == Action.BLOCK


def test_case_insensitive_pattern_still_folds_ascii(guard: Guard) -> None:
    assert call(guard, "lookup", {"name": "KeLvIn"}).action == Action.ALLOW


@pytest.mark.parametrize("pattern", ["(?i)[a-z]+", "(?i:[a-z]+)", "(?si)[a-z]+", "x|(?i:[a-z]+)"])
def test_case_insensitive_flag_forms(pattern: str) -> None:
    m = compile_full(pattern)
    assert m.fullmatch("kelvin")
    assert not m.fullmatch("\u212aelvin") and not m.fullmatch("\u017f")


# ------------------------------------------------------------------ limits
def test_approval_calls_count_against_the_limit(guard: Guard) -> None:
    # every call needs approval (REVIEW); an approved call runs, so it must be counted
    actions = [call(guard, "post", {}).action for _ in range(4)]
    assert actions[:2] == [Action.REVIEW, Action.REVIEW]
    assert actions[2:] == [Action.BLOCK, Action.BLOCK]


def test_window_limit_cannot_be_doubled_at_the_boundary(guard: Guard, clock: Clock) -> None:
    clock.t = 60 * 100_000 - 1.0  # one second before a fixed window would reset
    first = [call(guard, "ping", {}).action for _ in range(3)]
    clock.t += 2.0  # just after the boundary
    second = [call(guard, "ping", {}).action for _ in range(3)]
    assert first == [Action.ALLOW] * 3
    assert Action.ALLOW not in second  # 3 calls per minute, not 6 within 2 seconds
    clock.t += 120.0  # a full window later the limit is available again
    assert call(guard, "ping", {}).action == Action.ALLOW


def test_limit_holds_under_threads(guard: Guard) -> None:
    allowed = []

    def worker() -> None:
        for _ in range(20):
            allowed.append(call(guard, "post", {}, run="race").action != Action.BLOCK)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 2


# ------------------------------------------------------------------ messages
def test_message_direction_as_plain_string_is_honoured(guard: Guard) -> None:
    # support may receive from billing but not send to it
    ev = Event(EventKind.MESSAGE, "support", "r1", "hi", peer="billing", direction="send")  # type: ignore[arg-type]
    assert guard.check(ev).action == Action.BLOCK
    ok = Event(EventKind.MESSAGE, "support", "r1", "hi", peer="billing", direction="receive")  # type: ignore[arg-type]
    assert guard.check(ok).action == Action.ALLOW


def test_message_without_direction_denied(guard: Guard) -> None:
    ev = Event(EventKind.MESSAGE, "support", "r1", "hi", peer="billing")
    assert guard.check(ev).action == Action.BLOCK
    assert guard.check(Event.message(agent="support", content="hi", peer="billing",
                                     direction=Direction.RECEIVE)).action == Action.ALLOW


@pytest.mark.parametrize("peer", ["billing\x00", "b\u0456lling", "\u13cfilling", "BILLING", "billing\u200b"])
def test_peer_lookalikes(guard: Guard, peer: str) -> None:
    v = guard.check(Event.message(agent="support", content="hi", peer=peer))
    assert v.action == Action.BLOCK


@pytest.mark.parametrize("peer", [None, b"billing", 5, ""])
def test_malformed_peers(guard: Guard, peer: Any) -> None:
    ev = Event(EventKind.MESSAGE, "support", "r1", "hi", peer=peer, direction=Direction.RECEIVE)
    assert guard.check(ev).action == Action.BLOCK


# ------------------------------------------------------------------ look-alike names reported
@pytest.mark.parametrize("name", [
    "\uab6aend_email",  # Cherokee small letter (looks like s)
    "send_\u13acmail",  # Cherokee capital E
    "send_ema\u026al",  # Latin small capital I
    "send_ema\u03afl",  # Greek iota with tonos
    "send_email\x00",  # trailing NUL
    "send_email\ufe0f",  # variation selector
    "send_emai\u0142",  # l with stroke
    "s\u0435nd_\u0435mail",  # two Cyrillic e
    "\U0001d42c\U0001d41e\U0001d427\U0001d41d_email",  # mathematical bold
    "send_\u0435ma\u0456l\u200b",
])
def test_more_lookalike_tool_names_reported_as_evasion(guard: Guard, name: str) -> None:
    v = call(guard, name, {"to": "bob@example.com"})
    assert v.action == Action.BLOCK and cats(v) == {"policy.evasion"}, (name, cats(v))


@pytest.mark.parametrize("name", ["delete_all", "send_emails_to_everyone", "\u13cf\u13ac\u13a0"])
def test_unrelated_names_are_not_called_evasion(guard: Guard, name: str) -> None:
    v = call(guard, name, {})
    assert v.action == Action.BLOCK and cats(v) == {"policy.tool_not_allowed"}


def test_lookalike_agent_cherokee(guard: Guard) -> None:
    v = guard.check(Event.tool_call(agent="\uab8aupport", tool="send_email", args={}))
    assert v.action == Action.BLOCK and cats(v) == {"policy.evasion"}


def test_lookalike_argument_key_cherokee(guard: Guard) -> None:
    v = call(guard, "send_email", {"to": "bob@example.com", "b\u13a4dy": "x"})
    assert v.action == Action.BLOCK and "policy.evasion" in cats(v)


# ------------------------------------------------------------------ JSON arguments
@pytest.mark.parametrize("raw", [
    '{"to": "bob@example.com", "body": {"a": 1, "a": 2}}',  # nested duplicate
    '{"to": "bob@example.com", "t\\u006f": "eve@evil.com"}',  # duplicate through an escape
    '\ufeff{"to": "bob@example.com"}',  # BOM
    '{"to": "bob@example.com"} {"to": "eve@evil.com"}',  # two documents
    '{"to": "bob@example.com"}\x00',
    '[{"to": "bob@example.com"}]',
    '"{\\"to\\": \\"bob@example.com\\"}"',  # doubly encoded
    '{"to": "bob@example.com", "body": NaN}',
])
def test_malformed_json_args_denied(guard: Guard, raw: str) -> None:
    assert call(guard, "send_email", raw).action == Action.BLOCK, raw


@pytest.mark.parametrize("amount", ["1e400", "-1e400", "1" + "0" * 5000, "\"50\"", "true", "1e2.5",
                                    "100.0000000000000001", "101", "null"])
def test_numbers_at_the_edges(guard: Guard, amount: str) -> None:
    raw = '{"amount": ' + amount + "}"
    v = guard.check(Event.tool_call(agent="billing", tool="refund", args=raw))
    # 100.0000000000000001 rounds to 100.0 in a double, like in every JSON parser that uses doubles
    expected = Action.ALLOW if amount.startswith("100.0") else Action.BLOCK
    assert v.action == expected, amount


def test_args_as_bytes_and_odd_types(guard: Guard) -> None:
    for args in (b'{"to": "bob@example.com"}', ["to"], 5, object()):
        ev = Event(EventKind.TOOL_CALL, "support", "r", "",
                   tool=__import__("guardrails").events.ToolCall("send_email", args))
        v = guard.check(ev)
        assert v.action == Action.BLOCK or isinstance(args, bytes)


def test_non_string_names_denied(guard: Guard) -> None:
    from guardrails.events import ToolCall

    for agent, tool in ((None, "send_email"), (b"support", "send_email"), ("support", None),
                        ("support", b"send_email"), ("support", 5)):
        ev = Event(EventKind.TOOL_CALL, agent, "r", "", tool=ToolCall(tool, {}))  # type: ignore[arg-type]
        assert guard.check(ev).action == Action.BLOCK


# ------------------------------------------------------------------ vacuous lists, encoded words
@pytest.mark.parametrize("value", [[], [[]], [["bob@example.com"], []]])
def test_empty_list_does_not_pass_a_value_rule(guard: Guard, value: Any) -> None:
    v = call(guard, "send_email", {"to": value})
    assert v.action == Action.BLOCK


def test_list_of_valid_values_still_allowed(guard: Guard) -> None:
    assert call(guard, "send_email", {"to": ["bob@example.com"]}).action == Action.ALLOW


@pytest.mark.parametrize("to", ["=?utf-8?q?eve=40evil.com?=@example.com",
                                "=?x?q?eve=40evil.com=2c?=bob@example.com"])
def test_encoded_word_local_parts_denied(guard: Guard, to: str) -> None:
    assert call(guard, "send_email", {"to": to}).action == Action.BLOCK


class _Shifty:
    n = 0

    def __str__(self) -> str:
        _Shifty.n += 1
        return f"run{_Shifty.n}"


def test_run_id_that_changes_cannot_reset_limits(guard: Guard) -> None:
    ev = Event(EventKind.TOOL_CALL, "support", _Shifty(), "",  # type: ignore[arg-type]
               tool=__import__("guardrails").events.ToolCall("post", {}))
    assert guard.check(ev).action == Action.BLOCK


@pytest.mark.parametrize("bound", ["max: .nan", "min: .nan", "max: .inf", "one_of: [.nan]"])
def test_nan_bounds_rejected_at_load(bound: str) -> None:
    from guardrails import ConfigError

    with pytest.raises(ConfigError):
        Manifest.from_yaml_text("version: 1\nagents:\n  a:\n    tools:\n      t:\n        args:\n"
                                f"          x: {{{bound}}}\n")


def test_declared_names_with_outer_spaces_rejected() -> None:
    from guardrails import ConfigError

    with pytest.raises(ConfigError, match="look-alike"):
        Manifest.from_yaml_text('version: 1\nagents:\n  a:\n    tools:\n      "send_email ": {}\n')


# ------------------------------------------------------------------ differential: what clients deliver to
_PIECES = ["@", "evil.com", ".", "\u3002", ":", "80", "/", "\\", "%2e", "%40", "?", "#", ";", "[", "]",
           "0x7f", "127", "1", "\t", "\n", " ", "\u00ad", "\u200b", "\u00df", "\u017f", "\u0131", "\u00e9",
           "xn--", "-", "_", "!", "user:pass@", "%", "\uff0f", "\uff20", "\u2024"]


@settings(max_examples=1500, deadline=None)
@given(scheme=st.sampled_from(["http://", "https://", "HTTPS://", "ws://", "ftp://", "http:/", "https:///"]),
       before=st.lists(st.sampled_from(_PIECES), max_size=2), after=st.lists(st.sampled_from(_PIECES), max_size=3),
       host=st.sampled_from(["example.com", "sub.example.com", "EXAMPLE.COM"]))
def test_allowed_urls_resolve_to_the_allowed_domain_in_real_parsers(scheme: str, before: list[str],
                                                                   after: list[str], host: str) -> None:
    ada_url = pytest.importorskip("ada_url")
    import urllib3.util

    url = scheme + "".join(before) + host + "".join(after)
    h = host_of(url)
    if h is None or not domain_allowed(h, ("example.com",)):
        return
    for parse in (lambda: ada_url.URL(url).hostname, lambda: urllib3.util.parse_url(url).host):
        try:
            other = parse()
        except Exception:
            continue
        if other:
            other = other.lower().rstrip(".")
            assert other == "example.com" or other.endswith(".example.com"), (url, h, other)


@settings(max_examples=1500, deadline=None)
@given(before=st.lists(st.sampled_from(["@", "evil.com", ",", ";", ":", "<", ">", '"', "(", ")", "\\", "%",
                                        "!", "=?", "?=", "?q?", "=40", "mailto:", "%40", " ", "eve"]),
                       max_size=4),
       domain=st.sampled_from(["example.com", "sub.example.com", "example.com."]))
def test_allowed_addresses_have_one_recipient_on_the_allowed_domain(before: list[str], domain: str) -> None:
    from email import policy
    from email.parser import HeaderParser
    from email.utils import getaddresses

    value = "".join(before) + "bob@" + domain
    h = host_of(value)
    if h is None or not domain_allowed(h, ("example.com",)):
        return
    v = value[7:] if value.lower().startswith("mailto:") else value
    doms = [a[1].rpartition("@")[2] for a in getaddresses([v])]
    header = HeaderParser(policy=policy.default).parsestr(f"To: {v}\n\n")["to"]
    doms += [a.domain for a in header.addresses]
    for d in doms:
        d = d.lower().rstrip(".")
        if not d:  # this parser could not read a domain at all: it delivers nowhere
            continue
        assert d == "example.com" or d.endswith(".example.com"), (value, doms)
    assert len(getaddresses([v])) == 1


_HOMOGLYPHS = {"a": "аɑαａ𝐚ᴀ", "c": "сϲⅽ𝐜ᴄ", "d": "ԁⅾ𝐝ꓒɗ", "e": "еҽ℮ꬲ𝐞ᴇ", "f": "ſƒ𝐟", "i": "іɩιⅰ𝐢ıӏ",
               "l": "ӏⅼℓ𝐥ǀ|ɫ", "m": "ⅿм𝐦ᴍ", "n": "ոп𝐧ɴ", "o": "оοօ𝐨ᴏ", "r": "гᴦ𝐫ɾ", "s": "ѕꜱ𝐬",
               "u": "υսᴜ𝐮", "_": "＿‗"}
_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f", "\ufe0f", "\U000e0061",
              "\u180e", "\u061c", "\x00"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["send_email", "fetch", "read_files", "query", "lookup"]),
       data=st.data())
def test_property_homoglyph_names_reported_as_evasion(guard: Guard, name: str, data: st.DataObject) -> None:
    chars = list(name)
    subs = data.draw(st.lists(st.integers(0, len(name) - 1), min_size=1, max_size=max(1, len(name) // 3)))
    for i in subs:
        if name[i] in _HOMOGLYPHS:
            chars[i] = data.draw(st.sampled_from(_HOMOGLYPHS[name[i]]))
    if data.draw(st.booleans()):
        chars.insert(data.draw(st.integers(0, len(chars))), data.draw(st.sampled_from(_INVISIBLE)))
    cand = "".join(chars)
    if cand == name:
        return
    v = call(guard, cand, {})
    assert v.action == Action.BLOCK and cats(v) == {"policy.evasion"}, (cand, cats(v))


def test_huge_attacker_keys_do_not_bloat_reasons(guard: Guard) -> None:
    v = call(guard, "send_email", {"to": "bob@example.com", "x" * 1_000_000: 1})
    assert v.action == Action.BLOCK
    assert max(len(f.reason) for f in v.findings) < 500
    v = call(guard, "query", {"filter": {"y" * 100_000: "a"}})
    assert v.action == Action.BLOCK and max(len(f.reason) for f in v.findings) < 500


class _Unhashable(str):
    __hash__ = None  # type: ignore[assignment]


class _BrokenStore:
    def incr(self, key: str, amount: int = 1, *, ttl: float) -> int:
        raise ConnectionError("state store down")

    def get(self, key: str) -> int:
        raise ConnectionError("state store down")

    def append(self, key: str, item: Any, *, ttl: float, max_items: int) -> None:
        raise ConnectionError("state store down")

    def items(self, key: str) -> list[Any]:
        return []

    def delete(self, key: str) -> None:
        pass


def _fail_open_guard(state: Any = None) -> Guard:
    m = Manifest.from_dict({"version": 1, "defaults": {"on_error": "allow"}, "agents": {"a": {"tools": {
        "pay": {"args": {"currency": {"one_of": ["USD"]}}, "limit": {"calls": 1}}}}}})
    return Guard(m, screens=[PolicyScreen(m)], telemetry=False, state=state)


def test_allowlist_fails_closed_even_with_on_error_allow() -> None:
    g = _fail_open_guard()
    v = g.check(Event.tool_call(agent="a", tool="pay", args={"currency": _Unhashable("EUR")}))
    assert v.action == Action.BLOCK and cats(v) == {"policy.error"}


def test_state_store_outage_follows_on_error() -> None:
    g = _fail_open_guard(_BrokenStore())
    v = g.check(Event.tool_call(agent="a", tool="pay", args={"currency": "USD"}))
    assert v.action == Action.ALLOW and v.degraded  # opted in: limits are degraded, not the allowlist
    assert call(g, "pay", {"currency": "EUR"}, agent="a").action == Action.BLOCK
