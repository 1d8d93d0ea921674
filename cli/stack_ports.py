"""The stack a release command acts on: its table and notice queue, named by flags or by the variables
the stack's functions read (TABLE_NAME, NOTICE_QUEUE_URL). The AWS endpoint, region and credentials come
from the standard AWS settings, as for every other command."""

from __future__ import annotations

import argparse
import dataclasses
import os

from pushpilot.core.errors import PermanentError
from pushpilot.core.notices import Notice
from pushpilot.entry.settings import CoreSettings
from pushpilot.entry.wiring import deploy_ports
from pushpilot.flows.deploy_ports import DeployPorts

# Each setting a command may need: its flag, its variable, and the stack output that holds its value.
_SETTINGS = {
    "table": ("--table", "TABLE_NAME", "TableName"),
    "notice_queue_url": ("--notice-queue-url", "NOTICE_QUEUE_URL", "NoticeQueueUrl"),
}
# A read-only command tells nobody anything; the queue's URL is required by the settings model only.
_NO_QUEUE = "read-only: this command sends no notice"


class StackNotNamedError(PermanentError):
    """A command does not know which stack to act on: the message names the flag and the variable."""


class ReadOnlyNotices:
    """The notice sink of a read-only command: publishing is a bug, said as such, never a silent drop."""

    def publish(self, notice: Notice) -> None:
        raise PermanentError(f"a read-only command tried to send a notice ({notice.kind})")


def add_stack_arguments(parser: argparse.ArgumentParser, *, notices: bool = True) -> None:
    parser.add_argument(
        "--table", help="the stack's table (output TableName); default: the TABLE_NAME variable"
    )
    if notices:
        parser.add_argument(
            "--notice-queue-url",
            help="the stack's notice queue (output NoticeQueueUrl); default: the NOTICE_QUEUE_URL variable",
        )


def stack_ports(args: argparse.Namespace, *, notices: bool = True) -> DeployPorts:
    """The command's ports; raises StackNotNamedError, in one line, when a setting it needs is missing."""
    environment = dict(os.environ)
    needed = ("table", "notice_queue_url") if notices else ("table",)
    for name in needed:
        if getattr(args, name, None):
            environment[_SETTINGS[name][1]] = getattr(args, name)
    missing = [_SETTINGS[name] for name in needed if not environment.get(_SETTINGS[name][1])]
    if missing:
        flags = " and ".join(f"{flag} (the stack's {output} output)" for flag, _, output in missing)
        variables = " and ".join(variable for _, variable, _ in missing)
        raise StackNotNamedError(f"which stack? pass {flags}, or set {variables}")
    if not notices:
        environment["NOTICE_QUEUE_URL"] = _NO_QUEUE
        return dataclasses.replace(
            deploy_ports(CoreSettings.from_env(environment)), notices=ReadOnlyNotices()
        )
    return deploy_ports(CoreSettings.from_env(environment))
