"""What the command line says to someone who has never used it: the description, usage and the one-line
errors for a missing stack setting, an unknown flag and an image name ECR would refuse."""

from __future__ import annotations

import argparse

import pytest

from pushpilot.targets.apprunner.services import AppRunnerTarget
from pushpilot.targets.ecs.services import EcsTarget
from pushpilot.targets.ecs_express.services import EcsExpressTarget
from pushpilot.targets.lambda_fn.services import LambdaTarget
from pushpilot.targets.registry import TARGETS
from pushpilot_cli.main import build_parser, main
from pushpilot_cli.stack_ports import ReadOnlyNotices, StackNotNamedError, stack_ports

pytestmark = pytest.mark.unit

STACK_VARIABLES = ("TABLE_NAME", "NOTICE_QUEUE_URL")


@pytest.fixture
def no_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in STACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # Clients are built (never called) once the stack is named: with a region, botocore asks no one.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def subcommand(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen: argparse.ArgumentParser = action.choices[name]
            return chosen
    raise AssertionError(name)


def test_help_names_every_deploy_target() -> None:
    labels = {
        target.declaration.label for target in (AppRunnerTarget, EcsTarget, EcsExpressTarget, LambdaTarget)
    }
    assert {target.label for target in TARGETS} == labels
    text = " ".join(build_parser().format_help().split())
    assert all(label in text for label in labels), text
    assert "App Runner release" not in text


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["rollback", "web"],
            (
                "error: which stack? pass --table (the stack's TableName output) and --notice-queue-url"
                " (the stack's NoticeQueueUrl output), or set TABLE_NAME and NOTICE_QUEUE_URL"
            ),
        ),
        (
            ["release", "web", "--table", "pushpilot-Table"],
            (
                "error: which stack? pass --notice-queue-url (the stack's NoticeQueueUrl output),"
                " or set NOTICE_QUEUE_URL"
            ),
        ),
        (
            ["releases"],
            "error: which stack? pass --table (the stack's TableName output), or set TABLE_NAME",
        ),
    ],
)
@pytest.mark.usefixtures("no_stack")
def test_a_missing_stack_setting_is_one_line_naming_the_flag_and_variable(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [expected]
    assert "CoreSettings" not in err


@pytest.mark.usefixtures("no_stack")
def test_releases_is_read_only_and_needs_no_notice_queue() -> None:
    parser = subcommand("releases")
    assert "--notice-queue-url" not in parser.format_help()
    ports = stack_ports(parser.parse_args(["--table", "pushpilot-Table"]), notices=False)
    assert isinstance(ports.notices, ReadOnlyNotices)
    with pytest.raises(StackNotNamedError):
        stack_ports(parser.parse_args([]), notices=False)


def test_rollback_usage_lists_tags() -> None:
    usage = subcommand("rollback").format_usage()
    assert "--to RELEASE|DIGEST|TAG" in usage


@pytest.mark.parametrize(
    ("argv", "usage", "extra"),
    [
        (["rollback", "web", "--bogus"], "usage: pushpilot rollback [-h]", "--bogus"),
        (
            ["releases", "web", "--notice-queue-url", "https://sqs.example"],
            "usage: pushpilot releases [-h]",
            "--notice-queue-url https://sqs.example",
        ),
        (["image", "check", "web:v1", "--bogus"], "usage: pushpilot image check [-h]", "--bogus"),
    ],
)
def test_an_unknown_flag_prints_the_subcommands_usage(
    argv: list[str], usage: str, extra: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage), err
    assert err.rstrip().endswith(f"error: unrecognized arguments: {extra}"), err


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("Web:Latest", "invalid repository name 'Web'"),
        ("web:-latest", "invalid tag '-latest'"),
        ("web@sha256:", "invalid digest 'sha256:'"),
        ("team//web", "invalid repository name 'team//web'"),
    ],
)
def test_an_invalid_image_name_is_refused_before_any_aws_call(
    reference: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # No socket is open in unit tests: reaching ECR would fail differently.
    with pytest.raises(SystemExit) as exited:
        main(["image", "check", reference])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: pushpilot image check")
    assert message in err
