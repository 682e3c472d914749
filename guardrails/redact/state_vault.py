"""A pseudonym vault kept in the Guard's state store, so that replicas share pseudonyms.

With several replicas behind a load balancer, ``<EMAIL_ADDRESS_1>`` written by one replica must
be restorable by another, and the same address must get the same token everywhere. The
:class:`StateVault` keeps the vault in any :class:`~guardrails.state.StateStore` (a
:class:`~guardrails.state.RedisStore` for replicas) using only its atomic ``incr`` and bounded
``append``:

* ``pv:<scope>:n:<ENTITY>``: the last token number handed out (``incr``: numbers are unique);
* ``pv:<scope>:k:<hmac>``: the token number of a value. The key is an HMAC of (entity, value)
  under the vault key, so the store's key space holds no plaintext. A new value is claimed
  with ``incr(key, n)``: the replica that reads back exactly ``n`` won; a loser undoes its
  increment and uses the winner's number (its own number is skipped, never reused);
* ``pv:<scope>:t:<ENTITY>:<n>``: the original value (a one-item list), read only to restore it
  where the manifest allows.

Every key expires ``ttl`` seconds after its last write. **All replicas need the same key**
(``PERIMETER_VAULT_KEY``, else ``PERIMETER_REDACT_KEY``, hex or text): with a per-process key the
same value would get different tokens on different replicas (each still restores anywhere). In a
rare interleaving (two replicas claim the same new value while a third reads it) the reader can
get a number that no value is stored under; that token then simply cannot be restored. The store
holds the original values, like the in-process vault holds them in memory: protect it (Redis
ACLs, TLS, no persistence if you do not need it).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import TYPE_CHECKING

from .vault import TOKEN_RE, format_token

if TYPE_CHECKING:
    from ..state import StateStore

__all__ = ["StateVault", "vault_key"]

_MAX_VALUE = 4096  # characters of one original value kept (longer values are not pseudonymized)


def vault_key() -> bytes | None:
    """The shared vault key from the environment (``PERIMETER_VAULT_KEY`` or ``PERIMETER_REDACT_KEY``)."""
    for name in ("PERIMETER_VAULT_KEY", "PERIMETER_REDACT_KEY"):
        raw = os.environ.get(name)
        if raw:
            try:
                return bytes.fromhex(raw)
            except ValueError:
                return raw.encode("utf-8")
    return None


class StateVault:
    """Pseudonym vault over a :class:`~guardrails.state.StateStore` (see the module docs)."""

    def __init__(self, store: StateStore, *, ttl: float = 86_400.0, key: bytes | None = None,
                 prefix: str = "pv") -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.store = store
        self.ttl = float(ttl)
        self.shared_key = key is not None or vault_key() is not None
        self._key = key or vault_key() or os.urandom(32)
        self._prefix = prefix

    def _k(self, scope: str, entity: str, value: str) -> str:
        mac = hmac.new(self._key, f"{scope}\x00{entity}\x00{value}".encode("utf-8", "surrogatepass"),
                       hashlib.sha256).hexdigest()[:40]
        return f"{self._prefix}:{_safe(scope)}:k:{mac}"

    def token_for(self, scope: str, entity: str, value: str) -> str:
        if len(value) > _MAX_VALUE:
            raise ValueError(f"value of {len(value)} characters is too long to pseudonymize")
        key = self._k(scope, entity, value)
        n = self.store.get(key)
        if n > 0:
            self.store.incr(key, 0, ttl=self.ttl)  # touch: keep a value in use alive
            self._touch_value(scope, entity, n, value)
            return format_token(entity, n)
        mine = self.store.incr(f"{self._prefix}:{_safe(scope)}:n:{entity}", 1, ttl=self.ttl)
        got = self.store.incr(key, mine, ttl=self.ttl)
        if got != mine:
            # another replica claimed this value meanwhile: undo our increment, use its number
            got = self.store.incr(key, -mine, ttl=self.ttl)
        self._touch_value(scope, entity, got, value)
        return format_token(entity, got)

    def _touch_value(self, scope: str, entity: str, n: int, value: str) -> None:
        self.store.append(self._tkey(scope, entity, n), value, ttl=self.ttl, max_items=1)

    def _tkey(self, scope: str, entity: str, n: int) -> str:
        return f"{self._prefix}:{_safe(scope)}:t:{entity}:{n}"

    def lookup(self, scope: str, token: str) -> tuple[str, str] | None:
        m = TOKEN_RE.fullmatch(token)
        if m is None:
            return None
        entity, n = m.group(1), int(m.group(2))
        items = self.store.items(self._tkey(scope, entity, n))
        if not items or not isinstance(items[-1], str):
            return None
        return entity, items[-1]

    def clear(self, scope: str | None = None) -> None:
        """Not supported: entries expire after ``ttl`` (a store has no key listing)."""
        raise NotImplementedError("StateVault entries expire after their ttl; clear the store instead")


def _safe(scope: str) -> str:
    # scopes come from run ids and tenant names: keep the key readable but bounded and unambiguous
    return hashlib.sha256(scope.encode("utf-8", "surrogatepass")).hexdigest()[:24]
