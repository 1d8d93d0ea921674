"""`pushpilot rollback SERVICE [--to RELEASE|DIGEST|TAG] [--dry-run]`: deploy the release that was live
on SERVICE before the one it runs now (or the one `--to` names), pinned to its digest.

`--to` takes a release id, digest or tag that was live on SERVICE (`pushpilot releases SERVICE` lists
them), or the digest (`sha256:…`) of an image in SERVICE's repository; either must pass SERVICE's
platform check. Anything else is an error before anything changes.

The rollback takes the normal path: the image is checked for the service's platform, deployed once
however often the command is repeated, and its outcome told in the release's thread, which names the
release it replaces. Once its deployment has started the service is held: pushes do not deploy to it
until `pushpilot release SERVICE`. A refused or failed rollback holds nothing and announces
nothing. `--dry-run` prints the plan and changes nothing.

Exit codes: 0 started (or planned), 1 refused (the image failed its check), 2 error.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from botocore.exceptions import BotoCoreError

from pushpilot.core.errors import PushpilotError
from pushpilot.flows.release_control import plan_rollback, rollback
from pushpilot_cli.stack_ports import add_stack_arguments, stack_ports

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_ERROR = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "rollback",
        help="deploy the release that was live on a service before, and hold it there",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("service", metavar="SERVICE", help="the service's name (or ARN)")
    parser.add_argument(
        "--to",
        metavar="RELEASE|DIGEST|TAG",
        help="a release id, digest or tag that was live on the service, or the digest of an image in its"
        " repository",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    add_stack_arguments(parser)
    parser.set_defaults(run=run_rollback)


def run_rollback(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        ports = stack_ports(args)
        plan = plan_rollback(ports, args.service, to=args.to)
        if args.dry_run:
            print(f"dry run: would {plan.render()}", file=out)
            return EXIT_OK
        print(plan.render(), file=out)
        result = rollback(ports, plan)
    except (PushpilotError, BotoCoreError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    if result.get("rollback") == "refused":
        print(f"refused: {result.get('reason')}", file=out)
        return EXIT_REFUSED
    print(f"{plan.service.name}: {result.get('rollback')} (release {result.get('release_id')})", file=out)
    return EXIT_OK
