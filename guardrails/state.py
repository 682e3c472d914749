"""Run state: atomic counters and bounded lists, each key with an expiry.

The interface is deliberately tiny (``incr``, ``get``, ``append``, ``items``, ``delete``) so that
a Redis implementation (INCRBY + EXPIRE, RPUSH + LTRIM + EXPIRE) can serve many replicas. The
in-memory store is thread-safe and bounded twice: keys expire after their TTL, and when more than
``max_keys`` keys are live the least recently used are evicted, so memory never grows with the
number of runs ever seen.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .registry import Registry

__all__ = ["STATE_BACKENDS", "MemoryStore", "StateStore"]


@runtime_checkable
class StateStore(Protocol):
    def incr(self, key: str, amount: int = 1, *, ttl: float) -> int:
        """Atomically add ``amount`` and return the new value; the key expires ``ttl`` seconds
        after its last write (inactivity)."""
        ...

    def get(self, key: str) -> int: ...

    def append(self, key: str, item: Any, *, ttl: float, max_items: int) -> None:
        """Append to a list, keeping only the newest ``max_items``."""
        ...

    def items(self, key: str) -> list[Any]: ...

    def delete(self, key: str) -> None: ...


class MemoryStore:
    """In-process store. ``clock`` is injectable for tests."""

    def __init__(self, *, max_keys: int = 1_000_000, clock: Callable[[], float] = time.monotonic) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be positive")
        self.max_keys = max_keys
        self._clock = clock
        # key -> [expires_at, value]; a list so updates do not allocate a new tuple
        self._data: OrderedDict[str, list[Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def _live(self, key: str, now: float) -> list[Any] | None:
        slot = self._data.get(key)
        if slot is None:
            return None
        if slot[0] <= now:
            del self._data[key]
            return None
        return slot

    def _insert(self, key: str, slot: list[Any], now: float) -> None:
        self._data[key] = slot
        if len(self._data) > self.max_keys:
            self._sweep(now)
            while len(self._data) > self.max_keys:
                self._data.popitem(last=False)

    def _sweep(self, now: float) -> None:
        dead = [k for k, s in self._data.items() if s[0] <= now]
        for k in dead:
            del self._data[k]

    def _tick(self, now: float) -> None:
        # amortised expiry: keys are kept in order of last use, and a use re-arms the expiry, so
        # expired keys gather at the old end; each write drops up to 4 of them (O(1) per write)
        data = self._data
        for _ in range(4):
            if not data:
                return
            k, s = next(iter(data.items()))
            if s[0] > now:
                return
            del data[k]

    def incr(self, key: str, amount: int = 1, *, ttl: float) -> int:
        now = self._clock()
        with self._lock:
            self._tick(now)
            slot = self._live(key, now)
            if slot is None:
                slot = [now + ttl, amount]
                self._insert(key, slot, now)
                return amount
            slot[1] += amount
            slot[0] = now + ttl
            self._data.move_to_end(key)
            return int(slot[1])

    def get(self, key: str) -> int:
        now = self._clock()
        with self._lock:
            slot = self._live(key, now)
            return 0 if slot is None or not isinstance(slot[1], int) else int(slot[1])

    def append(self, key: str, item: Any, *, ttl: float, max_items: int) -> None:
        now = self._clock()
        with self._lock:
            self._tick(now)
            slot = self._live(key, now)
            if slot is None:
                self._insert(key, [now + ttl, [item]], now)
                return
            slot[0] = now + ttl
            lst = slot[1]
            lst.append(item)
            if len(lst) > max_items:
                del lst[: len(lst) - max_items]
            self._data.move_to_end(key)

    def items(self, key: str) -> list[Any]:
        now = self._clock()
        with self._lock:
            slot = self._live(key, now)
            return [] if slot is None or not isinstance(slot[1], list) else list(slot[1])

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class RedisStore:
    """Run state in Redis, shared by every replica of an agent service.

    ``incr`` is one atomic Lua call (INCRBY + PEXPIRE), so limits and budgets hold across
    replicas; ``append`` is RPUSH + LTRIM + PEXPIRE in one MULTI. Items are stored as JSON, so
    they must be JSON values (the built-in screens store only those). Keys are prefixed with
    ``prefix`` so several deployments can share a server. Needs the ``redis`` extra.
    """

    _INCR = (
        "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
        "redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
        "return v"
    )

    def __init__(self, client: Any = None, *, url: str | None = None, prefix: str = "perimeter:") -> None:
        if client is None:
            try:
                import redis
            except ImportError:
                from .errors import MissingDependency

                raise MissingDependency("redis", "redis") from None
            client = redis.Redis.from_url(url or "redis://127.0.0.1:6379/0")
        self._r = client
        self._prefix = prefix
        self._incr = client.register_script(self._INCR)

    @staticmethod
    def _ms(ttl: float) -> int:
        return max(1, int(ttl * 1000))

    def incr(self, key: str, amount: int = 1, *, ttl: float) -> int:
        return int(self._incr(keys=[self._prefix + key], args=[int(amount), self._ms(ttl)]))

    def get(self, key: str) -> int:
        v = self._r.get(self._prefix + key)
        try:
            return int(v) if v is not None else 0
        except ValueError:
            return 0

    def append(self, key: str, item: Any, *, ttl: float, max_items: int) -> None:
        import json

        k = self._prefix + key
        pipe = self._r.pipeline(transaction=True)
        pipe.rpush(k, json.dumps(item, separators=(",", ":")))
        pipe.ltrim(k, -max_items, -1)
        pipe.pexpire(k, self._ms(ttl))
        pipe.execute()

    def items(self, key: str) -> list[Any]:
        import json

        out = []
        for raw in self._r.lrange(self._prefix + key, 0, -1):
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
        return out

    def delete(self, key: str) -> None:
        self._r.delete(self._prefix + key)


STATE_BACKENDS: Registry[Callable[..., StateStore]] = Registry("state backend")
STATE_BACKENDS.register("memory", MemoryStore, order=0)
STATE_BACKENDS.register("redis", RedisStore, order=1)
