from __future__ import annotations

import json

from guardrails.cli import main


def test_redact_text(capsys):
    assert main(["redact", "mail bob@example.com"]) == 0
    assert capsys.readouterr().out.strip() == "mail <EMAIL_ADDRESS>"


def test_redact_binary_file(tmp_path, capsys):
    f = tmp_path / "x.bin"
    f.write_bytes(b"\xff\xfe\x00 bob@example.com \x80")
    assert main(["redact", "-f", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "bob@example.com" not in out["text"] and out["findings"][0]["category"] == "pii.EMAIL_ADDRESS"


def test_eval_pii_and_secrets(tmp_path, capsys):
    pii = tmp_path / "p.jsonl"
    pii.write_text(json.dumps({"id": "1", "text": "mail bob@example.com", "spans": [
        {"start": 5, "end": 20, "entity_type": "EMAIL_ADDRESS"}]}) + "\n")
    out = tmp_path / "o.json"
    assert main(["eval", "pii", str(pii), "--json", str(out), "--no-progress"]) == 0
    data = json.loads(out.read_text())
    assert data["by_entity"]["EMAIL_ADDRESS"]["recall"] == 1.0 and "overall" in data
    sec = tmp_path / "s.jsonl"
    sec.write_text("\n".join(json.dumps(r) for r in [
        {"text": "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", "label": "secret"},
        {"text": "hello", "label": "no_secret"}]) + "\n")
    assert main(["eval", "secrets", str(sec), "--json", str(out), "--no-progress"]) == 0
    data = json.loads(out.read_text())
    assert data["overall"]["recall"] == 1.0 and data["overall"]["fpr"] == 0.0


def test_eval_bad_file(tmp_path):
    bad = tmp_path / "b.jsonl"
    bad.write_text("{not json\n")
    assert main(["eval", "pii", str(bad), "--no-progress"]) == 1
