"""`pushpilot release SERVICE`: lift the hold a rollback (or a person) put on SERVICE, so pushes its
release policy selects deploy again. A `pushpilot:hold` tag on the service still holds it: remove the tag.

Exit codes: 0 released, 2 error.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from botocore.exceptions import BotoCoreError

from pushpilot.core.errors import PushpilotError
from pushpilot.flows.release_control import release_hold
from pushpilot_cli.stack_ports import add_stack_arguments, stack_ports

EXIT_OK = 0
EXIT_ERROR = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "release",
        help="let pushes deploy to a held service again",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("service", metavar="SERVICE", help="the service's name (or ARN)")
    add_stack_arguments(parser)
    parser.set_defaults(run=run_release)


def run_release(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        print(release_hold(stack_ports(args), args.service), file=out)
    except (PushpilotError, BotoCoreError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    return EXIT_OK
