"""``perimeter demo``: the scripted two-agent scenario (see :mod:`guardrails.demo.scenario`)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "run"]

_EPILOG = """\
examples:
  perimeter demo                                   # offline, prints the story and the span tree
  perimeter demo --otlp http://127.0.0.1:6006      # also export the spans (OTLP/HTTP, e.g. Phoenix)
  perimeter demo --model openai:gpt-4o-mini        # the same scenes with a real chat model

exit code: 0 when the scenario behaved as expected, 1 otherwise
"""


def register(sub: Any, eval_sub: Any) -> None:
    p = sub.add_parser(
        "demo", help="run a scripted two-agent scenario offline and show decisions and spans",
        description="A real LangGraph graph of three agents with GuardrailsMiddleware and a scripted "
                    "model that obeys instructions it finds in its context: a benign request, an "
                    "injected page that hijacks the model into e-mailing data out, a handoff to an "
                    "allowed peer, and a handoff outside the agent's peers.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--otlp", metavar="URL",
                   help="also export spans via OTLP/HTTP to URL (…/v1/traces is appended if missing)")
    p.add_argument("--project", default="perimeter-demo",
                   help="project name for backends that group traces (resource openinference.project.name)")
    p.add_argument("--model", metavar="PROVIDER:NAME",
                   help="use a real chat model through langchain's init_chat_model instead of the script")
    p.add_argument("--manifest", help="use another manifest (default: the demo's own)")
    p.add_argument("--no-tree", action="store_true", help="do not print the span tree")
    p.add_argument("--capture-content", action="store_true",
                   help="put message content and tool arguments on the spans (off by default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..demo.scenario import run_demo

    result = run_demo(manifest=args.manifest, otlp=args.otlp, model=args.model, project=args.project,
                      show_tree=not args.no_tree, capture_content=args.capture_content)
    return 0 if result.ok else 1
