"""Guard: the one orchestrator. Built once from a manifest, asked once per agent step."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .events import Event, EventKind
from .manifest import Manifest
from .screens.base import SCREENS, CheckContext, Screen
from .state import MemoryStore, StateStore
from .verdict import Action, Finding, Verdict

if TYPE_CHECKING:
    from .audit import AuditLog
    from .streaming import GuardedStream
    from .telemetry import Telemetry

__all__ = ["Guard"]

_ALL_KINDS = frozenset(EventKind)


def _load_builtin_screens() -> None:
    # Importing registers the built-in screens (each module decorates its factory).
    from .screens import load_builtin

    load_builtin()


class Guard:
    """Checks events against a manifest.

    ``check(event) -> Verdict`` never raises for a bad event or a failing screen: such problems
    become findings and the failure policy (``on_error``, block by default) decides. Pass
    ``tracer_provider``/``meter_provider`` (or a ready ``telemetry``, see
    :mod:`guardrails.telemetry`) to choose where OpenTelemetry goes; by default the API's global
    providers are used, and ``telemetry=False`` turns it off. Nothing global is ever set.
    """

    def __init__(
        self,
        manifest: Manifest,
        *,
        state: StateStore | None = None,
        screens: Sequence[Screen] | None = None,
        telemetry: Telemetry | Literal[False] | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        capture_content: bool = False,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(manifest, Manifest):
            raise TypeError("Guard needs a Manifest; use Guard.from_yaml(path) or Guard.from_dict(d)")
        self.manifest = manifest
        self.state: StateStore = state if state is not None else MemoryStore()
        self._clock = clock
        if screens is None:
            _load_builtin_screens()
            built: list[Screen] = []
            for _name, factory in SCREENS:
                s = factory(manifest)
                if s is not None:
                    built.append(s)
            screens = built
        self.screens: tuple[Screen, ...] = tuple(screens)
        self._by_kind: dict[EventKind, tuple[Screen, ...]] = {
            k: tuple(s for s in self.screens if k in s.kinds) for k in EventKind
        }
        self._observers = tuple(s for s in self.screens if callable(getattr(s, "observe", None)))
        if telemetry is None:
            # By default decisions go to the OpenTelemetry API's global providers. Until the
            # application configures them, telemetry is idle (about 0.5 µs a check); nothing is set
            # globally.
            from .telemetry import Telemetry

            telemetry = Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider,
                                  capture_content=capture_content)
        self.telemetry: Telemetry | None = telemetry or None
        self.audit = audit

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_yaml(cls, path: str | Path, **kwargs: Any) -> Guard:
        return cls(Manifest.from_yaml(path), **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **kwargs: Any) -> Guard:
        return cls(Manifest.from_dict(data), **kwargs)

    # ------------------------------------------------------------------ checking
    def check(self, event: Event) -> Verdict:
        """Screen ``event`` and return the verdict the adapter must enforce."""
        start, handle, ctx = self._begin(event)
        if ctx is not None:
            for screen in self._by_kind[event.kind]:
                if self._stop(ctx):
                    break
                try:
                    found = screen(event, ctx)
                except Exception as exc:  # noqa: BLE001 - fail closed, see on_error
                    found = [self._error_finding(screen, exc, ctx)]
                ctx.findings.extend(found)
        return self._conclude(event, ctx, start, handle)

    async def acheck(self, event: Event) -> Verdict:
        """Async twin of :meth:`check`: awaits screens that define ``acall``, runs the others
        inline (they are CPU-bound and take microseconds). Never calls ``asyncio.run``."""
        start, handle, ctx = self._begin(event)
        if ctx is not None:
            for screen in self._by_kind[event.kind]:
                if self._stop(ctx):
                    break
                try:
                    acall = getattr(screen, "acall", None)
                    if acall is not None:
                        found = await acall(event, ctx)
                    else:
                        found = screen(event, ctx)
                        if inspect.isawaitable(found):
                            found = await found
                except Exception as exc:  # noqa: BLE001 - fail closed, see on_error
                    found = [self._error_finding(screen, exc, ctx)]
                ctx.findings.extend(found)
        return self._conclude(event, ctx, start, handle)

    def _begin(self, event: Event) -> tuple[float, Any, CheckContext | None]:
        """Start timing and the span; a context for a valid event, None for an invalid one."""
        start = time.perf_counter()
        handle = self.telemetry.start(event) if self.telemetry is not None else None
        ctx = self._context(event) if _invalid_event(event) is None else None
        return start, handle, ctx

    def _conclude(self, event: Event, ctx: CheckContext | None, start: float, handle: Any) -> Verdict:
        """Verdict, run-state updates, audit record and span: the same for check and acheck."""
        if ctx is None:
            verdict = self._finish_invalid(event, _invalid_event(event) or "invalid event")
        else:
            verdict = self._verdict(event, ctx)
            self._observe(event, verdict, ctx)
        if self.audit is not None:
            verdict = self._audit(event, verdict)
        if self.telemetry is not None:
            self.telemetry.finish(handle, event, verdict, time.perf_counter() - start)
        return verdict

    def stream(self, agent: str, run_id: str = "", *, kind: EventKind | str = EventKind.OUTPUT,
               peer: str | None = None, metadata: Mapping[str, Any] | None = None,
               lookback: int = 128, max_buffer: int = 8192) -> GuardedStream:
        """A :class:`~guardrails.streaming.GuardedStream` for one streamed answer (or message to
        ``peer``): ``feed`` chunks and emit what it returns (redacted as the agent's manifest says,
        PII split across chunks included), then ``flush``; ``verdict`` is this Guard's check of the
        whole text. An unknown agent's stream emits nothing and its verdict blocks."""
        from .streaming import GuardedStream, stream_event

        event = stream_event(agent, run_id, kind, peer=peer, metadata=metadata)
        return GuardedStream(self, event, lookback=lookback, max_buffer=max_buffer)

    def check_all(self, events: Iterable[Event]) -> Verdict:
        """Check several events (e.g. all tool calls of one model turn) and merge the verdicts."""
        return Verdict.merge([self.check(e) for e in events])

    # ------------------------------------------------------------------ internals
    def _context(self, event: Event) -> CheckContext:
        return CheckContext(
            manifest=self.manifest,
            policy=self.manifest.agent(event.agent),
            state=self.state,
            now=self._clock(),
        )

    @staticmethod
    def _stop(ctx: CheckContext) -> bool:
        # once something is decisively blocked, the remaining (costlier) screens add nothing
        return any(f.action == Action.BLOCK and f.category != "screen.error" for f in ctx.findings)

    def _error_finding(self, screen: Screen, exc: BaseException, ctx: CheckContext) -> Finding:
        name = str(getattr(screen, "name", type(screen).__name__))
        on_error = (ctx.policy.on_error_for(name) if ctx.policy is not None
                    else ctx.manifest.defaults.on_error)
        return Finding(
            screen=name,
            category="screen.error",
            action=Action.BLOCK if on_error == "block" else Action.ALLOW,
            rule=f"{name}.error",
            reason=f"screen {name!r} failed ({type(exc).__name__}); on_error={on_error}",
            details={"safe.error_type": type(exc).__name__, "safe.on_error": on_error},
        )

    def _verdict(self, event: Event, ctx: CheckContext) -> Verdict:
        findings = tuple(ctx.findings)
        decided = max((f.action for f in findings), default=Action.ALLOW)
        degraded = any(f.category == "screen.error" and f.action == Action.ALLOW for f in findings)
        mode = ctx.policy.mode if ctx.policy is not None else self.manifest.defaults.mode
        content = ctx.content if ctx.content is not None and ctx.content != event.content else None
        if content is not None and decided < Action.REDACT:
            decided = Action.REDACT
        if mode == "shadow":
            return Verdict(action=Action.ALLOW, findings=findings, content=None, args=None,
                           degraded=degraded, mode="shadow", intended=decided)
        return Verdict(action=decided, findings=findings, content=content, args=ctx.args,
                       degraded=degraded, mode="enforce")

    def _audit(self, event: Any, verdict: Verdict) -> Verdict:
        """Write the decision; a decision that cannot be recorded is not taken (fail closed),
        unless ``on_error: allow``, which lets it pass as degraded."""
        assert self.audit is not None
        try:
            self.audit.record(event, verdict)
            return verdict
        except Exception as exc:  # noqa: BLE001
            allow = self.manifest.defaults.on_error == "allow"
            f = Finding(screen="audit", category="screen.error",
                        action=Action.ALLOW if allow else Action.BLOCK, rule="audit.error",
                        reason=f"the decision could not be written to the audit log ({type(exc).__name__})")
            merged = Verdict.merge(verdict, Verdict(action=f.action, findings=(f,), degraded=allow))
            return merged

    def _finish_invalid(self, event: Any, reason: str) -> Verdict:
        f = Finding(screen="guard", category="input.invalid", action=Action.BLOCK,
                    rule="guard.invalid_event", reason=reason)
        return Verdict(action=Action.BLOCK, findings=(f,))

    def _observe(self, event: Event, verdict: Verdict, ctx: CheckContext) -> None:
        for s in self._observers:
            try:
                s.observe(event, verdict, ctx)  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001,S110 - bookkeeping must never break the agent
                pass


def _invalid_event(event: Any) -> str | None:
    if not isinstance(event, Event):
        return f"not an Event: {type(event).__name__}"
    if not isinstance(event.kind, EventKind):
        return "event kind is not an EventKind"
    if not isinstance(event.agent, str):
        return "event agent is not a string"
    if not isinstance(event.content, str):
        return "event content is not a string"
    if event.kind is EventKind.TOOL_CALL and (event.tool is None or not isinstance(event.tool.name, str)):
        return "tool_call event without a tool name"
    return None
