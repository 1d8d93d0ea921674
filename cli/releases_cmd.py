"""`pushpilot releases [SERVICE] [--json]`: what runs where. Per service: the target kind, the image it is
configured with, its release policy, the release running (digest, tag, since when, how its deployment
ended), the ones live before it, and what is deploying, queued or held. Read from the stack's table, one
Query per service; `--json` for scripts.

Exit codes: 0 listed, 2 error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from botocore.exceptions import BotoCoreError

from pushpilot.core.errors import PushpilotError
from pushpilot.flows.release_control import list_releases, render_releases
from pushpilot_cli.stack_ports import add_stack_arguments, stack_ports

EXIT_OK = 0
EXIT_ERROR = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "releases",
        help="what runs where: per service, the release running, those before it, what waits",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("service", metavar="SERVICE", nargs="?", help="one service (default: every one)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    # Read-only: it needs the table, not the notice queue.
    add_stack_arguments(parser, notices=False)
    parser.set_defaults(run=run_releases)


def run_releases(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        report = list_releases(stack_ports(args, notices=False), args.service)
    except (PushpilotError, BotoCoreError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    if args.json:
        print(json.dumps([entry.model_dump(mode="json") for entry in report], indent=2), file=out)
    else:
        print(render_releases(report), file=out)
    return EXIT_OK
