"""`pushpilot continue|abort SERVICE`: answer an ECS deployment of SERVICE paused at a PAUSE lifecycle
hook (BLUE_GREEN, LINEAR, CANARY) from a terminal: `continue` resumes it, `abort` rolls it back, with
ContinueServiceDeployment. Authorised by IAM and recorded with the caller's identity (STS
GetCallerIdentity), like a Continue / Roll back click; the first answer decides, once.

Exit codes: 0 done, 1 refused (already decided, timed out), 2 error.
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
        ("continue", "resume an ECS deployment paused at a PAUSE lifecycle hook"),
        ("abort", "roll back an ECS deployment paused at a PAUSE lifecycle hook"),
    ):
        parser = subparsers.add_parser(
            verb, help=help_text, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        parser.add_argument("service", metavar="SERVICE", help="the ECS service's name (or ARN)")
        add_stack_arguments(parser)
        parser.set_defaults(run=run_hook, verb=verb)


def run_hook(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from pushpilot.adapters.caller import caller_arn
    from pushpilot.flows.approve import cast_vote
    from pushpilot.flows.hooks import find_pause, resume_hook
    from pushpilot.targets.ecs.hook_control import EcsHookControl

    out, err = out or sys.stdout, err or sys.stderr
    choice: Literal["approve", "reject"] = "approve" if args.verb == "continue" else "reject"
    try:
        ports = stack_ports(args)
        pause = find_pause(ports, args.service)
        caller = caller_arn()
        result = cast_vote(ports, pause, voter=caller, choice=choice, via="cli", name=caller)
        print(f"{pause.service_name}: {result.text} (as {caller})", file=out)
        if result.dispatch is not None:
            done = resume_hook(ports, result.dispatch, EcsHookControl())
            print(f"{pause.service_name}: ContinueServiceDeployment {done.get('action')}", file=out)
    except (PushpilotError, BotoCoreError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    return EXIT_OK if result.dispatch is not None else EXIT_REFUSED
