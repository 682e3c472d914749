"""RedisStore against a real redis-server on loopback (started here; CI installs it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from guardrails import Event, Guard, Manifest
from guardrails.screens.policy import PolicyScreen
from guardrails.state import RedisStore, StateStore

redis = pytest.importorskip("redis")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (.ci/run installs it)")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    d = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(d)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def store(redis_url: str, request: pytest.FixtureRequest) -> RedisStore:
    return RedisStore(url=redis_url, prefix=f"t:{request.node.name}:")


def test_protocol(store: RedisStore) -> None:
    assert isinstance(store, StateStore)


def test_incr_get_delete_and_expiry(store: RedisStore) -> None:
    assert store.incr("k", ttl=0.2) == 1
    assert store.incr("k", 4, ttl=0.2) == 5
    assert store.get("k") == 5
    time.sleep(0.35)
    assert store.get("k") == 0
    store.incr("k", ttl=10)
    store.delete("k")
    assert store.get("k") == 0


def test_lists_bounded_and_json(store: RedisStore) -> None:
    for i in range(20):
        store.append("l", {"i": i, "v": [1, "x"]}, ttl=10, max_items=3)
    assert store.items("l") == [{"i": i, "v": [1, "x"]} for i in (17, 18, 19)]


def test_limits_hold_across_replicas(redis_url: str) -> None:
    m = Manifest.from_dict({"version": 1, "agents": {"a": {"tools": {"t": {"limit": {"calls": 25}}}}}})
    replicas = [Guard(m, screens=[PolicyScreen(m)], state=RedisStore(url=redis_url, prefix="rep:"))
                for _ in range(4)]

    def one(i: int) -> bool:
        return replicas[i % 4].check(Event.tool_call(agent="a", run_id="shared", tool="t")).allowed

    with ThreadPoolExecutor(8) as ex:
        allowed = sum(ex.map(one, range(200)))
    assert allowed == 25


def test_pseudonym_vault_is_shared_by_replicas(store: RedisStore, redis_url: str) -> None:
    from tests.redact.test_state_vault import check_vault

    check_vault(store)
    # a second client (another replica) sees the same pseudonyms
    from guardrails.redact.state_vault import StateVault

    a = StateVault(store, key=b"k" * 32)
    other = StateVault(RedisStore(url=redis_url, prefix=store._prefix), key=b"k" * 32)
    tok = a.token_for("run:9", "IBAN_CODE", "DE89370400440532013000")
    assert other.token_for("run:9", "IBAN_CODE", "DE89370400440532013000") == tok
    assert other.lookup("run:9", tok) == ("IBAN_CODE", "DE89370400440532013000")


def test_guards_on_redis_share_pseudonyms(store: RedisStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.redact.test_screen import check_replicas_share_pseudonyms

    monkeypatch.setenv("PERIMETER_VAULT_KEY", "22" * 32)
    check_replicas_share_pseudonyms(store)
