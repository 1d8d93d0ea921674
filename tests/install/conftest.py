"""One install for the whole check: moto on 127.0.0.1 (a free port) for the session, the SAM build
packaged into its S3, expanded, and both stacks created in its CloudFormation. Sockets are allowed
here (loopback only): the SAM CLI and the functions reach moto over HTTP."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.install import pipeline, promises
from tests.install.checks import parse_overrides
from tests.install.created import Created, download_artifacts, read_created

SAMPLE_BUS = "arn:aws:events:us-east-1:222222222222:event-bus/default"


@dataclass(frozen=True)
class Install:
    work: Path
    expanded_path: Path
    forwarder_path: Path
    main: pipeline.Stack
    forwarder: pipeline.Stack
    traced: dict[str, Any]  # the main template expanded with XRayTracing=Active
    created: Created
    artifacts: dict[str, Path]
    moto_url: str
    # What each custom resource's function returned when the stack asked it, then the stack's status.
    custom_answers: dict[str, Any]
    status_after_answers: str


def deploy_settings(environment: str) -> dict[str, Any]:
    """One samconfig.toml environment's `deploy` settings, as `sam deploy --config-env` reads them."""
    import tomllib

    config = tomllib.loads((pipeline.ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    settings: dict[str, Any] = config[environment]["deploy"]["parameters"]
    return settings


def default_parameters() -> dict[str, str]:
    return parse_overrides(deploy_settings("default")["parameter_overrides"])


@pytest.fixture(autouse=True)
def _offline_aws_credentials() -> None:
    """Overrides the shared fixture: the session's endpoint settings stay as `local_aws` set them."""


@pytest.fixture(scope="session")
def install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    work = tmp_path_factory.mktemp("install")
    with warnings.catch_warnings():
        # moto warns for each resource type it does not create; the checks cover those statically.
        warnings.simplefilter("ignore", UserWarning)
        with pipeline.local_aws() as moto:
            packaged = pipeline.package(
                pipeline.BUILD_DIR / "template.yaml",
                work,
                moto.url,
                s3_prefix=deploy_settings("default")["s3_prefix"],
            )
            expanded_path = work / "template.expanded.json"
            forwarder_path = work / "forwarder.expanded.json"
            parameters = {**default_parameters(), "SlackSigningSecretId": promises.SIGNING_SECRET_ID}
            expanded = pipeline.expand(packaged, expanded_path, moto.url, parameters)
            traced = pipeline.expand(
                packaged, work / "traced.json", moto.url, {**parameters, "XRayTracing": "Active"}
            )
            forwarder_expanded = pipeline.expand(
                pipeline.ROOT / "forwarder" / "template.yaml", forwarder_path, moto.url, {}
            )
            main = pipeline.create_stack("pushpilot", expanded, parameters)
            forwarder = pipeline.create_stack(
                "pushpilot-forwarder", forwarder_expanded, {"ServiceEventBusArn": SAMPLE_BUS}
            )
            created = read_created(main)
            artifacts = download_artifacts(main, work / "artifacts")
            answers = _answer_custom_resources(main, created, artifacts, work, moto.url)
            yield Install(
                work=work,
                expanded_path=expanded_path,
                forwarder_path=forwarder_path,
                main=main,
                forwarder=forwarder,
                traced=traced,
                created=created,
                artifacts=artifacts,
                moto_url=moto.url,
                custom_answers=answers,
                status_after_answers=pipeline.stack_status(main.name),
            )


def _answer_custom_resources(
    stack: pipeline.Stack, created: Created, artifacts: dict[str, Path], work: Path, endpoint: str
) -> dict[str, Any]:
    """moto cannot run the function behind a custom resource (it would need Docker): run it as the
    other handlers are run, with the request CloudFormation sends; its answer completes the stack."""
    import json

    from tests.install import checks

    layer = next(path for key, path in artifacts.items() if key.startswith("PushpilotLayer"))
    answers: dict[str, Any] = {}
    for logical_id, function_id in pipeline.custom_resources(stack.expanded).items():
        request = work / f"{logical_id}.request.json"
        request.write_text(
            json.dumps(pipeline.custom_resource_request(stack, logical_id, endpoint)), encoding="utf-8"
        )
        function = created.functions[function_id]
        answers[logical_id] = checks.invoke(
            function_id,
            artifacts[function_id],
            layer / "python",
            function.environment,
            request,
            handler=function.handler,
        )
    return answers
