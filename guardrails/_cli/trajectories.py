"""``perimeter eval trajectories FILE.jsonl [--manifest M | --manifest auto] [--json OUT]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["register", "run"]

_EPILOG = """\
examples:
  perimeter eval trajectories ../shared/bench/trajectories_dev.jsonl --manifest auto
  perimeter eval trajectories runs.jsonl --manifest perimeter.yaml --agent banking --json out.json

--manifest auto gives each record's agent exactly the tools in its "agent_tools" (args: any) and
the default policy. An attack run counts as stopped when a step at or before its first attack
call is blocked or sent to review; a legit run is clean when no step is.
"""


def register(sub: Any, eval_sub: Any) -> None:
    p = eval_sub.add_parser(
        "trajectories", help="replay recorded agent runs through the guard",
        description="Replay agent trajectories (JSONL) through the guard and score them.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE.jsonl")
    p.add_argument("--manifest", "-m", default="auto",
                   help="a manifest file, or 'auto' (default): the record's agent_tools, default policy")
    p.add_argument("--agent", "-a", default=None,
                   help="agent of the manifest to replay as (default: the only agent, or the suite)")
    p.add_argument("--json", dest="json_out", metavar="OUT", help="write the scores as JSON")
    p.add_argument("--final-answer", choices=["skip", "check"], default="skip",
                   help="final_answer steps: skip them (default) or check them as output events")
    p.add_argument("--oracle-scope", action="store_true",
                   help="bind each run to the tools of the record's own legitimate calls (a perfect "
                        "per-task tool filter, for comparison; uses the labels)")
    p.add_argument("--screens", default=None, metavar="NAMES",
                   help="comma-separated screens to run (default: all built-in), e.g. policy,taint")
    p.add_argument("--limit", type=int, default=None, help="replay only the first N records")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the overall table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import GuardrailError
    from ..evals.common import read_jsonl, write_json
    from ..evals.trajectories import AUTO_AGENT, auto_manifest, evaluate, guard_factory, task_scope
    from ..manifest import Manifest

    records = read_jsonl(args.file)
    if args.limit is not None:
        records = records[: max(args.limit, 0)]
    if not records:
        raise GuardrailError(f"{args.file}: no records")
    if args.manifest == "auto":
        cache: dict[tuple[str, ...], Manifest] = {}

        def manifest_for(rec: Mapping[str, Any]) -> Manifest:
            tools = tuple(sorted(str(t) for t in rec.get("agent_tools", [])))
            m = cache.get(tools)
            if m is None:
                m = cache[tools] = auto_manifest(tools)
            return m

        agent = AUTO_AGENT
    else:
        manifest = Manifest.from_yaml(args.manifest)
        agent = args.agent or (manifest.agent_names[0] if len(manifest.agent_names) == 1 else "")
        suites = {str(r.get("suite")) for r in records}
        if not agent:
            if len(suites) == 1 and next(iter(suites)) in manifest.agent_names:
                agent = next(iter(suites))
            else:
                raise GuardrailError(
                    f"{args.manifest} has {len(manifest.agent_names)} agents; pick one with --agent")
        if manifest.agent(agent) is None:
            raise GuardrailError(f"{args.manifest} has no agent {agent!r}")

        def manifest_for(rec: Mapping[str, Any]) -> Manifest:
            return manifest

    def scope(rec: Mapping[str, Any]) -> Mapping[str, Any] | None:
        return {"scope": task_scope(rec)} if args.oracle_scope else None

    names = None
    if args.screens:
        from ..screens import SCREENS, load_builtin

        load_builtin()
        names = [n.strip() for n in args.screens.split(",") if n.strip()]
        unknown = sorted(set(names) - set(SCREENS.names()))
        if unknown:
            raise GuardrailError(f"unknown screen(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(SCREENS.names())}")
    report = evaluate(records, guard_factory(manifest_for, screens=names), agent=agent, progress=True,
                      input_metadata=scope, final_answer=args.final_answer == "check")
    if args.quiet:
        text = report.tables().split("\n\n## by suite")[0]
    else:
        text = report.tables()
    print(text)
    o = report.overall
    print(f"\nattack runs stopped: {_pct(o['attack_stopped'])} of {o['n_attack']}; "
          f"legit runs clean: {_pct(o['legit_clean'])} of {o['n_legit']}", file=sys.stderr)
    if args.json_out:
        write_json(args.json_out, report.to_dict())
    return 0


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100.0 * x:.1f}%"
