"""The anomaly screen: behaviour that no single rule catches.

- **Probing**: an agent that keeps hitting denials is being steered (an injection trying tool
  after tool, argument after argument). After ``max_denials`` blocked steps in one run, every
  further tool call and outgoing message of that run is blocked (``anomaly.probing``).
- **Bursts**: more than ``burst_calls`` tool calls by one agent within ``burst_per`` (any run) is
  a runaway loop or an attack at machine speed (``anomaly.burst``, REVIEW by default).

Counters live in the guard's ``StateStore`` (in memory or Redis), so they hold across replicas.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..events import Direction, Event, EventKind
from ..manifest import Manifest, parse_window
from ..verdict import Action, Finding, Verdict
from .base import CheckContext, register_screen

__all__ = ["AnomalyScreen"]

SCREEN = "anomaly"
_ACTING = frozenset({EventKind.TOOL_CALL, EventKind.MESSAGE})


class AnomalyScreen:
    name = SCREEN
    kinds = frozenset(EventKind)

    def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
        pol = ctx.policy
        if pol is None or not pol.anomaly.enabled:
            return ()
        if event.kind not in _ACTING or (event.kind is EventKind.MESSAGE
                                         and event.direction is not Direction.SEND):
            return ()
        a = pol.anomaly
        out: list[Finding] = []
        if a.max_denials is not None:
            n = ctx.state.get(self._denials_key(event))
            if n >= a.max_denials:
                out.append(Finding(
                    screen=SCREEN, category="anomaly.probing", action=Action.parse(a.denial_action),
                    rule="anomaly.probing",
                    reason=f"this run already had {n} blocked steps (limit {a.max_denials}): "
                           "the agent looks steered, so it may not act further",
                    details={"safe.denials": str(n)}))
        if a.burst_calls is not None and event.kind is EventKind.TOOL_CALL:
            window = parse_window(a.burst_per) or 10.0
            bucket = int(ctx.now // window)
            key = f"anom:burst:{pol.name}:{bucket}"
            n = ctx.state.incr(key, 1, ttl=window * 2)
            if n > a.burst_calls:
                out.append(Finding(
                    screen=SCREEN, category="anomaly.burst", action=Action.parse(a.burst_action),
                    rule="anomaly.burst",
                    reason=f"agent {pol.name!r} made more than {a.burst_calls} tool calls within {a.burst_per}"))
        return out

    @staticmethod
    def _denials_key(event: Event) -> str:
        return f"anom:deny:{event.agent}:{event.run_id}"

    def observe(self, event: Event, verdict: Verdict, ctx: CheckContext) -> None:
        pol = ctx.policy
        if pol is None or not pol.anomaly.enabled or pol.anomaly.max_denials is None:
            return
        if verdict.decided == Action.BLOCK and not any(f.category == "anomaly.probing" for f in verdict.findings):
            ctx.state.incr(self._denials_key(event), 1, ttl=float(pol.run_ttl))


@register_screen(SCREEN, order=50)
def _factory(manifest: Manifest) -> AnomalyScreen:
    return AnomalyScreen()
