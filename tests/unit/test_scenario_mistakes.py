"""A scenario file with a mistake ends before anything runs: one line naming the step and the field, exit 2.

These run `pushpilot simulate` itself: every mistake is found while the file is read, so no sandbox
starts (unit tests cannot open sockets; a check that came too late would fail here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pushpilot_cli.main import main
from pushpilot_sandbox.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

SETUP: dict[str, Any] = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest"}],
}
PUSH = {"push": {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]}}
ECR_PUSH_EVENT = {
    "version": "0",
    "id": "8c5f2bfa-4b8e-4a35-9a0c-3f1c7d0e2a11",
    "detail-type": "ECR Image Action",
    "source": "aws.ecr",
    "account": "123456789012",
    "time": "2026-11-26T01:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "result": "SUCCESS",
        "repository-name": "web",
        "image-digest": "sha256:" + "a" * 64,
        "action-type": "PUSH",
        "image-tag": "latest",
    },
}


def _simulate(
    tmp_path: Path, steps: list[Any], capsys: pytest.CaptureFixture[str], setup: dict[str, Any] | None = None
) -> tuple[int, str]:
    path = tmp_path / "story.yaml"
    path.write_text(yaml.safe_dump({"setup": setup or SETUP, "steps": steps}), encoding="utf-8")
    code = main(["simulate", str(path)])
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran: not even the scenario's first line was told
    return code, captured.err


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_push_to_a_repository_the_setup_does_not_create(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [PUSH, PUSH, {"push": {"repository": "nope", "platforms": ["linux/amd64"]}}]

    code, err = _simulate(tmp_path, steps, capsys)

    assert code == 2
    assert _one_error_line(err) == "error: step 3 (push): repository 'nope' is not in setup.repositories"


def test_an_event_file_holding_a_json_array(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "events.json").write_text(json.dumps([ECR_PUSH_EVENT, ECR_PUSH_EVENT]), encoding="utf-8")

    code, err = _simulate(tmp_path, [PUSH, {"event": "events.json"}], capsys)

    assert code == 2
    line = _one_error_line(err)
    assert line.startswith("error: step 2 (event): events.json holds a JSON array of 2;")
    assert "one event object" in line


def test_an_event_file_that_is_not_an_eventbridge_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "detail.json").write_text(json.dumps(ECR_PUSH_EVENT["detail"]), encoding="utf-8")

    code, err = _simulate(tmp_path, [{"event": "detail.json"}], capsys)

    assert code == 2
    assert _one_error_line(err) == (
        "error: step 1 (event): detail.json is not an EventBridge event: no source, detail-type, detail"
    )


def test_a_missing_event_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _simulate(tmp_path, [{"event": "nowhere.json"}], capsys)

    assert code == 2
    assert _one_error_line(err).startswith("error: step 1 (event): cannot read nowhere.json:")


@pytest.mark.parametrize("name", ["web", "a", "-storefront", "store front"])
def test_a_service_name_app_runner_refuses(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = {"repositories": ["web"], "services": [{"name": name, "image": "web:latest"}]}

    code, err = _simulate(tmp_path, [PUSH], capsys, setup=setup)

    assert code == 2
    line = _one_error_line(err)
    assert line.startswith(f"error: setup.services[0].name: App Runner service name {name!r}")


def test_a_three_character_service_name_names_app_runners_minimum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = {"repositories": ["web"], "services": [{"name": "api", "image": "web:latest"}]}

    code, err = _simulate(tmp_path, [PUSH], capsys, setup=setup)

    assert code == 2
    assert "has 3 characters; App Runner needs 4 to 40" in _one_error_line(err)


def test_an_unknown_key_names_the_step_and_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [PUSH, {"complete_operation": {"service": "storefront", "outcome": "succeeded", "colour": "red"}}]

    code, err = _simulate(tmp_path, steps, capsys)

    assert code == 2
    assert _one_error_line(err) == "error: step 2 (complete_operation): colour: unknown field"


def test_a_wrong_value_names_the_step_the_field_and_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [{"operation": {"service": "storefront", "type": "restart", "outcome": "succeeded"}}]

    code, err = _simulate(tmp_path, steps, capsys)

    assert code == 2
    line = _one_error_line(err)
    assert line.startswith("error: step 1 (operation): type: Input should be 'pause', 'resume' or 'update'")
    assert line.endswith("(got 'restart')")


def test_a_step_naming_a_service_the_setup_does_not_create(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _simulate(tmp_path, [{"operation": {"service": "checkout", "type": "pause"}}], capsys)

    assert code == 2
    assert _one_error_line(err) == "error: step 1 (operation): service 'checkout' is not in setup.services"


def test_an_unknown_setup_key_names_its_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup = {**SETUP, "services": [{"name": "storefront", "image": "web:latest", "autodeploy": True}]}

    code, err = _simulate(tmp_path, [PUSH], capsys, setup=setup)

    assert code == 2
    assert _one_error_line(err) == "error: setup.services[0].autodeploy: unknown field"


def test_an_unsupported_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _simulate(tmp_path, [PUSH, {"deploy": {"service": "storefront"}}], capsys)

    assert code == 2
    assert _one_error_line(err).startswith(
        "error: step 2 (deploy): 'deploy' is not supported yet (supported:"
    )


def test_a_step_with_two_actions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _simulate(tmp_path, [{**PUSH, "refresh": {}}], capsys)

    assert code == 2
    assert _one_error_line(err) == "error: step 1 must have exactly one action, found ['push', 'refresh']"


def test_a_push_with_neither_platforms_nor_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _simulate(tmp_path, [{"push": {"repository": "web"}}], capsys)

    assert code == 2
    assert _one_error_line(err) == (
        "error: step 1 (push): platforms, layout: give exactly one of `platforms` or `layout`"
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"service": "apprunner", "operation": "StartDeployment", "kind": "timeout", "code": "Throttling"},
            "code, status: a timeout never answers; give them only with kind: error",
        ),
        (
            {"service": "apprunner", "operation": "StartDeployment"},
            "code: an error fault needs the error code to answer",
        ),
        (
            {"service": "apprunner", "operation": "LaunchRocket", "code": "ThrottlingException"},
            "operation: App Runner has no operation 'LaunchRocket'",
        ),
        (
            {"service": "dynamodb", "operation": "PutThing", "code": "ThrottlingException"},
            "operation: dynamodb has no operation 'PutThing'",
        ),
        (
            {"service": "sns", "operation": "Publish", "code": "Throttling", "after": -1},
            "after: Input should be greater than or equal to 0 (got -1)",
        ),
        (
            {"service": "slack", "kind": "error"},
            "code, status: a Slack error fault needs a code, a status or both",
        ),
    ],
)
def test_a_fault_that_cannot_apply(
    fault: dict[str, Any], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _simulate(tmp_path, [{"fault": fault}], capsys)

    assert code == 2
    assert _one_error_line(err) == f"error: step 1 (fault): {message}"


def test_a_file_that_is_not_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("setup:\n  repositories: [web\nsteps: []\n", encoding="utf-8")

    code = main(["simulate", str(path)])

    assert code == 2
    assert _one_error_line(capsys.readouterr().err).startswith(f"error: scenario {path} is not YAML:")


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda path: path.stem)
def test_every_shipped_scenario_passes_the_checks(path: Path) -> None:
    """The checks extend the format, never break it: every scenario shipped still reads."""
    assert load_scenario(path).steps


def test_an_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")

    code = main(["simulate", str(path)])

    assert code == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f"error: scenario {path} must be a mapping with `steps` (and `setup`, `name`, `region`)"
    )


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            {"tag": {"service": "nope", "tags": {"pushpilot:hold": "incident 42"}}},
            (
                "error: step 1 (tag): service 'nope' is not in setup.services, setup.ecs_services,"
                " setup.express_services or setup.lambda_functions"
            ),
        ),
        ({"tag": {"service": "storefront", "tags": {}}}, "error: step 1 (tag): tags: "),
        ({"untag": {"service": "storefront", "keys": []}}, "error: step 1 (untag): keys: "),
        ({"untag": {"service": "storefront", "key": "x"}}, "error: step 1 (untag): "),
    ],
)
def test_a_tag_step_that_cannot_apply(
    step: dict[str, Any], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _simulate(tmp_path, [step], capsys)

    assert code == 2
    assert _one_error_line(err).startswith(message)
