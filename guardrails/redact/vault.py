"""The pseudonym vault: value <-> token (``<EMAIL_ADDRESS_1>``) per scope (a run or a tenant).

Bounded twice: at most ``max_scopes`` scopes (least recently used evicted first) and at most
``max_entries`` values per scope (oldest evicted first; token numbers keep growing, so an
evicted token is never reused for another value). A scope expires ``ttl`` seconds after its
last use. Values are keyed by an HMAC of (entity, value), so the index holds no plaintext keys;
the plaintext is kept only to restore it where the manifest allows.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["TOKEN_RE", "MemoryVault", "Vault", "format_token"]

#: A pseudonym token as written into text: ``<ENTITY_N>``.
TOKEN_RE = re.compile(r"<([A-Z][A-Z0-9_]{0,40})_([1-9][0-9]{0,9})>")


def format_token(entity: str, n: int) -> str:
    return f"<{entity}_{n}>"


@runtime_checkable
class Vault(Protocol):
    def token_for(self, scope: str, entity: str, value: str) -> str:
        """The token of ``value`` in ``scope`` (created on first use)."""
        ...

    def lookup(self, scope: str, token: str) -> tuple[str, str] | None:
        """``(entity, value)`` of ``token`` in ``scope``, or None (unknown or expired)."""
        ...


@dataclass(slots=True)
class _Scope:
    by_key: OrderedDict[bytes, str] = field(default_factory=OrderedDict)
    by_token: dict[str, tuple[str, str]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    touched: float = 0.0


class MemoryVault:
    """Thread-safe in-process vault."""

    def __init__(self, *, max_scopes: int = 10_000, max_entries: int = 10_000, ttl: float = 86_400.0,
                 key: bytes | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if max_scopes < 1 or max_entries < 1 or ttl <= 0:
            raise ValueError("max_scopes, max_entries and ttl must be positive")
        self.max_scopes = max_scopes
        self.max_entries = max_entries
        self.ttl = ttl
        self._key = key or os.urandom(32)
        self._clock = clock
        self._scopes: OrderedDict[str, _Scope] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._scopes)

    def _scope(self, name: str, now: float, create: bool) -> _Scope | None:
        sc = self._scopes.get(name)
        if sc is not None and now - sc.touched > self.ttl:
            del self._scopes[name]
            sc = None
        if sc is None:
            if not create:
                return None
            sc = _Scope()
            self._scopes[name] = sc
            while len(self._scopes) > self.max_scopes:
                self._scopes.popitem(last=False)
        else:
            self._scopes.move_to_end(name)
        sc.touched = now
        return sc

    def token_for(self, scope: str, entity: str, value: str) -> str:
        k = hmac.new(self._key, f"{entity}\x00{value}".encode("utf-8", "surrogatepass"),
                     hashlib.sha256).digest()
        with self._lock:
            sc = self._scope(scope, self._clock(), True)
            assert sc is not None
            tok = sc.by_key.get(k)
            if tok is not None:
                sc.by_key.move_to_end(k)
                return tok
            n = sc.counters.get(entity, 0) + 1
            sc.counters[entity] = n
            tok = format_token(entity, n)
            sc.by_key[k] = tok
            sc.by_token[tok] = (entity, value)
            while len(sc.by_key) > self.max_entries:
                _, old = sc.by_key.popitem(last=False)
                sc.by_token.pop(old, None)
            return tok

    def lookup(self, scope: str, token: str) -> tuple[str, str] | None:
        with self._lock:
            sc = self._scope(scope, self._clock(), False)
            return None if sc is None else sc.by_token.get(token)

    def clear(self, scope: str | None = None) -> None:
        with self._lock:
            if scope is None:
                self._scopes.clear()
            else:
                self._scopes.pop(scope, None)
