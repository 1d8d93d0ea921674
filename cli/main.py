"""`pushpilot`: the command line. Each command group lives in its own module and registers itself."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pushpilot_cli import (
    dns_cmd,
    image_cmd,
    release_cmd,
    releases_cmd,
    replay_cmd,
    rollback_cmd,
    simulate_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pushpilot",
        description="An ECR image push becomes a verified, tracked, announced App Runner release.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (simulate_cmd, image_cmd, dns_cmd, replay_cmd, rollback_cmd, release_cmd, releases_cmd):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
