"""Operators: what a detected value is replaced with.

``replace`` -> ``<EMAIL_ADDRESS>``; ``mask`` -> ``************1111`` (the last four characters
stay for cards/phones/IBANs, secrets are masked fully); ``hash`` -> ``<EMAIL_ADDRESS:1f3a...>``,
an HMAC-SHA256 with a key (``PERIMETER_REDACT_KEY`` or a random per-process key), so a hash
cannot be reversed with a dictionary of likely values; ``pseudonym`` -> ``<EMAIL_ADDRESS_1>``,
stable within a scope and restorable through the vault.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Literal, Protocol, runtime_checkable

from ..registry import Registry
from .vault import Vault

__all__ = [
    "OPERATORS",
    "KeyedHash",
    "Mask",
    "Operator",
    "OperatorName",
    "Pseudonym",
    "Replace",
    "default_hash_key",
    "make_operator",
]

OperatorName = Literal["replace", "mask", "hash", "pseudonym"]


@runtime_checkable
class Operator(Protocol):
    name: str

    def apply(self, entity: str, value: str, scope: str) -> str: ...


class Replace:
    name = "replace"

    def apply(self, entity: str, value: str, scope: str) -> str:
        return f"<{entity}>"


class Mask:
    name = "mask"

    def __init__(self, char: str = "*", keep_last: int = 4) -> None:
        self.char = char
        self.keep_last = keep_last

    def apply(self, entity: str, value: str, scope: str) -> str:
        keep = self.keep_last if entity in ("CREDIT_CARD", "PHONE_NUMBER", "IBAN_CODE",
                                            "US_BANK_NUMBER") else 0
        alnum = [i for i, c in enumerate(value) if c.isalnum()]
        if len(alnum) < 10:
            keep = 0
        kept = set(alnum[len(alnum) - keep:]) if keep else set()
        return "".join(c if (i in kept or (keep and not c.isalnum())) else self.char
                       for i, c in enumerate(value))


def default_hash_key() -> bytes:
    env = os.environ.get("PERIMETER_REDACT_KEY")
    return env.encode("utf-8") if env else _PROCESS_KEY


_PROCESS_KEY = os.urandom(32)


class KeyedHash:
    name = "hash"

    def __init__(self, key: bytes | None = None, length: int = 16) -> None:
        self._key = key or default_hash_key()
        self.length = length

    def apply(self, entity: str, value: str, scope: str) -> str:
        digest = hmac.new(self._key, f"{entity}\x00{value}".encode("utf-8", "surrogatepass"),
                          hashlib.sha256).hexdigest()
        return f"<{entity}:{digest[:self.length]}>"


class Pseudonym:
    name = "pseudonym"

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def apply(self, entity: str, value: str, scope: str) -> str:
        return self.vault.token_for(scope, entity, value)


OPERATORS: Registry[type] = Registry("operator")
for _cls in (Replace, Mask, KeyedHash, Pseudonym):
    OPERATORS.register(_cls.name, _cls)


def make_operator(name: str, *, vault: Vault | None = None, hash_key: bytes | None = None) -> Operator:
    if name == "replace":
        return Replace()
    if name == "mask":
        return Mask()
    if name == "hash":
        return KeyedHash(hash_key)
    if name == "pseudonym":
        if vault is None:
            raise ValueError("the pseudonym operator needs a vault")
        return Pseudonym(vault)
    raise ValueError(f"unknown operator {name!r}; expected replace, mask, hash or pseudonym")
