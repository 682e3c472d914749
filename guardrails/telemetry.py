"""OpenTelemetry for guard decisions: one span per check, one event per finding, two metrics.

Every span, attribute, event and metric name Perimeter emits is a constant in this module, so the
names can follow the (still draft) GenAI security conventions in one place.

The module depends on ``opentelemetry-api`` only. It never sets a global provider: pass a
``tracer_provider`` / ``meter_provider`` (e.g. from the SDK) or let it use the API's current
global providers, which are no-ops until the application configures OpenTelemetry. With the no-op
providers a check costs a few microseconds more (``benchmarks/bench_overhead.py`` measures it).

No message content, argument values or finding details are exported unless
``capture_content=True``; finding ``reason`` sentences and ``safe.*`` details are designed to be
safe and are always exported.

Usage::

    from opentelemetry.sdk.trace import TracerProvider
    guard = Guard.from_yaml("perimeter.yaml", tracer_provider=TracerProvider())
    # or: Guard(manifest, telemetry=Telemetry(tracer_provider=tp, meter_provider=mp))
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, Status, StatusCode

from .verdict import Finding, Verdict

__all__ = [
    "ATTR_ACTION",
    "ATTR_AGENT",
    "ATTR_ARGS",
    "ATTR_CATEGORIES",
    "ATTR_CATEGORY",
    "ATTR_CONTENT",
    "ATTR_DEGRADED",
    "ATTR_DIRECTION",
    "ATTR_EVENT_KIND",
    "ATTR_FINDING_ACTION",
    "ATTR_FINDING_CATEGORY",
    "ATTR_FINDING_COUNT",
    "ATTR_FINDING_REASON",
    "ATTR_FINDING_RULE",
    "ATTR_FINDING_SCORE",
    "ATTR_FINDING_SCREEN",
    "ATTR_INTENDED",
    "ATTR_MODE",
    "ATTR_PEER",
    "ATTR_RUN_ID",
    "ATTR_SOURCE",
    "ATTR_TOOL",
    "ATTR_TOOL_CALL_ID",
    "EVENT_FINDING",
    "INSTRUMENTATION_NAME",
    "METRIC_DECISIONS",
    "METRIC_DURATION",
    "SPAN_NAME_PREFIX",
    "Telemetry",
    "span_name",
]

INSTRUMENTATION_NAME = "guardrails"

# ---------------------------------------------------------------------------- span names
SPAN_NAME_PREFIX = "guardrails.check"

# ------------------------------------------------------------------------ span attributes
ATTR_AGENT = "gen_ai.agent.name"
ATTR_TOOL = "gen_ai.tool.name"
ATTR_TOOL_CALL_ID = "gen_ai.tool.call.id"
ATTR_RUN_ID = "gen_ai.conversation.id"
ATTR_ACTION = "guardrails.action"
ATTR_INTENDED = "guardrails.intended_action"
ATTR_MODE = "guardrails.mode"
ATTR_DEGRADED = "guardrails.degraded"
ATTR_FINDING_COUNT = "guardrails.finding.count"
ATTR_CATEGORIES = "guardrails.categories"
ATTR_EVENT_KIND = "guardrails.event.kind"
ATTR_SOURCE = "guardrails.source"
ATTR_PEER = "guardrails.peer"
ATTR_DIRECTION = "guardrails.direction"
# only with capture_content=True
ATTR_CONTENT = "guardrails.content"
ATTR_ARGS = "gen_ai.tool.call.arguments"

# ------------------------------------------------------------------------- span events
EVENT_FINDING = "guardrails.finding"
ATTR_FINDING_CATEGORY = "guardrails.finding.category"
ATTR_FINDING_SCREEN = "guardrails.finding.screen"
ATTR_FINDING_RULE = "guardrails.finding.rule"
ATTR_FINDING_SCORE = "guardrails.finding.score"
ATTR_FINDING_ACTION = "guardrails.finding.action"
ATTR_FINDING_REASON = "guardrails.finding.reason"
ATTR_FINDING_DETAIL_PREFIX = "guardrails.finding.detail."

# -------------------------------------------------------------------------------- metrics
METRIC_DECISIONS = "guardrails.decisions"
METRIC_DURATION = "guardrails.check.duration"
ATTR_CATEGORY = "guardrails.category"  # metric attribute: the category that drove the action

_NO_CATEGORY = "none"
_MAX_CONTENT = 8192
_MAX_REASON = 512


def span_name(kind: object) -> str:
    """``guardrails.check {kind}``, e.g. ``guardrails.check tool_call``."""
    k = _str(kind, "unknown")
    return _SPAN_NAMES.get(k) or f"{SPAN_NAME_PREFIX} {k}"


def _names() -> dict[str, str]:
    from .events import EventKind

    return {k.value: f"{SPAN_NAME_PREFIX} {k.value}" for k in EventKind}


def _str(value: object, default: str = "") -> str:
    if value is None:
        return default
    s = getattr(value, "value", value)  # str-valued enums
    return s if isinstance(s, str) else str(s)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SPAN_NAMES = _names()


_IDLE_RECHECK = 1.0  # seconds between asks whether the global providers were configured


class Telemetry:
    """Records guard decisions as OpenTelemetry spans and metrics.

    The Guard calls :meth:`start` before screening an event and :meth:`finish` with the verdict.
    Telemetry never raises into the Guard: an exporter or attribute problem is swallowed so it can
    neither break nor change a decision.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        capture_content: bool = False,
    ) -> None:
        from . import __version__

        # The API's global providers are proxies: if the application configures OpenTelemetry
        # later, these tracers and instruments start recording then. Nothing global is set here.
        tp = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        mp = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        self.capture_content = capture_content
        # While both are still the API's unconfigured global proxies, a check costs nothing here:
        # start/finish return at once (about 0.2 µs instead of about 4 µs of no-op spans and
        # metrics). As soon as the application sets its providers, recording starts.
        self._idle_tp = tp if isinstance(tp, trace.ProxyTracerProvider) else None
        self._idle_mp = mp if type(mp).__name__ == "_ProxyMeterProvider" else None
        self._idle_until = 0.0
        self._tracer = tp.get_tracer(INSTRUMENTATION_NAME, __version__)
        meter = mp.get_meter(INSTRUMENTATION_NAME, __version__)
        self._decisions = meter.create_counter(
            METRIC_DECISIONS, unit="{decision}",
            description="Guard decisions by agent, action and the category that drove the action",
        )
        self._duration = meter.create_histogram(
            METRIC_DURATION, unit="s", description="Time to check one event (all screens)",
        )

    # ------------------------------------------------------------------ Guard hooks
    @property
    def idle(self) -> bool:
        """True while nothing can record: the global providers used are still unconfigured.

        Asking the API costs about 2 µs (it reads the environment), so the answer is kept for up
        to ``_IDLE_RECHECK`` seconds: recording starts at most that long after the application
        configures OpenTelemetry (configure it before the first agent step and nothing is lost)."""
        if self._idle_tp is None or self._idle_mp is None:
            return False
        now = time.monotonic()
        if now < self._idle_until:
            return True
        if trace.get_tracer_provider() is self._idle_tp and metrics.get_meter_provider() is self._idle_mp:
            self._idle_until = now + _IDLE_RECHECK
            return True
        self._idle_tp = self._idle_mp = None  # configured: record from now on
        return False

    def start(self, event: Any) -> Span | None:
        """Open the check span as a child of the current span (the framework's step)."""
        if self.idle:
            return None
        try:
            kind = _str(getattr(event, "kind", None), "unknown")
            span = self._tracer.start_span(_SPAN_NAMES.get(kind) or span_name(kind))  # kind INTERNAL
            if not span.is_recording():
                return span
            attrs: dict[str, Any] = {
                ATTR_EVENT_KIND: kind,
                ATTR_AGENT: _str(getattr(event, "agent", None)),
            }
            run_id = getattr(event, "run_id", None)
            if run_id:
                attrs[ATTR_RUN_ID] = _str(run_id)
            source = getattr(event, "source", None)
            if source is not None:
                attrs[ATTR_SOURCE] = _str(source)
            tool = getattr(event, "tool", None)
            if tool is not None:
                attrs[ATTR_TOOL] = _str(getattr(tool, "name", None))
                call_id = getattr(tool, "call_id", None)
                if call_id:
                    attrs[ATTR_TOOL_CALL_ID] = _str(call_id)
            peer = getattr(event, "peer", None)
            if peer:
                attrs[ATTR_PEER] = _str(peer)
            direction = getattr(event, "direction", None)
            if direction is not None:
                attrs[ATTR_DIRECTION] = _str(direction)
            if self.capture_content:
                content = getattr(event, "content", "")
                if isinstance(content, str) and content:
                    attrs[ATTR_CONTENT] = _truncate(content, _MAX_CONTENT)
                if tool is not None:
                    attrs[ATTR_ARGS] = _truncate(_args_text(getattr(tool, "args", None)), _MAX_CONTENT)
            span.set_attributes(attrs)
            return span
        except Exception:  # noqa: BLE001 - telemetry must never break a check
            return None

    def finish(self, handle: Span | None, event: Any, verdict: Verdict, seconds: float) -> None:
        """Record the verdict on the span, end it, and update the metrics."""
        if handle is None and self.idle:
            return
        try:
            self._finish_span(handle, verdict)
        except Exception:  # noqa: BLE001,S110
            pass
        try:
            agent = _str(getattr(event, "agent", None))
            kind = _str(getattr(event, "kind", None), "unknown")
            action = verdict.decided.label
            self._decisions.add(1, {
                ATTR_AGENT: agent,
                ATTR_ACTION: action,
                ATTR_CATEGORY: _driving_category(verdict),
                ATTR_EVENT_KIND: kind,
            })
            self._duration.record(seconds, {ATTR_EVENT_KIND: kind, ATTR_ACTION: action})
        except Exception:  # noqa: BLE001,S110
            pass

    # ------------------------------------------------------------------ internals
    def _finish_span(self, span: Span | None, verdict: Verdict) -> None:
        if span is None:
            return
        try:
            if not span.is_recording():
                return
            attrs: dict[str, Any] = {
                ATTR_ACTION: verdict.action.label,
                ATTR_MODE: verdict.mode,
                ATTR_DEGRADED: verdict.degraded,
                ATTR_FINDING_COUNT: len(verdict.findings),
                ATTR_CATEGORIES: list(verdict.categories),
            }
            if verdict.intended is not None and verdict.intended != verdict.action:
                attrs[ATTR_INTENDED] = verdict.intended.label
            span.set_attributes(attrs)
            errors = []
            for f in verdict.findings:
                span.add_event(EVENT_FINDING, self._finding_attrs(f))
                if f.category == "screen.error":
                    errors.append(f.reason or f.rule)
            if errors:
                span.set_status(Status(StatusCode.ERROR, _truncate("; ".join(errors), _MAX_REASON)))
        finally:
            span.end()

    def _finding_attrs(self, f: Finding) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            ATTR_FINDING_CATEGORY: f.category,
            ATTR_FINDING_SCREEN: f.screen,
            ATTR_FINDING_RULE: f.rule,
            ATTR_FINDING_SCORE: float(f.score),
            ATTR_FINDING_ACTION: f.action.label,
        }
        if f.reason:
            attrs[ATTR_FINDING_REASON] = _truncate(f.reason, _MAX_REASON)
        for key, value in f.details.items():
            if self.capture_content or key.startswith("safe."):
                attrs[ATTR_FINDING_DETAIL_PREFIX + key.removeprefix("safe.")] = _truncate(
                    _str(value), _MAX_REASON)
        return attrs


def _driving_category(verdict: Verdict) -> str:
    """The category of the most severe finding (the one that decided the action)."""
    best: Finding | None = None
    for f in verdict.findings:
        if best is None or f.action > best.action:
            best = f
    return _NO_CATEGORY if best is None else best.category


def _args_text(args: object) -> str:
    if isinstance(args, str):
        return args
    if isinstance(args, Mapping):
        try:
            return json.dumps(dict(args), ensure_ascii=False, default=str, sort_keys=True)
        except (TypeError, ValueError):
            return str(dict(args))
    return "" if args is None else str(args)
