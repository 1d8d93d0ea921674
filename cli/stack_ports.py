"""The stack a release command acts on: its table and notice queue, named by flags or by the variables
the stack's functions read (TABLE_NAME, NOTICE_QUEUE_URL). The AWS endpoint, region and credentials come
from the standard AWS settings, as for every other command."""

from __future__ import annotations

import argparse
import os

from pushpilot.entry.settings import CoreSettings
from pushpilot.entry.wiring import deploy_ports
from pushpilot.flows.deploy_ports import DeployPorts


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table", help="the stack's table (output TableName); default: the TABLE_NAME variable"
    )
    parser.add_argument(
        "--notice-queue-url",
        help="the stack's notice queue (output NoticeQueueUrl); default: the NOTICE_QUEUE_URL variable",
    )


def stack_ports(args: argparse.Namespace) -> DeployPorts:
    environment = dict(os.environ)
    if args.table:
        environment["TABLE_NAME"] = args.table
    if args.notice_queue_url:
        environment["NOTICE_QUEUE_URL"] = args.notice_queue_url
    return deploy_ports(CoreSettings.from_env(environment))
