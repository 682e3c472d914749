"""Perimeter: guardrail middleware that treats every AI agent as an identity.

Public API (stable names; see README)::

    from guardrails import Guard, Manifest, Event, Verdict, Action, Blocked
    guard = Guard.from_yaml("perimeter.yaml")
    verdict = guard.check(Event.tool_call(agent="support", run_id="r1", tool="send_email",
                                          args={"to": "bob@example.com"}))

Importing this package loads no spaCy, Presidio, LangChain, boto3 or OpenTelemetry SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import Blocked, ConfigError, GuardrailError, InputError, MissingDependency
from .events import Direction, Event, EventKind, Source, ToolCall
from .verdict import Action, Finding, Verdict

if TYPE_CHECKING:
    from .audit import AuditLog
    from .guard import Guard
    from .manifest import AgentPolicy, Manifest
    from .screens.base import CheckContext, Observer, Screen, register_screen
    from .state import MemoryStore, RedisStore, StateStore

# The names below load their module on first use (PEP 562): the manifest models pull in pydantic,
# which is most of the import cost, and a program that only builds events or reads verdicts (an
# adapter, a test, `perimeter --help`) should not pay for it. `from guardrails import Guard` works
# as before.
_LAZY = {
    "AuditLog": "audit",
    "Guard": "guard",
    "AgentPolicy": "manifest",
    "Manifest": "manifest",
    "CheckContext": "screens.base",
    "Observer": "screens.base",
    "Screen": "screens.base",
    "register_screen": "screens.base",
    "MemoryStore": "state",
    "RedisStore": "state",
    "StateStore": "state",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'guardrails' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(n for n in globals() if n.startswith("__"))})


__version__ = "0.1.0"

__all__ = [
    "Action",
    "AgentPolicy",
    "AuditLog",
    "Blocked",
    "CheckContext",
    "ConfigError",
    "Direction",
    "Event",
    "EventKind",
    "Finding",
    "Guard",
    "GuardrailError",
    "InputError",
    "Manifest",
    "MemoryStore",
    "MissingDependency",
    "Observer",
    "RedisStore",
    "Screen",
    "Source",
    "StateStore",
    "ToolCall",
    "Verdict",
    "__version__",
    "register_screen",
]
