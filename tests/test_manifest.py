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
