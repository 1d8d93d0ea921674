"""One function per scenario action: do what a person or AWS would do, then let the sandbox settle."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pushpilot.images_ref import ecr_registry_host
from pushpilot_sandbox.environment import Sandbox
from pushpilot_sandbox.oci import load_oci_layout, synthesize_image
from pushpilot_sandbox.timeline import Timeline

if TYPE_CHECKING:
    from pushpilot_sandbox.scenario import Setup


class StepError(Exception):
    """A step's arguments are wrong or its action failed: the message says which."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _args[ArgsT: _Args](model: type[ArgsT], raw: Any, action: str) -> ArgsT:
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        raise StepError(f"{action}: {exc}") from exc


def registry_host(sandbox: Sandbox, account: str | None = None) -> str:
    return ecr_registry_host(account or sandbox.config.account_id, sandbox.config.region)


def image_identifier(sandbox: Sandbox, image: str, account: str | None = None) -> str:
    """`web:latest` means this account's ECR; anything with a registry host is taken as written."""
    first, separator, _ = image.partition("/")
    if separator and ("." in first or ":" in first):
        return image
    return f"{registry_host(sandbox, account)}/{image}"


# --- setup -----------------------------------------------------------------------------------------


def apply_setup(sandbox: Sandbox, setup: Setup, timeline: Timeline) -> None:
    for repository in setup.repositories:
        name = repository if isinstance(repository, str) else repository.name
        sandbox.ecr.create_repository(name)
    route53 = sandbox.route53()
    for zone in setup.hosted_zones:
        zone_id = route53.create_hosted_zone(Name=zone.name, CallerReference=str(uuid.uuid4()))["HostedZone"][
            "Id"
        ]
        changes: list[Any] = [
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": record.name,
                    "Type": record.type,
                    "TTL": record.ttl,
                    "ResourceRecords": [{"Value": value} for value in record.values],
                },
            }
            for record in zone.records
        ]
        if changes:
            route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
        timeline.say(f"  ⌂ hosted zone {zone.name} with {len(zone.records)} record(s)")
    client = sandbox.apprunner_client()
    for service in setup.services:
        identifier = image_identifier(sandbox, service.image, service.account)
        client.create_service(
            ServiceName=service.name,
            SourceConfiguration={
                "ImageRepository": {
                    "ImageIdentifier": identifier,
                    "ImageRepositoryType": "ECR_PUBLIC"
                    if identifier.startswith("public.ecr.aws/")
                    else "ECR",
                    "ImageConfiguration": {"Port": "8080"},
                },
                "AutoDeploymentsEnabled": service.auto_deploy,
                "AuthenticationConfiguration": {
                    "AccessRoleArn": f"arn:aws:iam::{sandbox.config.account_id}:role/AppRunnerECRAccess"
                },
            },
        )
        mode = "automatic" if service.auto_deploy else "manual"
        timeline.say(f"  ⌂ App Runner service {service.name} runs {identifier} ({mode} deployment)")
    timeline.skip_user_calls()
    sandbox.settle()
    timeline.record()


# --- steps -----------------------------------------------------------------------------------------


class PushArgs(_Args):
    repository: str
    tag: str | None = "latest"
    platforms: list[str] | None = None
    attestation: bool = False
    layout: str | None = None
    account: str | None = None
    seed: str | None = None


_push_counter = 0


def push(sandbox: Sandbox, raw: Any, base_dir: Path, timeline: Timeline) -> None:
    global _push_counter  # noqa: PLW0603 - distinct images per push within one process
    args = _args(PushArgs, raw, "push")
    if (args.platforms is None) == (args.layout is None):
        raise StepError("push: give exactly one of `platforms` or `layout`")
    if args.layout is not None:
        image = load_oci_layout(base_dir / args.layout)
        source = f"layout {args.layout}"
    else:
        _push_counter += 1
        image = synthesize_image(
            args.platforms or [], attestation=args.attestation, seed=args.seed or f"push-{_push_counter}"
        )
        source = ", ".join(args.platforms or []) + (" + attestation" if args.attestation else "")
    result = sandbox.ecr.push(args.repository, args.tag, image)
    timeline.say(f"  ⇪ pushed {args.repository}:{args.tag} ({source}) → {result.digest[:19]}…")
    if args.tag:
        _auto_deploy(sandbox, registry_host(sandbox, args.account), args.repository, args.tag, timeline)
    sandbox.settle()
    timeline.record()


def _auto_deploy(sandbox: Sandbox, registry: str, repository: str, tag: str, timeline: Timeline) -> None:
    """What App Runner does on its own for services with automatic deployment on: not a handler call."""
    from pushpilot.images_ref import ImageRef

    pushed = ImageRef(registry=registry, repository=repository, tag=tag).key
    client = sandbox.apprunner_client()
    for summary in client.list_services(MaxResults=20).get("ServiceSummaryList", []):
        service = sandbox.apprunner.service(summary["ServiceArn"])
        if not service.auto_deployments_enabled or ImageRef.parse(service.image_identifier).key != pushed:
            continue
        if service.operation_in_progress is None:
            client.start_deployment(ServiceArn=service.arn)
            timeline.say(f"  ⟳ App Runner starts its own deployment of {service.name} (automatic deployment)")
    timeline.skip_user_calls()


def event(sandbox: Sandbox, raw: Any, base_dir: Path, timeline: Timeline) -> None:
    path = base_dir / str(raw)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StepError(f"event: cannot read {path}: {exc}") from exc
    timeline.say(f"  ⇢ event {document.get('detail-type', '?')} from {path.name}")
    sandbox.bus.append(document)
    sandbox.settle()
    timeline.record()


class CompleteArgs(_Args):
    service: str
    outcome: Literal["succeeded", "failed", "rolled_back"]


def complete_operation(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    args = _args(CompleteArgs, raw, "complete_operation")
    operation = sandbox.apprunner.complete_operation(args.service, args.outcome)
    timeline.say(f"  ◼ App Runner ends {operation.type} on {args.service}: {operation.status}")
    sandbox.settle()
    timeline.record()


class DomainArgs(_Args):
    service: str
    domain: str
    www: bool = True


def associate_domain(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    args = _args(DomainArgs, raw, "associate_domain")
    client = sandbox.apprunner_client()
    arn = sandbox.apprunner.service(args.service).arn
    response = client.associate_custom_domain(
        ServiceArn=arn, DomainName=args.domain, EnableWWWSubdomain=args.www
    )
    records = response["CustomDomain"].get("CertificateValidationRecords", [])
    timeline.say(
        f"  ⚭ {args.domain}{' (+www)' if args.www else ''} linked to {args.service}: "
        f"{len(records)} validation record(s) to create, target {response['DNSTarget']}"
    )
    timeline.skip_user_calls()
    sandbox.settle()
    timeline.record()


def _scheduled(schedule: str) -> Callable[[Sandbox, Any, Path, Timeline], None]:
    def run(sandbox: Sandbox, _raw: Any, _base_dir: Path, timeline: Timeline) -> None:
        timeline.say(f"  ⏲ scheduled {schedule}")
        sandbox.router.invoke_schedule("ReconcileFunction", schedule)
        sandbox.settle()
        timeline.record()

    return run


class BuildArgs(_Args):
    project: str
    status: Literal["IN_PROGRESS", "SUCCEEDED", "FAILED", "STOPPED"]
    failed_phase: str | None = None
    log: list[str] = Field(default_factory=list)
    source_version: str | None = None
    image_uri: str | None = None
    image_digest: str | None = None
    push: str | None = Field(
        default=None, description="repository:tag whose last pushed digest the build exported"
    )


def build(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    from pushpilot_sandbox.codebuild import emit_build

    args = _args(BuildArgs, raw, "build")
    emit_build(sandbox, args)
    timeline.say(
        f"  ⚒ CodeBuild {args.project}: {args.status}"
        + (f" in {args.failed_phase}" if args.failed_phase else "")
    )
    sandbox.settle()
    timeline.record()


class SlackArgs(_Args):
    fail_next: int | None = None
    times: int = 1
    retry_after: int | None = None
    fail_always: int | None = None
    recover: bool = False


def slack(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    args = _args(SlackArgs, raw, "slack")
    if args.recover:
        sandbox.slack.recover()
        timeline.say("  ⚑ Slack answers normally again")
    if args.fail_always is not None:
        sandbox.slack.fail_always(args.fail_always)
        timeline.say(f"  ⚑ Slack answers {args.fail_always} to everything")
    if args.fail_next is not None:
        sandbox.slack.fail_next(args.fail_next, times=args.times, retry_after=args.retry_after)
        timeline.say(f"  ⚑ Slack answers {args.fail_next} to the next {args.times} request(s)")


class FaultArgs(_Args):
    service: str
    operation: str
    code: str
    times: int = 1
    status: int = 400


def fault(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    args = _args(FaultArgs, raw, "fault")
    if args.service == "apprunner":
        sandbox.apprunner.inject_fault(args.operation, args.code, times=args.times, status=args.status)
    else:
        sandbox.gateway.inject_fault(
            args.service, args.operation, code=args.code, status=args.status, times=args.times
        )
    timeline.say(f"  ⚑ {args.service}.{args.operation} will answer {args.code} {args.times}x")


ACTIONS: dict[str, Callable[[Sandbox, Any, Path, Timeline], None]] = {
    "push": push,
    "event": event,
    "complete_operation": complete_operation,
    "associate_domain": associate_domain,
    "reconcile_dns": _scheduled("DnsReconcile"),
    "refresh": _scheduled("Refresh"),
    "build": build,
    "slack": slack,
    "fault": fault,
}
