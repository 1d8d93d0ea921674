"""Scenario steps for release stages: a CloudWatch alarm's state (what a promotion bakes against), and a
deployment someone else makes (`terraform apply`), with ECS's events.

    - alarm: {name: storefront-5xx, state: ALARM}         # or OK; the alarm is created on first use
    - external_deploy: {service: storefront, image: "web:v0.9"}
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from pushpilot_sandbox.steps import StepError, _Args, _args, image_identifier

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

    from pushpilot_sandbox.environment import Sandbox
    from pushpilot_sandbox.scenario import Setup
    from pushpilot_sandbox.timeline import Timeline


class AlarmArgs(_Args):
    name: str = Field(min_length=1, max_length=255)
    state: Literal["ALARM", "OK", "INSUFFICIENT_DATA"]


def alarm(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    """Set a CloudWatch alarm's state, as its metric crossing the threshold (or coming back) would."""
    args = _args(AlarmArgs, raw)
    cloudwatch: CloudWatchClient = sandbox.direct_client("cloudwatch")
    if not cloudwatch.describe_alarms(AlarmNames=[args.name]).get("MetricAlarms"):
        # A load balancer's 5xx alarm, as a team would define it; only its state matters here.
        cloudwatch.put_metric_alarm(
            AlarmName=args.name,
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=5,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
        )
    cloudwatch.set_alarm_state(
        AlarmName=args.name, StateValue=args.state, StateReason=f"the scenario set it to {args.state}"
    )
    timeline.say(f"  ⚠ CloudWatch alarm {args.name} → {args.state}")
    timeline.record()


class ExternalDeployArgs(_Args):
    service: str = Field(min_length=1)
    image: str = Field(min_length=1)


def external_deploy(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    """Someone else deploys `image` to an ECS service (`terraform apply`, the console): a new revision of
    the service's task definition family with the image, then UpdateService. ECS's events follow; the
    deployment completes with the next `complete_deployment`."""
    args = _args(ExternalDeployArgs, raw)
    try:
        service = sandbox.ecs.service(args.service)
    except LookupError as exc:  # the emulator's unknown-service error
        raise StepError(f"external_deploy: no ECS service {args.service!r}") from exc
    ecs = sandbox.ecs_client()
    current = ecs.describe_task_definition(taskDefinition=service.task_definition)["taskDefinition"]
    image = image_identifier(sandbox, args.image)
    containers: list[Any] = [dict(container) for container in current["containerDefinitions"]]
    containers[0]["image"] = image
    # Everything the revision needs again, as an apply would send it (the read-only fields left out).
    wanted = (
        "taskRoleArn",
        "executionRoleArn",
        "networkMode",
        "requiresCompatibilities",
        "cpu",
        "memory",
        "runtimePlatform",
    )
    kept: dict[str, Any] = {key: value for key, value in current.items() if key in wanted}
    registered = ecs.register_task_definition(
        family=current["family"], containerDefinitions=containers, **kept
    )["taskDefinition"]
    ecs.update_service(
        cluster=service.cluster_arn, service=service.name, taskDefinition=registered["taskDefinitionArn"]
    )
    # These calls are the other tool's, not pushpilot's: the report's `calls` lists the handlers' only.
    timeline.skip_user_calls()
    revision = f"{registered['family']}:{registered['revision']}"
    timeline.say(
        f"  ⚒ outside pushpilot: {args.service} updated to task definition {revision} ({args.image})"
    )
    sandbox.settle()
    timeline.record()


def check_stage_step(action: str, raw: Any, setup: Setup) -> None:
    if action == "alarm":
        _args(AlarmArgs, raw)
        return
    args = _args(ExternalDeployArgs, raw)
    if args.service not in {spec.name for spec in setup.ecs_services}:
        raise StepError(f"service {args.service!r} is not in setup.ecs_services")
