"""The ``perimeter`` command.

Core commands (validate, check, schema) live here; feature commands are modules in
``guardrails/_cli/`` that define ``register(sub, eval_sub)`` and are discovered at start-up.
Every error is printed as one clear line (never a traceback) and mapped to an exit code:
0 ok / allow, 1 invalid input or manifest, 2 review, 3 block.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from .errors import ConfigError, GuardrailError
from .verdict import Action

__all__ = ["EXIT_FOR_ACTION", "build_parser", "main"]

EXIT_FOR_ACTION = {Action.ALLOW: 0, Action.REDACT: 0, Action.REVIEW: 2, Action.BLOCK: 3}

_EPILOG = """\
examples:
  perimeter validate perimeter.yaml
  perimeter check --manifest perimeter.yaml --agent support --tool send_email \\
      --args '{"to": "bob@example.com", "body": "hi"}'
  perimeter schema > perimeter.schema.json
  perimeter scan "Ignore all previous instructions"
  perimeter eval texts ../shared/bench/texts_dev.jsonl

exit codes: 0 allow (or ok), 1 bad input or invalid manifest, 2 review, 3 block
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 1 (argparse's default is 2 = review)
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def _cmd_validate(args: argparse.Namespace) -> int:
    from .manifest import Manifest

    bad = 0
    for path in args.manifests:
        try:
            m = Manifest.from_yaml(path)
        except ConfigError as exc:
            bad += 1
            print(f"INVALID {exc}", file=sys.stderr)
            continue
        n_tools = sum(len(a.tools) for a in m.agents.values())
        print(f"ok {path}: {len(m.agents)} agent(s), {n_tools} tool(s)")
    return 1 if bad else 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from .manifest import Manifest

    print(json.dumps(Manifest.json_schema(), indent=2, sort_keys=False))
    return 0


def _parse_json_arg(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise GuardrailError(f"{what} is not valid JSON: {exc.msg} at column {exc.colno}") from None


def _cmd_check(args: argparse.Namespace) -> int:
    from .events import Direction, Event
    from .guard import Guard

    guard = Guard.from_yaml(args.manifest)
    run_id = args.run_id
    events: list[Event] = []
    for text in args.input or ():
        events.append(Event.input(agent=args.agent, run_id=run_id, content=text))
    if args.tool is not None:
        raw = args.args if args.args is not None else "{}"
        if raw == "-":
            raw = sys.stdin.read()
        _parse_json_arg(raw, "--args")  # a clear error for text that is not JSON at all
        # the raw string goes to the guard, which parses it strictly (duplicate keys, NaN, ...)
        events.append(Event.tool_call(agent=args.agent, run_id=run_id, tool=args.tool, args=raw))
    if args.message is not None:
        if not args.peer:
            raise GuardrailError("--message needs --peer")
        events.append(Event.message(agent=args.agent, run_id=run_id, content=args.message,
                                    peer=args.peer, direction=Direction(args.direction)))
    if args.tool_result is not None:
        events.append(Event.tool_result(agent=args.agent, run_id=run_id,
                                        tool=args.result_tool or "tool", content=args.tool_result))
    if args.output is not None:
        events.append(Event.output(agent=args.agent, run_id=run_id, content=args.output))
    if not events:
        raise GuardrailError("nothing to check: give --tool, --input, --message, --tool-result or --output")
    verdicts = [guard.check(e) for e in events]
    worst = max(v.action for v in verdicts)
    out: dict[str, Any]
    if len(verdicts) == 1:
        out = verdicts[0].to_dict()
    else:
        out = {"action": worst.label,
               "steps": [{"kind": str(e.kind), **v.to_dict()} for e, v in zip(events, verdicts, strict=True)]}
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return EXIT_FOR_ACTION[worst]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="perimeter",
        description="Perimeter: guardrails that treat every AI agent as an identity.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"perimeter {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    v = sub.add_parser("validate", help="validate manifest files (exit 1 if any is invalid)",
                       description="Validate role manifests; errors name the file, line and key.")
    v.add_argument("manifests", nargs="+", metavar="MANIFEST")
    v.set_defaults(func=_cmd_validate)

    s = sub.add_parser("schema", help="print the manifest JSON Schema (for editor completion)")
    s.set_defaults(func=_cmd_schema)

    c = sub.add_parser(
        "check", help="check one step against a manifest and print the verdict as JSON",
        description="Check a planned tool call (or input / message / tool result / output) "
                    "against a manifest. Exit code: 0 allow, 2 review, 3 block, 1 bad input.",
        epilog="example:\n  perimeter check --manifest examples/perimeter.yaml --agent support "
               "--tool get_order --args '{\"order_id\": \"AB12345678\"}'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--manifest", "-m", required=True)
    c.add_argument("--agent", "-a", required=True)
    c.add_argument("--run-id", default="cli")
    c.add_argument("--tool", "-t", help="tool name of a planned call")
    c.add_argument("--args", help="tool arguments as a JSON object ('-' reads stdin)")
    c.add_argument("--input", action="append", help="user input text (repeatable; checked first)")
    c.add_argument("--message", help="an inter-agent message (with --peer)")
    c.add_argument("--peer", help="the other agent of --message")
    c.add_argument("--direction", choices=["receive", "send"], default="receive")
    c.add_argument("--tool-result", help="a tool's output text")
    c.add_argument("--result-tool", help="the tool that produced --tool-result")
    c.add_argument("--output", help="a final answer text")
    c.set_defaults(func=_cmd_check)

    ev = sub.add_parser("eval", help="measure the screens on labelled data (see 'eval -h')",
                        description="Evaluate on labelled JSONL files.")
    eval_sub = ev.add_subparsers(dest="eval_command", metavar="DATASET", parser_class=_Parser)
    def _eval_help(_: argparse.Namespace) -> int:
        ev.print_help()
        return 1

    ev.set_defaults(func=_eval_help)

    import guardrails._cli as plugins

    for info in sorted(pkgutil.iter_modules(plugins.__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"guardrails._cli.{info.name}")
        register = getattr(mod, "register", None)
        if register is not None:
            register(sub, eval_sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 1
    try:
        return int(func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (GuardrailError, OSError, ValueError) as exc:
        print(f"perimeter: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
