"""``perimeter redact`` and ``perimeter eval pii`` / ``perimeter eval secrets``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import GuardrailError

__all__ = ["register", "run_eval_pii", "run_eval_secrets", "run_redact"]

_ENTITIES_HELP = ("comma-separated entity types (Presidio names plus SECRET); "
                  "default: EMAIL_ADDRESS,PHONE_NUMBER,CREDIT_CARD,US_SSN,IBAN_CODE,IP_ADDRESS,SECRET")
_DEFAULT = "EMAIL_ADDRESS,PHONE_NUMBER,CREDIT_CARD,US_SSN,IBAN_CODE,IP_ADDRESS,SECRET"


def register(sub: Any, eval_sub: Any) -> None:
    p = sub.add_parser(
        "redact", help="redact PII and secrets from text, a file or stdin",
        description="Redact PII and secrets (Presidio recognizers behind a fast path, offline).",
        epilog="examples:\n  perimeter redact 'mail bob@example.com, card 4111 1111 1111 1111'\n"
               "  perimeter redact -f notes.txt --operator mask\n  cat log.txt | perimeter redact - --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", nargs="?", help="text to redact ('-' reads stdin)")
    p.add_argument("-f", "--file", help="read the text from FILE (undecodable bytes become U+FFFD)")
    p.add_argument("--entities", default=_DEFAULT, help=_ENTITIES_HELP)
    p.add_argument("--operator", choices=["replace", "mask", "hash", "pseudonym"], default="replace")
    p.add_argument("--threshold", type=float, default=0.5, help="minimum score (default 0.5)")
    p.add_argument("--ner", action="store_true", help="also use a spaCy NER model (must be installed)")
    p.add_argument("--json", action="store_true", help="print the redacted text and the findings as JSON")
    p.set_defaults(func=run_redact)

    for name, helptext, fn in (
        ("pii", "per-entity precision/recall on span-labelled JSONL", run_eval_pii),
        ("secrets", "secret recall and false-positive rate on labelled JSONL", run_eval_secrets),
    ):
        e = eval_sub.add_parser(name, help=helptext, description=helptext)
        e.add_argument("file", metavar="FILE.jsonl")
        e.add_argument("--json", metavar="OUT", help="write {'overall', 'by_entity'} to OUT")
        e.add_argument("--entities", default=None, help=_ENTITIES_HELP)
        e.add_argument("--threshold", type=float, default=0.5)
        e.add_argument("--no-progress", action="store_true")
        e.set_defaults(func=fn)


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    return v


def _entities(arg: str | None, default: str) -> tuple[str, ...]:
    ents = tuple(e.strip().upper() for e in (arg or default).split(",") if e.strip())
    if not ents:
        raise GuardrailError("--entities is empty")
    return ents


def _read_input(args: argparse.Namespace) -> str:
    if args.file is not None and args.text is not None:
        raise GuardrailError("give TEXT or -f FILE, not both")
    if args.file is not None:
        with open(args.file, "rb") as fh:
            return fh.read().decode("utf-8", errors="replace")
    if args.text is None or args.text == "-":
        return sys.stdin.buffer.read().decode("utf-8", errors="replace")
    return str(args.text).encode("utf-8", "replace").decode("utf-8", "replace")


def run_redact(args: argparse.Namespace) -> int:
    from ..redact.redactor import Redactor, category_of_item_name

    text = _read_input(args)
    r = Redactor(_entities(args.entities, _DEFAULT), operator=args.operator,
                 score_threshold=args.threshold, ner=args.ner)
    res = r.redact(text, scope="cli")
    if args.json:
        out = {"text": res.text, "findings": [
            {"category": category_of_item_name(i.entity, i.subtype), "entity": i.entity,
             "subtype": i.subtype, "span": [i.start, i.end], "score": round(i.score, 4),
             "replacement": i.replacement} for i in res.items]}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(res.text if res.text.endswith("\n") else res.text + "\n")
    return 0


def run_eval_pii(args: argparse.Namespace) -> int:
    from ..evals.common import format_table, read_jsonl, write_json
    from ..evals.pii import TARGET_ENTITIES, evaluate_pii
    from ..redact.redactor import Redactor

    records = read_jsonl(args.file)
    ents = _entities(args.entities, ",".join(TARGET_ENTITIES))
    rep = evaluate_pii(records, redactor=Redactor(ents, score_threshold=args.threshold),
                       progress=not args.no_progress)
    rows = [[e, r["gold"], r["predicted"], r["precision"], r["recall"], r["f1"]]
            for e, r in rep.by_entity.items() if r["detected"]]
    o = rep.overall
    rows.append(["**overall**", o["gold"], o["predicted"], o["precision"], o["recall"], o["f1"]])
    print(format_table(["entity", "gold", "predicted", "precision", "recall", "f1"], rows))
    skipped = sorted(e for e, r in rep.by_entity.items() if not r["detected"])
    if skipped:
        print(f"not detected (need NER or not requested): {', '.join(skipped)}")
    print(f"latency per record: p50 {o['latency_p50_us']:.0f} us, p99 {o['latency_p99_us']:.0f} us")
    if args.json:
        write_json(args.json, _json_safe(rep.to_dict()))
    return 0


def run_eval_secrets(args: argparse.Namespace) -> int:
    from ..evals.common import format_table, read_jsonl, write_json
    from ..evals.secrets import evaluate_secrets
    from ..redact.redactor import Redactor

    records = read_jsonl(args.file)
    ents = _entities(args.entities, "SECRET")
    rep = evaluate_secrets(records, redactor=Redactor(ents, score_threshold=args.threshold),
                           progress=not args.no_progress)
    rows = [[k, r["secret"], r["no_secret"], r["recall"], r["fpr"]] for k, r in rep["by_entity"].items()]
    o = rep["overall"]
    rows.append(["**overall**", o["secret"], o["no_secret"], o["recall"], o["fpr"]])
    print(format_table(["plugin", "secret", "no_secret", "recall", "fpr"], rows))
    print(f"latency per record: p50 {o['latency_p50_us']:.0f} us, p99 {o['latency_p99_us']:.0f} us")
    if args.json:
        write_json(args.json, _json_safe(rep))
    return 0
