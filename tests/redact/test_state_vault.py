"""StateVault: pseudonyms kept in the Guard's state store, shared by replicas."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from guardrails.redact.state_vault import StateVault, vault_key
from guardrails.redact.vault import Vault
from guardrails.state import MemoryStore, StateStore

KEY = b"k" * 32


def check_vault(store: StateStore) -> None:
    """The vault contract, for any store (also run against Redis in tests/test_state_redis.py)."""
    a, b = StateVault(store, key=KEY), StateVault(store, key=KEY)  # two replicas
    assert isinstance(a, Vault)
    t1 = a.token_for("run:1", "EMAIL_ADDRESS", "jane@x.example")
    assert t1 == "<EMAIL_ADDRESS_1>"
    assert b.token_for("run:1", "EMAIL_ADDRESS", "jane@x.example") == t1  # same value, same token
    assert b.token_for("run:1", "EMAIL_ADDRESS", "bob@x.example") == "<EMAIL_ADDRESS_2>"
    assert a.token_for("run:1", "PHONE_NUMBER", "+1 212 555 0134") == "<PHONE_NUMBER_1>"
    assert b.lookup("run:1", t1) == ("EMAIL_ADDRESS", "jane@x.example")  # restored elsewhere
    assert a.lookup("run:1", "<EMAIL_ADDRESS_2>") == ("EMAIL_ADDRESS", "bob@x.example")
    # scopes are separate: another run neither sees nor restores these tokens
    assert a.lookup("run:2", t1) is None
    assert a.token_for("run:2", "EMAIL_ADDRESS", "bob@x.example") == "<EMAIL_ADDRESS_1>"
    for junk in ("<EMAIL_ADDRESS_99>", "EMAIL_ADDRESS_1", "<email_address_1>", "", "<X_0>"):
        assert a.lookup("run:1", junk) is None


def test_contract_on_memory_store() -> None:
    check_vault(MemoryStore())


def test_replicas_with_different_keys_still_restore() -> None:
    store = MemoryStore()
    a, b = StateVault(store, key=b"a" * 32), StateVault(store, key=b"b" * 32)
    ta = a.token_for("s", "EMAIL_ADDRESS", "x@y.example")
    tb = b.token_for("s", "EMAIL_ADDRESS", "x@y.example")
    assert ta != tb  # without a shared key the tokens differ (hence PERIMETER_VAULT_KEY) ...
    for v in (a, b):  # ... but every token restores on every replica
        assert v.lookup("s", ta) == v.lookup("s", tb) == ("EMAIL_ADDRESS", "x@y.example")


def test_concurrent_replicas_agree_on_one_token_per_value() -> None:
    store = MemoryStore()
    vaults = [StateVault(store, key=KEY) for _ in range(4)]
    values = [f"user{i}@corp.example" for i in range(40)]
    jobs = [(vaults[i % 4], v) for i in range(8) for v in values]
    with ThreadPoolExecutor(8) as ex:
        toks = list(ex.map(lambda job: job[0].token_for("run", "EMAIL_ADDRESS", job[1]), jobs))
    by_value: dict[str, set[str]] = {}
    for (_, v), t in zip(jobs, toks, strict=True):
        by_value.setdefault(v, set()).add(t)
    assert all(len(ts) == 1 for ts in by_value.values())
    assert len({next(iter(ts)) for ts in by_value.values()}) == len(values)  # no token shared
    for v, ts in by_value.items():
        assert vaults[0].lookup("run", next(iter(ts))) == ("EMAIL_ADDRESS", v)


def test_entries_expire_and_numbers_are_never_reused() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    v = StateVault(store, key=KEY, ttl=10)
    t = v.token_for("s", "EMAIL_ADDRESS", "a@b.example")
    now[0] = 5.0
    assert v.lookup("s", t) is not None
    now[0] = 30.0
    assert v.lookup("s", t) is None  # expired after ttl without use


def test_store_holds_no_plaintext_keys_and_bad_input() -> None:
    store = MemoryStore()
    v = StateVault(store, key=KEY)
    v.token_for("run:secret-tenant", "EMAIL_ADDRESS", "alice@corp.example")
    keys = list(store._data)
    assert keys and not any("alice" in k or "secret-tenant" in k for k in keys)
    with pytest.raises(ValueError):
        v.token_for("s", "EMAIL_ADDRESS", "x" * 10_000)
    with pytest.raises(ValueError):
        StateVault(store, ttl=0)


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERIMETER_VAULT_KEY", raising=False)
    monkeypatch.delenv("PERIMETER_REDACT_KEY", raising=False)
    assert vault_key() is None and not StateVault(MemoryStore()).shared_key
    monkeypatch.setenv("PERIMETER_REDACT_KEY", "00ff")
    assert vault_key() == b"\x00\xff"
    monkeypatch.setenv("PERIMETER_VAULT_KEY", "not hex")
    assert vault_key() == b"not hex" and StateVault(MemoryStore()).shared_key
