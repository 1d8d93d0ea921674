"""`pushpilot simulate SCENARIO.yaml`: tell a story in the offline sandbox."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate", help="run a scenario in the offline sandbox", description=__doc__
    )
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument(
        "--html",
        type=Path,
        help="write one self-contained page here: each release's Slack thread beside its SNS mail",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # The sandbox (moto, emulators) is a development dependency: import it only for this command.
    from pushpilot_sandbox.scenario import ScenarioError, run_scenario
    from pushpilot_sandbox.steps import StepError

    # Outside Lambda, Powertools' idempotency cannot know the remaining invocation time; that is
    # expected in the sandbox and not worth a warning on every event.
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
    try:
        report = run_scenario(args.scenario, out=sys.stdout, report_path=args.report)
    except (ScenarioError, StepError) as exc:
        # One line naming the step and the field (see ScenarioError): no traceback for a scenario mistake.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.html is not None:
        from pushpilot_sandbox.demo_page import write_demo_page

        gaps = write_demo_page(report, args.html)
        if gaps:
            print(
                f"pushpilot simulate: the page could not draw {', '.join(sorted(set(gaps)))}", file=sys.stderr
            )
            return 1
    refused = report.get("refused_events", [])
    summary = (
        f"\n■ {len(report['calls'])} AWS write(s), {len(report['notifications'])} notification(s),"
        f" {len(report['errors'])} error(s), {len(report['dead_letters'])} dead letter(s)"
        + (f", {len(refused)} refused event(s)" if refused else "")
    )
    print(
        summary
        + (f" — report: {args.report}" if args.report else "")
        + (f" — page: {args.html}" if args.html else "")
    )
    return 0
