"""Screens: one module per check. Importing a module registers its factory in ``SCREENS``."""

from __future__ import annotations

import importlib

from .base import SCREENS, CheckContext, Observer, Screen, ScreenFactory, register_screen

__all__ = [
    "SCREENS",
    "CheckContext",
    "Observer",
    "Screen",
    "ScreenFactory",
    "load_builtin",
    "register_screen",
]

# Built-in screens, cheapest first. A module that is not part of this build is skipped.
BUILTIN = (
    "guardrails.screens.policy",
    "guardrails.screens.taint",
    "guardrails.screens.injection",
    "guardrails.redact.screen",
    "guardrails.screens.anomaly",
)

_loaded = False


def load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    for mod in BUILTIN:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
    _loaded = True
