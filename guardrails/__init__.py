"""Perimeter: guardrail middleware that treats every AI agent as an identity.

Public API (stable names; see README)::

    from guardrails import Guard, Manifest, Event, Verdict, Action, Blocked
    guard = Guard.from_yaml("perimeter.yaml")
    verdict = guard.check(Event.tool_call(agent="support", run_id="r1", tool="send_email",
                                          args={"to": "bob@example.com"}))

Importing this package loads no spaCy, Presidio, LangChain, boto3 or OpenTelemetry SDK.
"""

from __future__ import annotations

from .audit import AuditLog
from .errors import Blocked, ConfigError, GuardrailError, InputError, MissingDependency
from .events import Direction, Event, EventKind, Source, ToolCall
from .guard import Guard
from .manifest import AgentPolicy, Manifest
from .screens.base import CheckContext, Observer, Screen, register_screen
from .state import MemoryStore, RedisStore, StateStore
from .verdict import Action, Finding, Verdict

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
