"""Manifest loading: every malformed manifest is rejected with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrails import ConfigError, Manifest
from guardrails.manifest import parse_window

from .conftest import EXAMPLE


def load(text: str) -> Manifest:
    return Manifest.from_yaml_text(text, source="m.yaml")


def err(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        load(text)
    return ei.value


def test_example_loads_and_merges_defaults() -> None:
    m = Manifest.from_yaml(EXAMPLE)
    sup = m.agent("support")
    assert sup is not None
    assert sup.on_error == "block" and sup.mode == "enforce"
    assert sup.injection.on == ("input", "tool_result", "message")  # `on:` stays a string key
    assert sup.tools["send_email"].approval == "required"
    assert m.agent("nobody") is None


def test_on_key_is_not_a_boolean() -> None:
    m = load("version: 1\ndefaults:\n  injection: {on: [input]}\nagents: {}\n")
    assert m.defaults.injection.on == ("input",)


def test_agent_overrides_merge_field_by_field() -> None:
    m = load("""
version: 1
defaults: {injection: {threshold: 0.7, action: review}, mode: shadow}
agents:
  a: {injection: {threshold: 0.3}}
  b: {mode: enforce}
""")
    a, b = m.agent("a"), m.agent("b")
    assert a and b
    assert a.injection.threshold == 0.3 and a.injection.action == "review" and a.mode == "shadow"
    assert b.injection.threshold == 0.7 and b.mode == "enforce"


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("version: 1\nagents:\n  a:\n    tols: {}\n", 4, "did you mean 'tools'"),
        ("version: 1\nagents:\n  a:\n    tools:\n      t: {args: {x: {patern: 'a'}}}\n", 5, "did you mean 'pattern'"),
        ("version: 1\nagents:\n  a:\n    tools:\n      t: {aproval: required}\n", 5, "did you mean 'approval'"),
        ("version: 1\ndefaults:\n  injection: {treshold: 0.5}\nagents: {}\n", 3, "did you mean 'threshold'"),
        ("version: 1\nagents:\n  a:\n    injection: {treshold: 0.5}\n", 4, "did you mean 'threshold'"),
        ("version: 1\nagents:\n  a:\n    tools:\n      t: {limit: {calls: 3, per: 5x}}\n", 5, "invalid window"),
        ("version: 1\nagents:\n  a:\n    tools:\n      t: {args: {x: {pattern: '(unclosed'}}}\n", 5, "invalid pattern"),
        ("version: 1\nagents:\n  a:\n    tools:\n      t: {approval: maybe}\n", 5, "required"),
        ("version: 2\nagents: {}\n", 1, "version"),
        ("version: 1\nagents:\n  a:\n    peers: {send: [ghost]}\n", 4, "ghost"),
        ("version: 1\nagents:\n  a:\n    tools:\n      t: {args: {x: {min: 5, max: 1}}}\n", 5, "greater than max"),
        ("version: 1\nagents:\n  a:\n    tools:\n      t: {args: {x: {domains: ['not a domain']}}}\n", 5, "invalid domain"),
        ("version: 1\ndefaults: {injection: {threshold: 2}}\nagents: {}\n", 2, "less than or equal to 1"),
        ("version: 1\nagents:\n  a:\n    tools:\n      t: {args: anyy}\n", 5, "'any'"),
        ("version: 1\nagents:\n  a:\n    credentials: {aws: {role_arn: 'nope'}}\n", 4, "not an IAM role ARN"),
        ("version: 1\nagents:\n  a:\n    credentials: {aws: {role_arn: 'arn:aws:iam::123456789012:role/x', duration: 60}}\n",
         4, "greater than or equal to 900"),
    ],
)
def test_errors_name_file_line_and_key(text: str, line: int, needle: str) -> None:
    e = err(text)
    msg = str(e)
    assert "m.yaml:" in msg and needle in msg, msg
    assert e.line == line, (e.line, msg)


def test_duplicate_keys_are_rejected() -> None:
    e = err("version: 1\nagents:\n  a:\n    tools: {t: {}}\n  a:\n    tools: {u: {}}\n")
    assert "duplicate key 'a'" in str(e) and e.line == 5 and "line 3" in str(e)
    e = err("version: 1\nagents:\n  a:\n    tools:\n      t: {approval: never, approval: required}\n")
    assert "duplicate key 'approval'" in str(e)


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty
        "- a\n- b\n",  # a list
        "version: 1\nagents: [a, b]\n",
        "version: 1\nagents:\n  a: {tools: {t: {args: {x: {type: strnig}}}}}\n",
        "version: 1\nagents: {a: {tools: {t: [1]}}}\n",
        "version: 1\nagents:\n  a:\n tools: {}\n",  # bad indentation
        "version: 1\nagents: {a: {tools: {t: {}}}\n",  # unclosed flow mapping
        "!!python/object/apply:os.system ['echo pwned']\n",  # unsafe tag
        "version: 1\nagents: {? [a, b] : {}}\n",  # complex key
        "version: 1\nagents:\n  \"sup\u200bport\": {}\n",  # invisible character in a name
        "version: 1\nagents:\n  a:\n    tools:\n      \"send_em\u0430il\": {}\n",  # mixed script
        "version: 1\nagents:\n  \"ｓｕｐｐｏｒｔ\": {}\n",  # full width
        "version: 1\nagents:\n  a: &x {tools: *x}\n",  # recursive alias
        "a: &a [*a]\n",
        "version: 1\x00\n",
    ],
)
def test_malformed_manifests_are_rejected(text: str) -> None:
    with pytest.raises(ConfigError):
        load(text)


def test_yaml_bomb_is_bounded() -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi")
    )
    with pytest.raises(ConfigError):
        load(bomb)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        Manifest.from_yaml(tmp_path / "missing.yaml")
    p = tmp_path / "bin.yaml"
    p.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="UTF-8"):
        Manifest.from_yaml(p)
    p = tmp_path / "typo.yaml"
    p.write_text("version: 1\nagents:\n  a:\n    tols: {}\n")
    with pytest.raises(ConfigError) as ei:
        Manifest.from_yaml(p)
    assert str(ei.value).startswith(f"{p}:4: agents.a.tols: unknown key 'tols'")


def test_all_problems_are_reported() -> None:
    e = err("version: 1\nagents:\n  a:\n    tols: {}\n  b:\n    peerz: {}\n")
    assert len(e.errors) == 2


def test_manifest_is_frozen(manifest: Manifest) -> None:
    with pytest.raises(Exception):
        manifest.version = 2  # type: ignore[misc]


def test_json_schema_is_complete() -> None:
    schema = Manifest.json_schema()
    assert schema["title"] == "Perimeter role manifest"
    text = str(schema)
    for key in ("pattern", "domains", "one_of", "approval", "untrusted_args", "peers", "budget", "credentials"):
        assert key in text
    assert "source" not in schema["properties"]


def test_parse_window() -> None:
    assert parse_window("run") is None
    assert parse_window("10s") == 10 and parse_window("1m") == 60 and parse_window("2h") == 7200
    for bad in ("0s", "1 m", "-1m", "1w", "", "1m "):
        with pytest.raises(ValueError):
            parse_window(bad)


# ------------------------------------------------------------------ red team: hardening and messages
def _tool(rule: str) -> str:
    return f"version: 1\nagents:\n  a:\n    tools:\n      t:\n        args:\n          x: {rule}\n"


@pytest.mark.parametrize(("rule", "needle"), [
    ("{type: integer, pattern: '[0-9]+'}", "pattern applies to strings, but type is integer"),
    ("{pattern: '[0-9]+', max: 5}", "no value can satisfy both"),
    ("{type: string, min: 1}", "min applies to numbers"),
    ("{type: string, items: {type: string}}", "items describes the elements of an array"),
    ("{type: array, properties: {a: {}}}", "properties describes an object"),
    ("{items: {}, properties: {a: {}}}", "both an array"),
    ("{one_of: []}", "one_of is empty"),
    ("{domains: [com]}", "top-level domain"),
    ("{domains: ['https://example.com']}", "host name only"),
    ("{domains: ['cla\u00df.com']}", "invalid domain"),
    ("{domains: ['0x7f.1']}", "invalid domain"),
])
def test_rules_no_value_could_satisfy_or_too_broad(rule: str, needle: str) -> None:
    e = err(_tool(rule))
    assert needle in str(e) and "m.yaml:7: agents.a.tools.t.args.x" in str(e), str(e)


def test_rule_consistency_keeps_valid_combinations() -> None:
    m = load(_tool("{type: array, pattern: '[a-z]+', max_items: 3}"))
    assert m.agent("a") is not None
    load(_tool("{type: object, properties: any}"))
    load(_tool("{domains: [localhost, 10.0.0.1, '*.example.com']}"))


@pytest.mark.parametrize(("names", "what"), [
    ("tools:\n      send_email: {}\n      Send_Email: {args: any}\n", "tool name can be confused with tool 'send_email'"),
    ("tools:\n      send_email: {}\n      send-email: {}\n", "can be confused"),
    ("tools:\n      t:\n        args: {to: {}, TO: {}}\n", "argument name can be confused with argument 'to'"),
])
def test_confusable_sibling_names_rejected(names: str, what: str) -> None:
    e = err("version: 1\nagents:\n  a:\n    " + names)
    assert what in str(e), str(e)


def test_confusable_agent_names_rejected() -> None:
    e = err("version: 1\nagents:\n  ops: {}\n  OPS: {}\n")
    assert "m.yaml:4: agents.OPS: agent name can be confused with agent 'ops'" in str(e)


def test_source_key_in_file_rejected() -> None:
    e = err("version: 1\nsource: /etc/passwd\nagents: {}\n")
    assert "m.yaml:2: source: unknown key 'source'" in str(e)


def test_manifest_size_capped() -> None:
    from guardrails.manifest import MAX_CHARS

    e = err("version: 1\nagents: {}\n# " + "x" * MAX_CHARS)
    assert "more than a manifest may have" in str(e)


# Realistic mistakes: each message names file:line, the dotted key and what to do.
MISTAKES = [
    ("version: 1\nagent:\n  a: {}\n", "m.yaml:2: agent: unknown key 'agent'; did you mean 'agents'?"),
    ("version: 1\nagents:\n  a:\n    tools:\n      t:\n        arg: {}\n",
     "m.yaml:6: agents.a.tools.t.arg: unknown key 'arg'; did you mean 'args'?"),
    (_tool("{typ: string}"), "agents.a.tools.t.args.x.typ: unknown key 'typ'; did you mean 'type'?"),
    (_tool("{type: str}"), "Input should be 'string', 'integer'"),
    (_tool("{pattern: '[A-Z'}"), "agents.a.tools.t.args.x.pattern: invalid pattern '[A-Z'"),
    ("version: 1\nagents:\n  a:\n    tools:\n      t: {limit: {calls: 5, per: 1min}}\n",
     "agents.a.tools.t.limit.per: invalid window '1min': use 'run' or a number with s, m, h or d"),
    ("version: 1\nagents:\n  a:\n    tools:\n      t: {args: Any}\n",
     "m.yaml:5: agents.a.tools.t.args: expected a mapping (key: value) or 'any', got 'Any'"),
    ("version: 1\nagents:\n  a:\n    tools: [search, send]\n",
     "agents.a.tools: expected a mapping (key: value), got list ['search', 'send']; write one 'name: {...}'"),
    ("version: 1\nagents:\n  a:\n    tools:\n      t:\n      args: any\n",
     "agents.a.tools.args: expected a mapping (key: value), got str 'any'; 'args' is a setting, not a name"),
    ("version: 1\nagents:\n  a:\n    peers: [b]\n  b: {}\n", "its keys are: send, receive"),
    ("version: 1\nagents:\n  a:\n    tools:\n      123: {}\n",
     "agents.a.tools: the name 123 is read as a number, but names must be text: quote it ('123')"),
    ("version: 1\nagents:\n  a:\n    tools:\n      true: {}\n", "the name true is read as a boolean"),
    ("version: 1\nagents:\n  a:\n    tools:\n      ~: {}\n", "m.yaml:5: invalid YAML: a key is empty or null"),
    ("version: 1\nagents:\n\ta: {}\n", "m.yaml:3: invalid YAML: found character '\\t' that cannot start any "
     "token (indent with spaces"),
    (_tool("{domains: example.com}"), "domains: expected a list, got str 'example.com'; write [example.com]"),
    (_tool("{one_of: [[a]]}"), "one_of[0]: expected text or an integer or a number or true or false, got list"),
    ("version: 1\nagents:\n  a:\n    budget: {calls: 5}\n", "unknown key 'calls'; did you mean 'tool_calls'?"),
    ("version: 1\nagents:\n  a:\n    injection: {treshold: 0.5}\n", "did you mean 'threshold'?"),
    ("version: 1\nagents:\n  a:\n    peers: {send: [b]}\n", "agents.a.peers.send[0]: peer 'b' is not an agent"),
    ("version: 2\nagents: {}\n", "m.yaml:1: version: Input should be 1 (got 2)"),
    ("version: 1\nbase: &b {args: any}\nagents:\n  a:\n    tools:\n      t:\n        <<: *b\n        args: {x: {}}\n",
     "m.yaml:8: invalid YAML: key 'args' is merged in with '<<' (from line 2) and set again here"),
    ("version: 1\nagents:\n  a:\n    tools:\n      t: !!python/object:os.system {}\n", "tags such as !!python"),
    ("version: 1\nagents:\n  a: *x\n", "an alias *name must refer to an anchor"),
    ("version: 1\nagents:\n  " + "a" * 1100 + ": {}\n", "a key longer than 1024 characters"),
    ("version: 1\nagents:\n  a:\n    tools:\n      t: {untrusted_args: warn}\n",
     "expected 'allow', 'review' or 'block' or a mapping (key: value), got 'warn'"),
]


@pytest.mark.parametrize(("text", "needle"), MISTAKES)
def test_mistakes_get_actionable_messages(text: str, needle: str) -> None:
    e = err(text)
    assert needle in str(e), str(e)
    assert "Input should be a valid dictionary or instance" not in str(e)  # no pydantic jargon


def test_yaml_1_1_number_forms_do_not_change_meaning() -> None:
    # YAML 1.1 (PyYAML's default) reads 010 as 8 and 1:30 as 90: a looser min than written
    m = load(_tool("{min: 010, max: 100}"))
    a = m.agent("a")
    assert a is not None
    rule = a.tools["t"].args["x"]  # type: ignore[index]
    assert rule.min == 10
    e = err("version: 1\nagents:\n  a:\n    tools:\n      t: {limit: {calls: 1:30}}\n")
    assert "agents.a.tools.t.limit.calls" in str(e)
    m = load("version: 1\nagents:\n  a:\n    tools:\n      t: {limit: {calls: 0x10}}\n")
    assert m.agents["a"].tools["t"].limit.calls == 16  # type: ignore[union-attr]


def test_peer_typo_suggests_the_agent() -> None:
    e = err("version: 1\nagents:\n  support:\n    peers: {send: [biling]}\n  billing: {}\n")
    assert "m.yaml:4: agents.support.peers.send[0]: peer 'biling' is not an agent in this manifest; " \
           "did you mean 'billing'?" in str(e), str(e)
