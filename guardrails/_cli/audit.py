"""``perimeter audit verify FILE``: check a hash-chained decision log."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..errors import GuardrailError

__all__ = ["register"]


def _verify(args: argparse.Namespace) -> int:
    from ..audit import verify

    key = None
    if args.key_env:
        key = os.environ.get(args.key_env)
        if not key:
            raise GuardrailError(f"environment variable {args.key_env} is not set")
    rep = verify(args.file, key=key)
    if rep.ok:
        print(f"ok {args.file}: {rep.records} record(s), chain intact")
        return 0
    print(f"BROKEN {args.file}:{rep.first_bad_line}: {rep.problem} "
          f"({rep.records} record(s) before it verify)", file=sys.stderr)
    return 1


def register(sub: Any, eval_sub: Any) -> None:
    p = sub.add_parser("audit", help="work with the hash-chained decision log",
                       description="Verify a decision log written by Guard(audit=AuditLog(path)).")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    v = asub.add_parser("verify", help="check that no record was removed, reordered or edited")
    v.add_argument("file")
    v.add_argument("--key-env", metavar="VAR", help="environment variable holding the HMAC key")
    v.set_defaults(func=_verify)
