from __future__ import annotations

import threading

from guardrails.state import MemoryStore, StateStore


def test_protocol() -> None:
    assert isinstance(MemoryStore(), StateStore)


def test_incr_and_expiry() -> None:
    now = [0.0]
    s = MemoryStore(clock=lambda: now[0])
    assert s.incr("k", ttl=10) == 1
    assert s.incr("k", 2, ttl=10) == 3
    assert s.get("k") == 3
    now[0] = 11
    assert s.get("k") == 0
    assert s.incr("k", ttl=10) == 1


def test_lists_are_bounded() -> None:
    s = MemoryStore()
    for i in range(100):
        s.append("l", i, ttl=10, max_items=5)
    assert s.items("l") == [95, 96, 97, 98, 99]
    s.delete("l")
    assert s.items("l") == []


def test_key_count_is_bounded() -> None:
    s = MemoryStore(max_keys=1000)
    for i in range(10_000):
        s.incr(f"run:{i}", ttl=3600)
    assert len(s) <= 1000
    assert s.get("run:9999") == 1 and s.get("run:0") == 0  # least recently used went first


def test_expired_keys_are_swept_without_reads() -> None:
    now = [0.0]
    s = MemoryStore(clock=lambda: now[0])
    for i in range(5000):
        s.incr(f"old:{i}", ttl=1)
    now[0] = 100
    for i in range(20_000):
        s.incr(f"new:{i % 10}", ttl=1000)
    assert len(s) < 5000


def test_thread_safety() -> None:
    s = MemoryStore()

    def work() -> None:
        for _ in range(2000):
            s.incr("c", ttl=100)

    ts = [threading.Thread(target=work) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert s.get("c") == 16000
