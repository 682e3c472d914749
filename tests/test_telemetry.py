"""Telemetry: spans, finding events and metrics through the SDK's in-memory exporters."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from guardrails import Action, CheckContext, Event, EventKind, Finding, Guard, Manifest
from guardrails import telemetry as T
from guardrails.telemetry import Telemetry

MANIFEST = Manifest.from_dict({"version": 1, "agents": {"support": {"tools": {"send_email": {}}}}})
SECRET = "hunter2-very-secret-body"


class FlagScreen:
    """Flags any content or arg containing 'evil' (BLOCK) and 'meh' (REVIEW)."""

    name = "flag"
    kinds = frozenset(EventKind)

    def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
        text = event.content + (json.dumps(dict(event.tool.args)) if event.tool and not
                                isinstance(event.tool.args, str) else "")
        out = []
        if "evil" in text:
            out.append(Finding(screen="flag", category="injection.override", action=Action.BLOCK,
                               score=0.93, rule="flag.evil", reason="evil word",
                               details={"safe.kind": "word", "matched": SECRET}))
        if "meh" in text:
            out.append(Finding(screen="flag", category="policy.approval_required",
                               action=Action.REVIEW, rule="flag.meh", reason="meh"))
        return out


class Boom:
    name = "boom"
    kinds = frozenset({EventKind.OUTPUT})

    def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
        raise RuntimeError("kaput")


@pytest.fixture
def otel() -> Any:
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])

    return SimpleNamespace(exporter=exporter, tp=tp, reader=reader, mp=mp)


def _guard(otel: Any, capture: bool = False) -> Guard:
    return Guard(MANIFEST, screens=[FlagScreen(), Boom()],
                 telemetry=Telemetry(tracer_provider=otel.tp, meter_provider=otel.mp,
                                     capture_content=capture))


def _metrics(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out.setdefault(m.name, []).extend(m.data.data_points)
    return out


def test_block_span_has_attributes_and_one_event_per_finding(otel: Any) -> None:
    g = _guard(otel)
    v = g.check(Event.tool_call(agent="support", run_id="r1", tool="send_email",
                                args={"to": "evil@x.com", "body": "meh " + SECRET}, call_id="c1"))
    assert v.action is Action.BLOCK
    (span,) = otel.exporter.get_finished_spans()
    assert span.name == "guardrails.check tool_call"
    a = span.attributes
    assert a[T.ATTR_AGENT] == "support"
    assert a[T.ATTR_TOOL] == "send_email"
    assert a[T.ATTR_TOOL_CALL_ID] == "c1"
    assert a[T.ATTR_ACTION] == "block"
    assert a[T.ATTR_MODE] == "enforce"
    assert a[T.ATTR_DEGRADED] is False
    assert a[T.ATTR_FINDING_COUNT] == 2
    assert tuple(a[T.ATTR_CATEGORIES]) == ("injection.override", "policy.approval_required")
    assert a[T.ATTR_RUN_ID] == "r1"
    events = [e for e in span.events if e.name == T.EVENT_FINDING]
    assert len(events) == 2
    ev = {e.attributes[T.ATTR_FINDING_CATEGORY]: e.attributes for e in events}
    inj = ev["injection.override"]
    assert inj[T.ATTR_FINDING_SCREEN] == "flag"
    assert inj[T.ATTR_FINDING_RULE] == "flag.evil"
    assert inj[T.ATTR_FINDING_SCORE] == pytest.approx(0.93)
    assert inj[T.ATTR_FINDING_DETAIL_PREFIX + "kind"] == "word"


def test_no_content_args_or_unsafe_details_without_capture(otel: Any) -> None:
    g = _guard(otel)
    g.check(Event.tool_call(agent="support", run_id="r1", tool="send_email",
                            args={"to": "evil@x.com", "body": SECRET}))
    g.check(Event.input(agent="support", run_id="r1", content="evil " + SECRET))
    spans = otel.exporter.get_finished_spans()
    assert len(spans) == 2
    for s in spans:
        blob = json.dumps({k: str(v) for k, v in s.attributes.items()})
        blob += json.dumps([{k: str(v) for k, v in e.attributes.items()} for e in s.events])
        assert SECRET not in blob
        assert "evil@x.com" not in blob
        assert T.ATTR_CONTENT not in s.attributes and T.ATTR_ARGS not in s.attributes


def test_capture_content_exports_content_and_args(otel: Any) -> None:
    g = _guard(otel, capture=True)
    g.check(Event.tool_call(agent="support", run_id="r1", tool="send_email",
                            args={"to": "evil@x.com", "body": SECRET}))
    g.check(Event.input(agent="support", run_id="r1", content="hello " + SECRET))
    s1, s2 = otel.exporter.get_finished_spans()
    assert SECRET in s1.attributes[T.ATTR_ARGS]
    assert SECRET in s2.attributes[T.ATTR_CONTENT]
    detail = [e.attributes.get(T.ATTR_FINDING_DETAIL_PREFIX + "matched") for e in s1.events]
    assert SECRET in detail


def test_span_is_child_of_current_span(otel: Any) -> None:
    g = _guard(otel)
    tracer = otel.tp.get_tracer("framework")
    with tracer.start_as_current_span("agent step") as parent:
        g.check(Event.input(agent="support", run_id="r", content="hi"))
    spans = {s.name: s for s in otel.exporter.get_finished_spans()}
    child = spans["guardrails.check input"]
    assert child.parent is not None
    assert child.parent.span_id == parent.get_span_context().span_id
    assert child.context.trace_id == parent.get_span_context().trace_id


def test_metrics_counter_and_histogram(otel: Any) -> None:
    g = _guard(otel)
    g.check(Event.input(agent="support", run_id="r", content="fine"))
    g.check(Event.input(agent="support", run_id="r", content="evil"))
    g.check(Event.input(agent="support", run_id="r", content="evil again"))
    m = _metrics(otel.reader)
    points = {(p.attributes[T.ATTR_ACTION], p.attributes[T.ATTR_CATEGORY]): p.value
              for p in m[T.METRIC_DECISIONS]}
    assert points[("allow", "none")] == 1
    assert points[("block", "injection.override")] == 2
    assert all(p.attributes[T.ATTR_AGENT] == "support" for p in m[T.METRIC_DECISIONS])
    hist = m[T.METRIC_DURATION]
    assert sum(p.count for p in hist) == 3
    assert all(p.sum >= 0 for p in hist)


def test_screen_error_marks_span_error_and_shadow_mode(otel: Any) -> None:
    g = _guard(otel)
    v = g.check(Event.output(agent="support", run_id="r", content="answer"))
    assert v.action is Action.BLOCK
    (span,) = otel.exporter.get_finished_spans()
    assert span.status.status_code.name == "ERROR"
    assert "screen.error" in span.attributes[T.ATTR_CATEGORIES]

    otel.exporter.clear()
    shadow = Manifest.from_dict({"version": 1, "defaults": {"mode": "shadow"},
                                 "agents": {"support": {}}})
    gs = Guard(shadow, screens=[FlagScreen()],
               telemetry=Telemetry(tracer_provider=otel.tp, meter_provider=otel.mp))
    v = gs.check(Event.input(agent="support", run_id="r", content="evil"))
    assert v.action is Action.ALLOW and v.intended is Action.BLOCK
    (span,) = otel.exporter.get_finished_spans()
    assert span.attributes[T.ATTR_ACTION] == "allow"
    assert span.attributes[T.ATTR_INTENDED] == "block"
    assert span.attributes[T.ATTR_MODE] == "shadow"


def test_message_event_attributes(otel: Any) -> None:
    g = _guard(otel)
    g.check(Event.message(agent="support", run_id="r", content="x", peer="billing", direction="send"))
    (span,) = otel.exporter.get_finished_spans()
    assert span.name == "guardrails.check message"
    assert span.attributes[T.ATTR_PEER] == "billing"
    assert span.attributes[T.ATTR_DIRECTION] == "send"


def test_invalid_event_does_not_break_telemetry(otel: Any) -> None:
    g = _guard(otel)
    v = g.check("not an event")  # type: ignore[arg-type]
    assert v.action is Action.BLOCK
    (span,) = otel.exporter.get_finished_spans()
    assert span.name == "guardrails.check unknown"
    assert span.attributes[T.ATTR_ACTION] == "block"


def test_broken_provider_never_breaks_or_changes_a_decision() -> None:
    class BadTracer:
        def start_span(self, *a: Any, **k: Any) -> Any:
            raise RuntimeError("exporter down")

    class BadTP:
        def get_tracer(self, *a: Any, **k: Any) -> Any:
            return BadTracer()

    class BadInstr:
        def add(self, *a: Any, **k: Any) -> None:
            raise RuntimeError("x")

        record = add

    class BadMeter:
        def create_counter(self, *a: Any, **k: Any) -> Any:
            return BadInstr()

        create_histogram = create_counter

    class BadMP:
        def get_meter(self, *a: Any, **k: Any) -> Any:
            return BadMeter()

    g = Guard(MANIFEST, screens=[FlagScreen()],
              telemetry=Telemetry(tracer_provider=BadTP(), meter_provider=BadMP()))  # type: ignore[arg-type]
    assert g.check(Event.input(agent="support", run_id="r", content="evil")).action is Action.BLOCK
    assert g.check(Event.input(agent="support", run_id="r", content="ok")).action is Action.ALLOW


def test_never_sets_global_providers_and_default_is_noop() -> None:
    before_t = trace.get_tracer_provider()
    tel = Telemetry()
    g = Guard(MANIFEST, screens=[FlagScreen()], telemetry=tel)
    assert g.check(Event.input(agent="support", run_id="r", content="evil")).action is Action.BLOCK
    assert trace.get_tracer_provider() is before_t
    # with no provider configured nothing is even started: no span, no metric, ~0.2 µs
    assert tel.idle
    assert tel.start(Event.input(agent="support", content="x")) is None


def test_recording_starts_once_the_application_configures_otel() -> None:
    """A Guard built before the app sets its global providers records after it does (subprocess:
    the global providers can be set only once per process)."""
    import subprocess

    code = """
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from guardrails import Event, Guard, telemetry
telemetry._IDLE_RECHECK = 0.0
g = Guard.from_dict({"version": 1, "agents": {"a": {"tools": {}}}})
assert g.telemetry is not None and g.telemetry.idle
g.check(Event.input(agent="a", content="hello"))
exp, reader = InMemorySpanExporter(), InMemoryMetricReader()
tp = TracerProvider(); tp.add_span_processor(SimpleSpanProcessor(exp))
trace.set_tracer_provider(tp); metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
assert not g.telemetry.idle
g.check(Event.input(agent="a", content="hello"))
names = [s.name for s in exp.get_finished_spans()]
assert names == ["guardrails.check input"], names
data = reader.get_metrics_data()
assert data is not None and data.resource_metrics
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_guard_kwargs_build_telemetry(otel: Any) -> None:
    g = Guard(MANIFEST, screens=[FlagScreen()], tracer_provider=otel.tp, meter_provider=otel.mp)
    g.check(Event.input(agent="support", run_id="r", content="evil"))
    assert [s.name for s in otel.exporter.get_finished_spans()] == ["guardrails.check input"]


def test_huge_content_is_truncated_when_captured(otel: Any) -> None:
    g = _guard(otel, capture=True)
    g.check(Event.input(agent="support", run_id="r", content="a" * 1_000_000))
    (span,) = otel.exporter.get_finished_spans()
    assert len(span.attributes[T.ATTR_CONTENT]) <= 8192


def test_importing_telemetry_does_not_import_sdk() -> None:
    import subprocess

    code = ("import guardrails.telemetry, sys; "
            "print(any(m.startswith('opentelemetry.sdk') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
