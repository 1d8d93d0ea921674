"""The `operation` step: App Runner runs a pause, resume or configuration update (not a deployment),
reports it in ListOperations and DescribeService, and emits its events as App Runner does (camelCase)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pushpilot_cli.main import main
from pushpilot_sandbox.apprunner import EmulatorError
from pushpilot_sandbox.steps import StepError
from tests.e2e.sandbox_support import story
from tests.sandbox.apprunner_support import Running, Sandbox, create_service, fresh, running_emulator

pytestmark = pytest.mark.sandbox

OPERATION = "AppRunner Service Operation Status Change"
STATUS = "AppRunner Service Status Change"


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with running_emulator() as started:
        yield started


@pytest.fixture
def emulator(running: Running) -> Sandbox:
    return fresh(running)


def _told(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each event as (kind, what it says): the operation's status, or previous→current service status."""
    told: list[tuple[str, str]] = []
    for event in events:
        detail = event["detail"]
        if event["detail-type"] == OPERATION:
            told.append(("operation", detail["operationStatus"]))
        else:
            told.append(("status", f"{detail['previousServiceStatus']}→{detail['currentServiceStatus']}"))
    return told


def _operations(emulator: Sandbox, arn: str) -> list[tuple[str, str]]:
    summaries = emulator.client.list_operations(ServiceArn=arn)["OperationSummaryList"]
    return [(summary["Type"], summary["Status"]) for summary in summaries]


def _status(emulator: Sandbox, arn: str) -> str:
    return str(emulator.client.describe_service(ServiceArn=arn)["Service"]["Status"])


def test_a_pause_moves_through_operation_in_progress_to_paused(emulator: Sandbox) -> None:
    arn = str(create_service(emulator.client, "orders-api")["ServiceArn"])
    emulator.events.clear()

    started = emulator.emulator.start_operation("orders-api", "PAUSE_SERVICE")
    assert (started.type, started.status) == ("PAUSE_SERVICE", "IN_PROGRESS")
    assert _status(emulator, arn) == "OPERATION_IN_PROGRESS"
    assert _operations(emulator, arn)[0] == ("PAUSE_SERVICE", "IN_PROGRESS")

    emulator.emulator.complete_operation("orders-api", "succeeded")

    assert _status(emulator, arn) == "PAUSED"
    assert _operations(emulator, arn) == [("PAUSE_SERVICE", "SUCCEEDED"), ("CREATE_SERVICE", "SUCCEEDED")]
    assert _told(emulator.events) == [
        ("status", "RUNNING→OPERATION_IN_PROGRESS"),
        ("operation", "PauseServiceCompletedSuccessfully"),
        ("status", "OPERATION_IN_PROGRESS→PAUSED"),
    ]
    # Real App Runner events: camelCase detail naming the service, on the service's ARN.
    for event in emulator.events:
        assert event["source"] == "aws.apprunner"
        assert event["resources"] == [arn]
        assert event["detail"]["serviceName"] == "orders-api"
    # Not a client call: the handlers' record of App Runner calls does not show it.
    assert not [call for call in emulator.emulator.calls if call.operation == "PauseService"]


@pytest.mark.parametrize(
    ("operation_type", "outcome", "told"),
    [
        ("PAUSE_SERVICE", "failed", ("PauseServiceFailed", "RUNNING", "FAILED")),
        ("UPDATE_SERVICE", "succeeded", ("UpdateServiceCompletedSuccessfully", "RUNNING", "SUCCEEDED")),
        ("UPDATE_SERVICE", "failed", ("UpdateServiceFailed", "RUNNING", "FAILED")),
    ],
)
def test_a_running_service_operation_ends_as_told(
    emulator: Sandbox, operation_type: Any, outcome: Any, told: tuple[str, str, str]
) -> None:
    """`told`: the event's operationStatus, the service status after, the operation's status after."""
    operation_status, final_status, operation_record = told
    arn = str(create_service(emulator.client, "orders-api")["ServiceArn"])
    emulator.events.clear()

    emulator.emulator.start_operation("orders-api", operation_type)
    emulator.emulator.complete_operation("orders-api", outcome)

    assert _status(emulator, arn) == final_status
    assert _operations(emulator, arn)[0] == (operation_type, operation_record)
    assert _told(emulator.events) == [
        ("status", "RUNNING→OPERATION_IN_PROGRESS"),
        ("operation", operation_status),
        ("status", f"OPERATION_IN_PROGRESS→{final_status}"),
    ]


@pytest.mark.parametrize(
    ("outcome", "operation_status", "final_status"),
    [
        ("succeeded", "ResumeServiceCompletedSuccessfully", "RUNNING"),
        ("failed", "ResumeServiceFailed", "PAUSED"),
    ],
)
def test_a_resume_brings_a_paused_service_back_or_leaves_it_paused(
    emulator: Sandbox, outcome: Any, operation_status: str, final_status: str
) -> None:
    arn = str(create_service(emulator.client, "orders-api")["ServiceArn"])
    emulator.emulator.start_operation("orders-api", "PAUSE_SERVICE")
    emulator.emulator.complete_operation("orders-api", "succeeded")
    emulator.events.clear()

    emulator.emulator.start_operation("orders-api", "RESUME_SERVICE")
    emulator.emulator.complete_operation("orders-api", outcome)

    assert _status(emulator, arn) == final_status
    assert [kind for kind, _ in _operations(emulator, arn)] == [
        "RESUME_SERVICE",
        "PAUSE_SERVICE",
        "CREATE_SERVICE",
    ]
    assert _told(emulator.events) == [
        ("status", "PAUSED→OPERATION_IN_PROGRESS"),
        ("operation", operation_status),
        ("status", f"OPERATION_IN_PROGRESS→{final_status}"),
    ]


def test_an_operation_app_runner_would_refuse_is_refused(emulator: Sandbox) -> None:
    create_service(emulator.client, "orders-api")
    with pytest.raises(EmulatorError, match=r"ResumeService is not allowed .* in state RUNNING"):
        emulator.emulator.start_operation("orders-api", "RESUME_SERVICE")
    emulator.emulator.start_operation("orders-api", "UPDATE_SERVICE")
    with pytest.raises(EmulatorError, match=r"PauseService is not allowed .* OPERATION_IN_PROGRESS"):
        emulator.emulator.start_operation("orders-api", "PAUSE_SERVICE")


# --- through the scenario step ---------------------------------------------------------------------

ONE_AUTO = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest", "auto_deploy": True}],
}


def test_the_operation_step_runs_and_ends_the_operation_and_delivers_its_events(tmp_path: Path) -> None:
    with story(ONE_AUTO, tmp_path) as run:
        delivered_before = len(run.sandbox.router.deliveries)

        run.step("operation", {"service": "storefront", "type": "pause", "outcome": "succeeded"})

        service = run.sandbox.apprunner.service("storefront")
        assert service.status == "PAUSED"
        assert [(op.type, op.status) for op in service.operations] == [
            ("CREATE_SERVICE", "SUCCEEDED"),
            ("PAUSE_SERVICE", "SUCCEEDED"),
        ]
        # The three events went through the stack's rules to the handlers.
        assert len(run.sandbox.router.deliveries) > delivered_before
        assert not run.sandbox.bus
        assert any("PAUSE_SERVICE" in line for line in run.lines)


def test_an_operation_left_open_ends_with_complete_operation(tmp_path: Path) -> None:
    with story(ONE_AUTO, tmp_path) as run:
        run.step("operation", {"service": "storefront", "type": "update"})
        assert run.sandbox.apprunner.service("storefront").status == "OPERATION_IN_PROGRESS"

        # A push meanwhile: App Runner does not start its own deployment on a busy service.
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})
        assert not [line for line in run.lines if "starts its own deployment" in line]

        run.step("complete_operation", {"service": "storefront", "outcome": "failed"})
        service = run.sandbox.apprunner.service("storefront")
        assert service.status == "RUNNING"
        assert service.operations[-1].type == "UPDATE_SERVICE"
        assert service.operations[-1].status == "FAILED"


def test_a_refused_operation_step_names_its_field(tmp_path: Path) -> None:
    with (
        story(ONE_AUTO, tmp_path) as run,
        pytest.raises(StepError, match=r"^type: ResumeService is not allowed"),
    ):
        run.step("operation", {"service": "storefront", "type": "resume", "outcome": "succeeded"})


def _simulate(tmp_path: Path, steps: list[Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "story.yaml"
    path.write_text(yaml.safe_dump({"setup": ONE_AUTO, "steps": steps}), encoding="utf-8")
    code = main(["simulate", str(path)])
    return code, capsys.readouterr().err


def test_simulate_ends_a_step_app_runner_refuses_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _simulate(tmp_path, [{"operation": {"service": "storefront", "type": "resume"}}], capsys)

    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith(
        "error: step 1 (operation): type: ResumeService is not allowed for service storefront"
    )


def test_simulate_ends_a_complete_operation_with_nothing_in_progress_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _simulate(
        tmp_path, [{"complete_operation": {"service": "storefront", "outcome": "succeeded"}}], capsys
    )

    assert code == 2
    assert err == "error: step 1 (complete_operation): service storefront has no operation in progress\n"


def test_a_paused_auto_deploy_service_does_not_deploy_a_push_by_itself(tmp_path: Path) -> None:
    with story(ONE_AUTO, tmp_path) as run:
        run.step("operation", {"service": "storefront", "type": "pause", "outcome": "succeeded"})

        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})

        assert not [line for line in run.lines if "starts its own deployment" in line]
        assert run.sandbox.apprunner.service("storefront").status == "PAUSED"


def test_simulate_ends_a_call_app_runner_refuses_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    domain = {"associate_domain": {"service": "storefront", "domain": "shop.example.com"}}

    code, err = _simulate(tmp_path, [domain, domain], capsys)

    assert code == 2
    assert err == (
        "error: step 2 (associate_domain): InvalidRequestException: "
        "Domain shop.example.com is already associated with service storefront\n"
    )
