"""`pushpilot`: the command line. Each command group lives in its own module and registers itself."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pushpilot.targets.registry import TARGETS
from pushpilot_cli import (
    approve_cmd,
    dns_cmd,
    hook_cmd,
    image_cmd,
    promote_cmd,
    release_cmd,
    releases_cmd,
    replay_cmd,
    rollback_cmd,
    simulate_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    labels = [target.label for target in TARGETS]
    parser = argparse.ArgumentParser(
        prog="pushpilot",
        description=(
            "An ECR image push becomes a verified, tracked, announced release on "
            + ", ".join(labels[:-1])
            + f" and {labels[-1]}."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        simulate_cmd,
        image_cmd,
        dns_cmd,
        replay_cmd,
        rollback_cmd,
        release_cmd,
        releases_cmd,
        approve_cmd,
        hook_cmd,
        promote_cmd,
    ):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse reports a subcommand's unknown flag with the top-level usage, which lists only the
        # commands: the command's own usage says which flags it takes.
        _chosen(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    code: int = args.run(args)
    return code


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)command parser the arguments selected, deepest first."""
    for action in parser._actions:  # argparse offers no public way to walk its subparsers
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if isinstance(chosen, argparse.ArgumentParser):
                return _chosen(chosen, args)
    return parser


if __name__ == "__main__":
    sys.exit(main())
