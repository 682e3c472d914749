"""`perimeter demo`: the scripted scenario runs offline and behaves as the story says."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from guardrails import Guard
from guardrails.cli import main
from guardrails.demo.scenario import CUSTOMER_EMAIL, OUTSIDE_ADDRESS, SCENES, manifest_path, run_demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result_and_text() -> tuple[object, str]:
    buf = io.StringIO()
    result = run_demo(out=buf)
    return result, buf.getvalue()


def test_demo_behaves_as_expected(result_and_text: tuple[object, str]) -> None:
    result, text = result_and_text
    assert result.ok, text  # type: ignore[attr-defined]
    assert "behaved as expected" in text


def test_disallowed_side_effects_never_happen(result_and_text: tuple[object, str]) -> None:
    result, _ = result_and_text
    executed = result.executed  # type: ignore[attr-defined]
    names = [n for n, _ in executed]
    assert "delete_account" not in names and "transfer_to_admin" not in names
    assert not [a for n, a in executed if n == "send_email" and a["to"] == OUTSIDE_ADDRESS]
    assert "refund" in names and "transfer_to_billing" in names and "get_order" in names


def test_story_and_span_tree_are_printed(result_and_text: tuple[object, str]) -> None:
    _, text = result_and_text
    for i, scene in enumerate(SCENES, 1):
        assert f"{i}. {scene.title}" in text
    assert "Span tree" in text
    assert "guardrails.check tool_call" in text and "policy.peer_not_allowed" in text
    assert "✗ support plans send_email" in text


def test_redaction_when_the_screen_exists(result_and_text: tuple[object, str]) -> None:
    result, _ = result_and_text
    guard = Guard.from_yaml(manifest_path())
    if not any(s.name.startswith("redact") for s in guard.screens):
        pytest.skip("no redaction screen in this build")
    first = result.scenes[0]  # type: ignore[attr-defined]
    assert CUSTOMER_EMAIL not in first.answer


def test_spans_are_children_of_scene_spans(result_and_text: tuple[object, str]) -> None:
    result, _ = result_and_text
    spans = result.spans  # type: ignore[attr-defined]
    scenes = {s.context.span_id for s in spans if s.name.startswith("perimeter.demo.scene")}
    checks = [s for s in spans if s.name.startswith("guardrails.check ")]
    assert len(scenes) == 4 and checks
    assert all(s.parent is not None and s.parent.span_id in scenes for s in checks)


def test_packaged_manifest_is_the_example() -> None:
    assert manifest_path().read_text() == (ROOT / "examples" / "demo" / "perimeter.yaml").read_text()


def test_cli_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-tree"]) == 0
    out = capsys.readouterr().out
    assert "Span tree" not in out and "behaved as expected" in out


def test_cli_bad_model_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--model", "no-such-provider:nothing"]) == 1
    err = capsys.readouterr().err
    assert "cannot load model" in err and "Traceback" not in err


def test_manifest_that_breaks_the_story_fails_the_exit_code(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    lax = manifest_path().read_text().replace("send: [billing]", "send: [billing, admin]").replace(
        "peers: {send: [support], receive: [support]}\n  admin:",
        "peers: {send: [support], receive: [support]}\n  admin:\n    peers: {receive: [support]}")
    p = tmp_path / "lax.yaml"
    p.write_text(lax)
    assert main(["demo", "--no-tree", "--manifest", str(p)]) == 1
    assert "FAIL" in capsys.readouterr().out


FAKE_REDACT = r'''
import io, re
from guardrails import Action, Finding, EventKind, register_screen
from guardrails.demo.scenario import run_demo, CUSTOMER_EMAIL

class R:
    name = "redact"
    kinds = frozenset(EventKind)
    def __init__(self, on): self.on = on
    def __call__(self, event, ctx):
        pol = ctx.policy
        if pol is None or str(event.kind) not in pol.redact.on:
            return ()
        new, n = re.subn(r"[\w.+-]+@[\w-]+\.[\w.]+", "<EMAIL_ADDRESS>", event.content)
        if not n:
            return ()
        ctx.content = new
        return [Finding(screen="redact", category="pii.EMAIL_ADDRESS", action=Action.REDACT,
                        rule="fake.email", reason="e-mail address")]

register_screen("redact", order=40)(lambda m: R(None))
buf = io.StringIO()
res = run_demo(out=buf, show_tree=False)
print("OK" if res.ok else "NOT OK")
print("LEAK" if CUSTOMER_EMAIL in res.scenes[0].answer else "REDACTED")
print(buf.getvalue())
'''


def test_demo_shows_redaction_with_a_redaction_screen() -> None:
    """With a (stand-in) redaction screen registered, scene 1's answer is redacted and checked."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", FAKE_REDACT], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0] == "OK" and lines[1] == "REDACTED", out.stdout[-3000:]
    assert "[ok  ] personal data in the answer redacted" in out.stdout
    assert "✎ support answers" in out.stdout
