"""The Screen extension point and the context a screen sees.

A screen is any object with ``name``, ``kinds`` and ``__call__(event, ctx) -> Sequence[Finding]``.
It may also define ``observe(event, verdict, ctx)``, called after the verdict is final (to update
run state: counters, provenance, baselines), and ``acall`` for a native async version.
Screens are built once per Guard by a factory registered in ``SCREENS``:
``factory(manifest) -> Screen | None`` (None: not configured, skip).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..events import Event, EventKind
from ..registry import Registry
from ..verdict import Finding, Verdict

if TYPE_CHECKING:
    from ..manifest import AgentPolicy, Manifest
    from ..state import StateStore

__all__ = ["SCREENS", "CheckContext", "Observer", "Screen", "ScreenFactory", "register_screen"]


@dataclass(slots=True)
class CheckContext:
    """Per-check context. ``policy`` is the acting agent's resolved policy (None when the agent
    is unknown: the policy screen blocks then). ``findings`` are those of the screens that ran
    before this one. A rewriting screen (redaction) sets ``content`` / ``args``; later screens
    and the verdict see the rewritten values."""

    manifest: Manifest
    policy: AgentPolicy | None
    state: StateStore
    now: float
    findings: list[Finding] = field(default_factory=list)
    content: str | None = None
    args: Mapping[str, Any] | None = None
    scratch: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Screen(Protocol):
    name: str
    kinds: frozenset[EventKind]

    def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]: ...


@runtime_checkable
class Observer(Protocol):
    def observe(self, event: Event, verdict: Verdict, ctx: CheckContext) -> None: ...


ScreenFactory = Callable[["Manifest"], "Screen | None"]

SCREENS: Registry[ScreenFactory] = Registry("screen")


def register_screen(name: str, *, order: int) -> Callable[[ScreenFactory], ScreenFactory]:
    """Decorator: register a screen factory. Built-in orders: policy 10, taint 20,
    injection 30, redact 40, anomaly 50 (cheapest and most decisive first)."""

    def deco(factory: ScreenFactory) -> ScreenFactory:
        SCREENS.register(name, factory, order=order, replace=True)
        return factory

    return deco
