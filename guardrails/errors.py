"""Exceptions raised by Perimeter.

The tree::

    GuardrailError                 base of everything Perimeter raises on purpose
    ├── ConfigError                a manifest or setting is invalid (file, line and key in the message)
    ├── MissingDependency          an optional extra is needed (the message names the extra)
    ├── InputError                 an event or argument cannot be understood (malformed tool call, ...)
    └── Blocked                    a step was denied; carries the Verdict

Library code never lets an unexpected exception escape from ``Guard.check``: a screen that raises
becomes a ``screen.error`` finding and the failure policy decides (block unless opted out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .verdict import Verdict

__all__ = ["Blocked", "ConfigError", "GuardrailError", "InputError", "MissingDependency"]


class GuardrailError(Exception):
    """Base class of every error Perimeter raises on purpose."""


class ConfigError(GuardrailError, ValueError):
    """A manifest or configuration value is invalid.

    ``source`` is the file (or ``<dict>``), ``line`` the 1-based line when known, ``key`` the dotted
    path of the offending key. ``errors`` holds every problem found, not only the first.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        key: str | None = None,
        errors: tuple[str, ...] = (),
    ) -> None:
        self.source = source
        self.line = line
        self.key = key
        self.errors = errors or (message,)
        super().__init__(message)


class MissingDependency(GuardrailError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, hint: str | None = None) -> None:
        self.package = package
        self.extra = extra
        msg = f"{package} is not installed; install it with: pip install 'agent-perimeter[{extra}]'"
        super().__init__(msg + (f" ({hint})" if hint else ""))


class InputError(GuardrailError, ValueError):
    """An event, tool call or text could not be understood."""


class Blocked(GuardrailError):
    """A guarded step was denied. ``verdict`` says why (its findings name the rules)."""

    def __init__(self, verdict: Verdict, message: str | None = None) -> None:
        self.verdict = verdict
        super().__init__(message or verdict.explain())
