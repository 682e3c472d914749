"""Actions, findings and verdicts: what the guard answers."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["Action", "Finding", "Mode", "Verdict"]

Mode = Literal["enforce", "shadow"]

_EMPTY: Mapping[str, str] = MappingProxyType({})


class Action(enum.IntEnum):
    """What happens to a step, ordered by severity: ALLOW < REDACT < REVIEW < BLOCK."""

    ALLOW = 0
    REDACT = 1
    REVIEW = 2
    BLOCK = 3

    def __str__(self) -> str:
        return self.name.lower()

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | Action) -> Action:
        if isinstance(value, Action):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown action {value!r}; expected one of allow, redact, review, block"
            ) from None


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a screen noticed.

    ``category`` is data such as ``injection.override`` or ``policy.tool_not_allowed``; ``action``
    is what the screen (configured by the manifest) wants done about it. ``reason`` is a sentence
    for humans and never contains raw secrets or PII. ``details`` holds small extra facts
    (argument name, entity sub-type, provenance); they may be exported to telemetry only when
    content capture is on, unless the key starts with ``safe.``.
    """

    screen: str
    category: str
    action: Action = Action.BLOCK
    score: float = 1.0
    span: tuple[int, int] | None = None
    rule: str = ""
    reason: str = ""
    details: Mapping[str, str] = field(default_factory=lambda: _EMPTY, hash=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "screen": self.screen,
            "category": self.category,
            "action": self.action.label,
            "score": round(self.score, 4),
            "rule": self.rule,
            "reason": self.reason,
        }
        if self.span is not None:
            out["span"] = list(self.span)
        if self.details:
            out["details"] = dict(self.details)
        return out


def _finding_key(f: Finding) -> tuple[Any, ...]:
    return (-int(f.action), f.screen, f.category, f.rule, f.span or (-1, -1), -f.score, f.reason)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The guard's answer for one event.

    ``action`` is what the adapter must enforce. In ``shadow`` mode it is ALLOW (the step passes)
    and ``intended`` keeps what enforce mode would have done. ``content`` is the rewritten text
    when the action is REDACT; ``args`` the rewritten tool arguments (pseudonyms restored for a
    tool allowed to see them). ``degraded`` is true when a failing check was let through because
    the manifest opted into ``on_error: allow``.
    """

    action: Action = Action.ALLOW
    findings: tuple[Finding, ...] = ()
    content: str | None = None
    args: Mapping[str, Any] | None = field(default=None, hash=False)
    degraded: bool = False
    mode: Mode = "enforce"
    intended: Action | None = None

    @property
    def allowed(self) -> bool:
        """True when the step may proceed (ALLOW or REDACT with the rewritten content)."""
        return self.action <= Action.REDACT

    @property
    def blocked(self) -> bool:
        return self.action == Action.BLOCK

    @property
    def decided(self) -> Action:
        """The action the policy decided, before shadow mode relaxed it."""
        return self.intended if self.intended is not None else self.action

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({f.category for f in self.findings}))

    def explain(self) -> str:
        """One human sentence: the action and the reasons of the findings that drove it."""
        top = [f for f in self.findings if f.action == self.decided] or list(self.findings)
        if not top:
            return f"{self.decided.label}: no findings"
        reasons = "; ".join(f"{f.reason or f.category} [{f.rule or f.category}]" for f in top[:5])
        more = f" (+{len(top) - 5} more)" if len(top) > 5 else ""
        return f"{self.decided.label}: {reasons}{more}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.action.label,
            "mode": self.mode,
            "degraded": self.degraded,
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.intended is not None and self.intended != self.action:
            out["intended"] = self.intended.label
        if self.content is not None:
            out["content"] = self.content
        if self.args is not None:
            out["args"] = dict(self.args)
        return out

    @staticmethod
    def merge(*verdicts: Verdict | Iterable[Verdict]) -> Verdict:
        """Combine verdicts (for example of several tool calls in one model turn).

        The result does not depend on the order: the most severe action wins, findings are
        sorted, ``degraded`` is true if any was, the mode is ``shadow`` only if all were.
        ``content``/``args`` are kept only when all verdicts that carry one agree.
        """
        flat: list[Verdict] = []
        for v in verdicts:
            if isinstance(v, Verdict):
                flat.append(v)
            else:
                flat.extend(v)
        if not flat:
            return Verdict()
        action = max(v.action for v in flat)
        decided = max(v.decided for v in flat)
        findings = tuple(sorted((f for v in flat for f in v.findings), key=_finding_key))
        contents = {v.content for v in flat if v.content is not None}
        args_set = [v.args for v in flat if v.args is not None]
        args = args_set[0] if args_set and all(a == args_set[0] for a in args_set) else None
        mode: Mode = "shadow" if all(v.mode == "shadow" for v in flat) else "enforce"
        return Verdict(
            action=action,
            findings=findings,
            content=contents.pop() if len(contents) == 1 else None,
            args=args,
            degraded=any(v.degraded for v in flat),
            mode=mode,
            intended=decided if decided != action else None,
        )
