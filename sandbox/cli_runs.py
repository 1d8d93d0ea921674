"""`run` steps: a `pushpilot` command line run in this process against the sandbox, as a person at a
terminal would against the stack, with the stack's table and notice queue and the sandbox's endpoints."""

from __future__ import annotations

import contextlib
import io
import os
import shlex
from typing import Final

from pushpilot_sandbox.environment import Sandbox

# The function whose settings name the stack's table and notice queue.
_STACK_SETTINGS_FROM: Final = "ImagePushFunction"
_LAMBDA_ONLY: Final = ("AWS_LAMBDA_", "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_EXECUTION_ENV")


def check_command(command: str) -> None:
    """Refuse a command line the CLI would refuse, before the sandbox starts."""
    from pushpilot_cli.main import build_parser
    from pushpilot_sandbox.steps import StepError

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise StepError(f"run: {command!r} is not a command line: {exc}") from exc
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv)
    except SystemExit as exc:
        if exc.code not in {0, None}:
            last = (errors.getvalue().strip().splitlines() or ["the CLI refuses it"])[-1]
            raise StepError(f"run: pushpilot {command}: {last}") from exc


def run_command(sandbox: Sandbox, command: str) -> tuple[int, str]:
    """Exit code and everything the command printed (stdout, then stderr)."""
    from pushpilot_cli.main import main
    from pushpilot_sandbox.product_clients import follow_endpoints
    from pushpilot_sandbox.router import _PROCESS_LOCK

    router = sandbox.router
    environment = {
        key: value
        for key, value in router.environment_for(router.function(_STACK_SETTINGS_FROM)).items()
        if not key.startswith(_LAMBDA_ONLY)
    }
    out, err = io.StringIO(), io.StringIO()
    with _PROCESS_LOCK:
        saved = {key: os.environ.get(key) for key in environment}
        os.environ.update(environment)
        follow_endpoints()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(shlex.split(command))
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 2
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return code, out.getvalue() + err.getvalue()
