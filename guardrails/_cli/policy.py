"""``perimeter policy aws MANIFEST --agent A``: print the session policy derived for an agent."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register", "run_aws"]


def register(sub: Any, eval_sub: Any) -> None:
    p = sub.add_parser(
        "policy", help="print cloud policies derived from a manifest (see 'policy aws -h')",
        description="Print cloud policies derived from a role manifest.",
    )
    psub = p.add_subparsers(dest="policy_command", metavar="CLOUD", parser_class=type(p))
    p.set_defaults(func=lambda a: (p.print_help(), 1)[1])
    aws = psub.add_parser(
        "aws", help="the inline STS session policy an agent's runs get",
        description="Print the inline session policy that AssumeRole receives for each run of the "
                    "agent: the IAM actions mapped to the tools the agent may use, on the resources "
                    "listed (* when none). Exit 1 if the agent has no credentials.aws or the policy "
                    "cannot be expressed within AWS's 2,048-character limit.",
        epilog="example:\n  perimeter policy aws examples/perimeter.yaml --agent support",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    aws.add_argument("manifest", metavar="MANIFEST")
    aws.add_argument("--agent", "-a", required=True)
    aws.add_argument("--compact", action="store_true", help="print the exact compact JSON sent to STS")
    aws.set_defaults(func=run_aws)


def run_aws(args: argparse.Namespace) -> int:
    from ..identity import MAX_SESSION_POLICY_CHARS, aws_credentials_for, session_policy
    from ..manifest import Manifest

    manifest = Manifest.from_yaml(args.manifest)
    doc = session_policy(manifest, args.agent)
    aws = aws_credentials_for(manifest, args.agent)
    policy = manifest.agent(args.agent)
    assert policy is not None  # session_policy raised otherwise
    ignored = sorted(set(aws.actions) - set(policy.tools))
    compact = json.dumps(doc, separators=(",", ":"))
    if args.compact:
        print(compact)
    else:
        print(json.dumps(doc, indent=2))
    print(f"# role {aws.role_arn}, duration {aws.duration}s, policy {len(compact)}/"
          f"{MAX_SESSION_POLICY_CHARS} characters", file=sys.stderr)
    if ignored:
        print(f"# ignored (not tools of {args.agent!r}): {', '.join(ignored)}", file=sys.stderr)
    if doc["Statement"][0].get("Effect") == "Deny":
        print("# no tool maps to an IAM action: the session can do nothing", file=sys.stderr)
    return 0
