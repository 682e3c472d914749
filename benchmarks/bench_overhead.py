"""Perimeter's overhead per agent step, against the same loop without Perimeter.

A real ``create_agent`` loop with a scripted model (no network, so the loop's own cost is the
baseline, the worst case for a relative overhead: with a real model each step also waits hundreds of
milliseconds for the model). One invocation = ``STEPS`` model turns that each call one tool with a
~1.5 KB realistic result, then a final answer. Variants:

* ``baseline``      the loop without Perimeter
* ``middleware``    + GuardrailsMiddleware with the built-in screens of this build, no telemetry
* ``+otel no-op``   + Telemetry with the API's global providers, nothing configured (the default)
* ``+otel sdk``     + Telemetry with an SDK TracerProvider and MeterProvider (in-memory export)
* ``callback``      GuardrailsCallbackHandler instead of the middleware

Also the Guard alone (``Guard.check`` per event) with and without no-op telemetry.

Run: ``.venv/bin/python benchmarks/bench_overhead.py [--runs 7] [--steps 10] [--write]``
(``--write`` replaces the ``## Agent loop overhead`` section of benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from guardrails.integrations.langchain import GuardrailsCallbackHandler, GuardrailsMiddleware
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool

from guardrails import Event, Guard, Manifest
from guardrails.demo.model import ScriptedChatModel, replay
from guardrails.telemetry import Telemetry

ROOT = Path(__file__).resolve().parent
SECTION = "## Agent loop overhead"

MANIFEST = {
    "version": 1,
    "agents": {"support": {"tools": {
        "search_kb": {"args": {"query": {"type": "string", "max_length": 500}}},
        "get_order": {"args": {"order_id": {"pattern": "[A-Z]{2}[0-9]{8}"}}},
    }}},
}

RESULT = (
    "Order status report. The order was placed on the web shop and paid by card. It left the "
    "central warehouse on Tuesday morning and was handed to the carrier in the afternoon. The "
    "carrier scanned it at the regional hub on Wednesday; the expected delivery window is Friday "
    "between 9:00 and 13:00. The package contains two items: a pair of running shoes (size 42) and "
    "a water bottle. Returns are accepted within 30 days of delivery in the original packaging; "
    "refunds are issued to the original payment method within five business days of receipt. "
) * 3


@tool
def get_order(order_id: str) -> str:
    """Look up an order."""
    return RESULT


@tool
def search_kb(query: str) -> str:
    """Search the knowledge base."""
    return RESULT


def script(steps: int) -> list[AIMessage]:
    out = []
    for i in range(steps):
        name, args = (("get_order", {"order_id": f"AB{10000000 + i}"}) if i % 2 == 0
                      else ("search_kb", {"query": f"return policy {i}"}))
        out.append(AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"c{i}",
                                                      "type": "tool_call"}]))
    out.append(AIMessage(content="Your order arrives on Friday; returns are accepted within 30 days."))
    return out


def sdk_providers() -> tuple[Any, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    tp = TracerProvider()
    exporter = InMemorySpanExporter()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    return tp, MeterProvider(metric_readers=[InMemoryMetricReader()])


def variants(steps: int) -> dict[str, Callable[[], Any]]:
    manifest = Manifest.from_dict(MANIFEST)
    tp, mp = sdk_providers()

    def loop(middleware: list[Any] | None = None, callbacks: list[Any] | None = None) -> Callable[[], Any]:
        def run() -> Any:
            model = ScriptedChatModel(brain=replay(script(steps)))
            agent = create_agent(model, [get_order, search_kb], middleware=middleware or [])
            cfg = {"callbacks": callbacks, "recursion_limit": 4 * steps + 10} if callbacks else {
                "recursion_limit": 4 * steps + 10}
            return agent.invoke({"messages": [HumanMessage("Where is my order and can I return it?")]}, cfg)
        return run

    return {
        "baseline": loop(),
        "middleware, no screens": loop([GuardrailsMiddleware(Guard(manifest, screens=[]), agent="support")]),
        "middleware": loop([GuardrailsMiddleware(Guard(manifest), agent="support")]),
        "+otel no-op": loop([GuardrailsMiddleware(Guard(manifest, telemetry=Telemetry()), agent="support")]),
        "+otel sdk": loop([GuardrailsMiddleware(
            Guard(manifest, telemetry=Telemetry(tracer_provider=tp, meter_provider=mp)), agent="support")]),
        "callback": loop(callbacks=[GuardrailsCallbackHandler(Guard(manifest), agent="support",
                                                              on_redact="allow")]),
    }


def measure(fns: dict[str, Callable[[], Any]], runs: int) -> dict[str, tuple[list[float], list[float]]]:
    """Interleaved rounds (every variant once per round) so load on the machine hits all variants
    alike; returns (cpu seconds, wall seconds) samples per variant. CPU time is process time (all
    threads), which is far less sensitive to other processes than wall time."""
    for fn in fns.values():
        fn()  # warm up (imports, compiled rules, graph caches)
    out: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            out[name][0].append(time.process_time() - c0)
            out[name][1].append(time.perf_counter() - w0)
    return out


def guard_micro(n: int = 1000) -> list[tuple[str, float, float]]:
    manifest = Manifest.from_dict(MANIFEST)
    rows = []
    events = [
        ("tool_call", Event.tool_call(agent="support", run_id="b", tool="get_order",
                                      args={"order_id": "AB12345678"})),
        ("tool_result 1.5 KB", Event.tool_result(agent="support", run_id="b", tool="get_order",
                                                 content=RESULT)),
    ]
    for label, ev in events:
        per = {}
        for tel_label, tel in (("none", None), ("no-op", Telemetry())):
            g = Guard(manifest, telemetry=tel)
            g.check(ev)
            samples = []
            for _ in range(5):
                t0 = time.process_time()
                for _ in range(n):
                    g.check(ev)
                samples.append((time.process_time() - t0) / n)
            per[tel_label] = statistics.median(samples)
        rows.append((label, per["none"] * 1e6, per["no-op"] * 1e6))
    return rows


def telemetry_micro(n: int = 20000) -> tuple[float, float]:
    """µs for one Telemetry.start + finish pair: no-op providers vs. the SDK (in-memory export)."""
    from guardrails import Verdict

    ev = Event.tool_call(agent="support", run_id="b", tool="get_order", args={"order_id": "AB12345678"})
    verdict = Verdict()
    out = []
    tp, mp = sdk_providers()
    for tel, count in ((Telemetry(), n), (Telemetry(tracer_provider=tp, meter_provider=mp), n // 10)):
        samples = []
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(count):
                tel.finish(tel.start(ev), ev, verdict, 1e-4)
            samples.append((time.process_time() - t0) / count)
        out.append(statistics.median(samples) * 1e6)
    return out[0], out[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--write", action="store_true", help="write the table into benchmarks/RESULTS.md")
    args = ap.parse_args(argv)

    screens = sorted(s.name for s in Guard(Manifest.from_dict(MANIFEST)).screens)
    samples = measure(variants(args.steps), args.runs)
    cpu = {k: statistics.median(v[0]) / args.steps for k, v in samples.items()}
    wall = {k: statistics.median(v[1]) / args.steps for k, v in samples.items()}
    base = cpu["baseline"]
    lines = [
        SECTION,
        "",
        f"`benchmarks/bench_overhead.py` — a real `create_agent` loop with a scripted model, {args.steps} "
        f"steps per run (model turn + one tool call with a 1.5 KB result, then the answer), "
        f"{args.runs} interleaved rounds, median per step. CPU = process time of all threads (robust "
        f"to other load on the machine); wall time for reference. Screens: {', '.join(screens)}. "
        f"Python {platform.python_version()}, {platform.machine()}, 2 cores.",
        "",
        "| variant | CPU ms / step | overhead vs baseline (CPU) | wall ms / step |",
        "|---|---:|---:|---:|",
    ]
    for name in cpu:
        over = ("—" if name == "baseline"
                else f"+{(cpu[name] - base) * 1e3:.2f} ms ({(cpu[name] / base - 1) * 100:+.0f}%)")
        lines.append(f"| {name} | {cpu[name] * 1e3:.2f} | {over} | {wall[name] * 1e3:.2f} |")
    lines += [
        "",
        "Guard alone, CPU µs per `check` (median of 5×1000): telemetry off vs. `Telemetry()` with no "
        "provider configured (the API's no-op):",
        "",
        "| event | no telemetry | no-op telemetry |",
        "|---|---:|---:|",
    ]
    for label, a, b in guard_micro():
        lines.append(f"| {label} | {a:.1f} | {b:.1f} |")
    noop, sdk = telemetry_micro()
    lines += [
        "",
        f"Telemetry alone, CPU per check (one span + metrics): {noop:.1f} µs with no provider configured "
        f"(the API's no-op), {sdk:.1f} µs recording with the SDK (in-memory exporter).",
        "",
        "The baseline has no model latency; with a hosted model (hundreds of ms per turn) the same "
        "absolute overhead is a small fraction of a step.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        from _results import write_block

        write_block(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
