"""`pushpilot promote SERVICE [--now]`: promote to SERVICE the release its upstream
(`pushpilot:promote-from`) runs live, by hand.

Without `--now` the bake still counts: a release that has baked long enough is promoted at once, one
still baking is left to bake and the time left is printed. `--now` promotes without waiting out the bake,
and the release's thread says so. The deployment takes the normal path (the platform gate for SERVICE,
one deployment however often the command is repeated); a held service is told and left alone.

Exit codes: 0 promoted (or told why not), 2 error.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from botocore.exceptions import BotoCoreError

from pushpilot.core.errors import PushpilotError
from pushpilot.flows.promote import promote_by_hand
from pushpilot_cli.stack_ports import add_stack_arguments, stack_ports

EXIT_OK = 0
EXIT_ERROR = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "promote",
        help="promote to a service the release its upstream runs live",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("service", metavar="SERVICE", help="the promoted-to service's name (or ARN)")
    parser.add_argument("--now", action="store_true", help="do not wait out the bake (told as such)")
    add_stack_arguments(parser)
    parser.set_defaults(run=run_promote)


def run_promote(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        answer = promote_by_hand(stack_ports(args), args.service, now_=args.now)
    except (PushpilotError, BotoCoreError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    print(answer, file=out)
    return EXIT_OK
