"""The perimeter CLI: exit codes, JSON output, clear one-line errors (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from guardrails.cli import main

from .conftest import EXAMPLE


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(EXAMPLE))
    assert code == 0 and "2 agent(s)" in out


def test_validate_bad(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("version: 1\nagents:\n  a:\n    tols: {}\n")
    code, _, err = run(capsys, "validate", str(EXAMPLE), str(p))
    assert code == 1 and f"{p}:4" in err and "did you mean 'tools'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("tool", "args", "code", "action"),
    [
        ("get_order", '{"order_id": "AB12345678"}', 0, "allow"),
        ("get_order", '{"order_id": "nope"}', 3, "block"),
        ("send_email", '{"to": "bob@example.com", "body": "hi"}', 2, "review"),
        ("drop_tables", "{}", 3, "block"),
    ],
)
def test_check_exit_codes(capsys: pytest.CaptureFixture[str], tool: str, args: str, code: int,
                          action: str) -> None:
    c, out, _ = run(capsys, "check", "--manifest", str(EXAMPLE), "--agent", "support", "--tool", tool,
                    "--args", args)
    assert c == code
    assert json.loads(out)["action"] == action


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--manifest", "/nonexistent.yaml", "--agent", "a", "--tool", "t"],
        ["check", "--manifest", str(EXAMPLE), "--agent", "support", "--tool", "t", "--args", "{bad"],
        ["check", "--manifest", str(EXAMPLE), "--agent", "support"],
        ["check", "--manifest", str(EXAMPLE), "--agent", "support", "--message", "hi"],
        ["nonsense-command"],
        ["check"],
    ],
)
def test_bad_input_is_one_clear_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) if argv[0] == "nonsense-command" or argv == ["check"] else _nullctx():
        code = main(argv)
        assert code == 1
    _, err = capsys.readouterr()
    assert "Traceback" not in err and err.strip()


class _nullctx:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> bool:
        return False


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0 and json.loads(out)["title"] == "Perimeter role manifest"


def test_console_script_entry_point() -> None:
    r = subprocess.run([sys.executable, "-m", "guardrails.cli", "check", "-m", str(EXAMPLE), "-a", "support",
                        "-t", "get_order", "--args", '{"order_id": "AB12345678"}'],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["action"] == "allow"


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out, _ = capsys.readouterr()
    assert "examples:" in out and "perimeter validate" in out


# ------------------------------------------------------------------ red team: odd inputs, clear errors
@pytest.mark.parametrize(("content", "needle"), [
    (b"version: 1\nagents: {a: {description: \"\xff\"}}\n", ":2: not UTF-8 text"),
    (b"\x7fELF\x02\x01\x01\x00", "NUL byte"),
    (b"version: 1\nagents:\n  a:\n    tools:\n      send_email: {}\n      Send_Email: {}\n", "can be confused"),
    (b"version: 1\nagents:\n\ta: {}\n", "indent with spaces"),
])
def test_validate_odd_files(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                            content: bytes, needle: str) -> None:
    p = tmp_path / "m.yaml"
    p.write_bytes(content)
    code, _, err = run(capsys, "validate", str(p))
    assert code == 1 and needle in err and "Traceback" not in err, err


def test_validate_directory_and_device(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path))
    assert code == 1 and "is a directory" in err
    code, _, err = run(capsys, "validate", "/dev/zero")
    assert code == 1 and "larger than a manifest may be" in err


def test_validate_bom_and_crlf(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_bytes(b"\xef\xbb\xbfversion: 1\r\nagents:\r\n  a: {tools: {t: {}}}\r\n")
    code, out, _ = run(capsys, "validate", str(p))
    assert code == 0 and "1 tool(s)" in out


@pytest.mark.parametrize("args", [
    '{"order_id": "AB12345678", "order_id": "ZZ00000000"}',
    '{"order_id": 1e400}',
    '{"order_id": "AB12345678", "extra": {"a": 1, "a": 2}}',
    '[{"order_id": "AB12345678"}]',
])
def test_check_args_tricks_block(capsys: pytest.CaptureFixture[str], args: str) -> None:
    code, out, err = run(capsys, "check", "--manifest", str(EXAMPLE), "--agent", "support",
                         "--tool", "get_order", "--args", args)
    assert code == 3 and json.loads(out)["action"] == "block", (out, err)
