"""PII and secret redaction: Presidio's recognizers behind a linear-time fast path.

Importing this package is cheap; Presidio is loaded when a :class:`Redactor` is first used.

    from guardrails.redact import Redactor
    r = Redactor(["EMAIL_ADDRESS", "CREDIT_CARD", "SECRET"], operator="pseudonym")
    r.redact("mail bob@example.com", scope="run-1").text   # 'mail <EMAIL_ADDRESS_1>'
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEFAULT_ENTITIES",
    "Detection",
    "FastAnalyzer",
    "MemoryVault",
    "Operator",
    "RedactedItem",
    "Redaction",
    "RedactionError",
    "Redactor",
    "StreamRedactor",
    "Vault",
    "category_of",
]

_LAZY = {
    "Redactor": ".redactor", "Redaction": ".redactor", "RedactedItem": ".redactor",
    "DEFAULT_ENTITIES": ".redactor", "category_of": ".redactor",
    "Detection": ".fastpath", "FastAnalyzer": ".fastpath", "RedactionError": ".fastpath",
    "StreamRedactor": ".stream", "MemoryVault": ".vault", "Vault": ".vault", "Operator": ".operators",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'guardrails.redact' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod, __name__), name)
