"""`pushpilot replay --queue-url URL`: send dead-lettered events back to their functions after a fix.

Reads either dead-letter queue of the stack (outputs HandlerDeadLetterQueueUrl and
EventDeliveryDeadLetterQueueUrl), invokes each event's function asynchronously and deletes a message
only once Lambda accepted the event. `--dry-run` lists what would be replayed and leaves every message.

Exit codes: 0 every message read was replayed (or nothing to do), 1 some could not be replayed (they
stay in the queue), 2 error. The AWS endpoint, region and credentials come from the standard settings.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from botocore.exceptions import BotoCoreError

from pushpilot.adapters.dead_letters import SqsDeadLetterQueue, lambda_invoker
from pushpilot.core.errors import PushpilotError
from pushpilot.flows.replay import render_report, replay

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from pushpilot.ports import Invoke

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_ERROR = 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay", help="re-drive dead-lettered events to their functions after a fix", description=__doc__
    )
    parser.add_argument("--queue-url", required=True, help="the dead-letter queue to replay")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed; change nothing")
    parser.add_argument("--max", type=_positive, dest="max_messages", help="replay at most N messages")
    parser.set_defaults(run=run_replay)


def run_replay(
    args: argparse.Namespace,
    *,
    sqs: SQSClient | None = None,
    invoke: Invoke | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        report = replay(
            SqsDeadLetterQueue(args.queue_url, sqs),
            invoke or lambda_invoker(),
            dry_run=args.dry_run,
            max_messages=args.max_messages,
        )
    except (PushpilotError, BotoCoreError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    if not report.results:
        print(f"nothing to replay: {args.queue_url} is empty", file=out)
        return EXIT_OK
    print(render_report(report), file=out)
    return EXIT_OK if report.complete else EXIT_INCOMPLETE
