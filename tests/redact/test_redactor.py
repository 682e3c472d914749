from __future__ import annotations

import socket
import time

import pytest

from guardrails.errors import InputError
from guardrails.redact.operators import KeyedHash, Mask
from guardrails.redact.redactor import Redactor
from guardrails.redact.vault import MemoryVault


def test_replace_operator(redactor):
    r = redactor.redact("mail bob@example.com, card 4111 1111 1111 1111, ssn 536-90-4399", scope="t")
    assert r.text == "mail <EMAIL_ADDRESS>, card <CREDIT_CARD>, ssn <US_SSN>"
    assert {i.entity for i in r.items} == {"EMAIL_ADDRESS", "CREDIT_CARD", "US_SSN"}


def test_items_never_hold_the_value(redactor):
    text = "key AKIAIOSFODNN7EXAMPLE mail bob@example.com"
    r = redactor.redact(text)
    for item in r.items:
        assert "AKIA" not in repr(item) and "bob@" not in repr(item)


@pytest.mark.parametrize("text,subtype", [
    ("AKIAZ3MPLEKEYW2XQ7R4", "aws_access_key"),
    ("token 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", "github_token"),
    ("glpat-hellOworld380_testin", "gitlab_token"),
    ("xoxb-2938475-2938475-aBcDeFgHiJkL", "slack_token"),
    ("sk_live_ReTllpYQYfIZu2Jnf2lAPFjD", "stripe_key"),
    ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc", "jwt"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "private_key"),
    ("postgres://admin:s3cr3tPw@db.internal:5432/app", "url_credentials"),
    ('client_secret = "q8Zp3LkW9vTx2MnB7cRd4YsH"', "credential_assignment"),
])
def test_secret_subtypes(redactor, text, subtype):
    found = [d for d in redactor.analyze(text) if d.entity == "SECRET"]
    assert found and found[0].subtype == subtype


@pytest.mark.parametrize("text", [
    'password: "%s" % value', "api_key = ${API_KEY}", "token: <your-token-here>",
    "aws_secret = EXAMPLEEXAMPLEEXAMPLE", "the secret of a good meeting is preparation",
    "jwt eyJAAAA.eyJBBB", "https://url:8000 @something",
])
def test_secret_placeholders_are_not_flagged(redactor, text):
    assert not [d for d in redactor.analyze(text) if d.entity == "SECRET"]


def test_context_word_raises_phone_score(redactor):
    plain = [d for d in redactor.analyze("reference 6995 691") if d.entity == "PHONE_NUMBER"]
    ctx = [d for d in redactor.analyze("phone 6995 691") if d.entity == "PHONE_NUMBER"]
    assert not plain and ctx


def test_pseudonyms_are_stable_per_scope():
    r = Redactor(["EMAIL_ADDRESS"], operator="pseudonym")
    a = r.redact("bob@example.com and amy@example.com", scope="run:1").text
    b = r.redact("again amy@example.com", scope="run:1").text
    c = r.redact("amy@example.com", scope="run:2").text
    assert a == "<EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>"
    assert b == "again <EMAIL_ADDRESS_2>"
    assert c == "<EMAIL_ADDRESS_1>"
    assert r.restore("to <EMAIL_ADDRESS_2>", scope="run:1", allowed=["EMAIL_ADDRESS"])[0] == \
        "to amy@example.com"
    assert r.restore("to <EMAIL_ADDRESS_2>", scope="run:1", allowed=["PHONE_NUMBER"])[0] == \
        "to <EMAIL_ADDRESS_2>"
    assert r.restore("to <EMAIL_ADDRESS_2>", scope="run:2", allowed=["EMAIL_ADDRESS"])[0] == \
        "to <EMAIL_ADDRESS_2>"  # unknown in that scope


def test_vault_is_bounded_and_expires():
    now = [0.0]
    v = MemoryVault(max_scopes=2, max_entries=2, ttl=10, clock=lambda: now[0])
    t1 = v.token_for("s", "E", "a")
    v.token_for("s", "E", "b")
    v.token_for("s", "E", "c")  # evicts "a"
    assert v.lookup("s", t1) is None
    assert v.token_for("s", "E", "a") == "<E_4>"  # numbers are never reused
    v.token_for("s2", "E", "x")
    v.token_for("s3", "E", "x")
    assert len(v) == 2
    now[0] = 100
    assert v.lookup("s3", "<E_1>") is None


def test_mask_and_keyed_hash():
    assert Mask().apply("CREDIT_CARD", "4111 1111 1111 1234", "s") == "**** **** **** 1234"
    assert Mask().apply("SECRET", "abcd", "s") == "****"
    h1 = KeyedHash(b"k1").apply("EMAIL_ADDRESS", "bob@example.com", "s")
    h2 = KeyedHash(b"k2").apply("EMAIL_ADDRESS", "bob@example.com", "s")
    assert h1 != h2 and h1.startswith("<EMAIL_ADDRESS:") and "bob" not in h1


def test_email_validation_never_uses_the_network(monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    from guardrails.redact.presidio_bridge import offline_email_recognizer_class, offline_tldextract

    assert offline_tldextract()("bob@mail.example.co.uk").suffix == "co.uk"
    rec = offline_email_recognizer_class()()
    assert rec.validate_result("bob@example.com") is True
    assert rec.validate_result("bob@example.notatld") is False
    fresh = Redactor(["EMAIL_ADDRESS", "SECRET"])
    assert fresh.redact("write to bob@example.org").text == "write to <EMAIL_ADDRESS>"


def test_bad_input(redactor):
    with pytest.raises(InputError):
        redactor.redact(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        redactor.redact(None)  # type: ignore[arg-type]
    r = redactor.redact("\ud800 bob@example.com \udfff\x00\x01\xff")
    assert "bob@example.com" not in r.text and "<EMAIL_ADDRESS>" in r.text
    junk = bytes(range(256)).decode("latin-1") * 50
    assert isinstance(redactor.redact(junk).text, str)


def test_large_text_finishes(redactor):
    text = ("lorem ipsum dolor sit amet consectetur " * 260_000)[:10_000_000] + " bob@example.com"
    t0 = time.monotonic()
    r = redactor.redact(text)
    assert r.text.endswith("<EMAIL_ADDRESS>")
    dense = ("id 12345 call 212-555-0199 " * 40_000) + "card 4111 1111 1111 1111"
    r2 = redactor.redact(dense)
    assert "212-555-0199" not in r2.text and r2.text.endswith("<CREDIT_CARD>")
    assert time.monotonic() - t0 < 300  # a generous bound: the point is that it finishes


def test_unknown_entity_is_a_config_error():
    from guardrails.errors import ConfigError

    with pytest.raises(ConfigError):
        Redactor(["EMAIL_ADRESS"]).warm()


@pytest.mark.parametrize("text", [
    "Reset your password: https://www.example.com/reset-password",
    "PWD=/opt/landesk/broker/webroot/gsb",
])
def test_urls_and_paths_are_not_passwords(redactor, text):
    assert not [d for d in redactor.analyze(text) if d.entity == "SECRET"]
