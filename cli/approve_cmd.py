"""`pushpilot approve|reject SERVICE [RELEASE]`: decide a release waiting for approval on SERVICE from a
terminal. The vote is authorised by IAM (whoever may write the stack's table) and recorded with the
caller's identity from STS GetCallerIdentity; it counts once per caller, like a Slack click. An approval
that completes the count deploys the release here, through the normal path (judged, once per service).

RELEASE is a release id, digest or tag; without it, the release waiting on SERVICE.

Exit codes: 0 counted (or decided), 1 refused (closed, expired, already counted), 2 error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Literal, TextIO

from botocore.exceptions import BotoCoreError

from pushpilot.core.errors import PushpilotError
from pushpilot_cli.stack_ports import add_stack_arguments, stack_ports

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_ERROR = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for verb, help_text in (
        ("approve", "approve a release waiting on a service (deploys it once enough approvals are in)"),
        ("reject", "reject a release waiting on a service (nothing is deployed)"),
    ):
        parser = subparsers.add_parser(
            verb, help=help_text, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        parser.add_argument("service", metavar="SERVICE", help="the service's name (or ARN)")
        parser.add_argument(
            "release",
            metavar="RELEASE",
            nargs="?",
            help="release id, digest or tag (default: the waiting one)",
        )
        add_stack_arguments(parser)
        parser.set_defaults(run=run_vote, choice=verb)


def run_vote(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from pushpilot.adapters.caller import caller_arn
    from pushpilot.flows.approve import cast_vote, deploy_approved, find_approval

    out, err = out or sys.stdout, err or sys.stderr
    choice: Literal["approve", "reject"] = "approve" if args.choice == "approve" else "reject"
    try:
        ports = stack_ports(args)
        approval = find_approval(ports, args.service, args.release)
        caller = caller_arn()
        result = cast_vote(ports, approval, voter=caller, choice=choice, via="cli", name=caller)
        print(f"{approval.service_name}: {result.text} (as {caller})", file=out)
        if result.dispatch is not None:
            deployed = deploy_approved(ports, result.dispatch)
            statuses = ", ".join(
                str(item.get("status")) for item in deployed.get("detail", {}).get("services", [])
            )
            print(
                f"{approval.service_name}: {approval.release_id} {statuses or deployed['status']}", file=out
            )
    except (PushpilotError, BotoCoreError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    return EXIT_OK if result.counted or result.dispatch is not None else EXIT_REFUSED
