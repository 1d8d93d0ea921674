"""One function per scenario action: do what a person or AWS would do, then let the sandbox settle."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pushpilot.core.image_ref import ECR_PUBLIC_HOST, ecr_registry_host
from pushpilot_sandbox.ecr import pull_policy
from pushpilot_sandbox.environment import Sandbox
from pushpilot_sandbox.oci import ImageSet, load_oci_layout, synthesize_image
from pushpilot_sandbox.timeline import Timeline

if TYPE_CHECKING:
    from pushpilot_sandbox.scenario import RepositorySpec, Setup


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


def repository_account(sandbox: Sandbox, repository: str, account: str | None = None) -> str:
    """The account a push to `repository` goes to: the one given, else the only one that has it."""
    if account:
        return account
    holders = sandbox.ecr.accounts_with(repository)
    if sandbox.config.account_id in holders or len(holders) != 1:
        return sandbox.config.account_id
    return holders[0]


# --- setup -----------------------------------------------------------------------------------------


def _create_repositories(sandbox: Sandbox, specs: list[RepositorySpec], timeline: Timeline) -> None:
    stack = sandbox.config.account_id
    forwarded: dict[str, bool] = {}
    for spec in specs:
        account = spec.account or stack
        sandbox.ecr.create_repository(spec.name, account=account)
        if account == stack:
            continue
        if spec.pull_policy:
            role = sandbox.function_role_arn("ImagePushFunction")
            sandbox.ecr.set_repository_policy(spec.name, pull_policy(role), account=account)
            grant = f"repository policy lets {role.rsplit('/', 1)[-1]} pull"
        else:
            grant = "no repository policy"
        timeline.say(f"  ⌂ ECR repository {spec.name} in account {account} ({grant})")
        forwarded[account] = forwarded.get(account, False) or spec.forwarder
    for account, install in forwarded.items():
        if install:
            sandbox.install_forwarder(account)
            timeline.say(f"  ⌂ forwarder stack in {account} sends its ECR pushes to {stack}'s bus")
        else:
            timeline.say(f"  ⌂ no forwarder in {account}: its pushes stay on its own bus")


def _image(
    platforms: list[str] | None, layout: str | None, seed: str, base_dir: Path, action: str
) -> ImageSet:
    if (platforms is None) == (layout is None):
        raise StepError(f"{action}: give exactly one of `platforms` or `layout`")
    if layout is not None:
        return load_oci_layout(base_dir / layout)
    return synthesize_image(platforms or [], seed=seed)


def apply_setup(sandbox: Sandbox, setup: Setup, timeline: Timeline, base_dir: Path | None = None) -> None:
    _create_repositories(sandbox, setup.repository_specs, timeline)
    for public in setup.public_images:
        image = _image(
            public.platforms,
            public.layout,
            public.seed or _next_seed("public"),
            base_dir or Path(),
            "public_images",
        )
        digest = sandbox.public_registry.publish(public.repository, public.tag, image)
        timeline.say(f"  ⌂ public image {ECR_PUBLIC_HOST}/{public.repository}:{public.tag} → {digest[:19]}…")
    declared_accounts = {spec.name: spec.account for spec in setup.repository_specs if spec.account}
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
        if service.account and service.account != sandbox.config.account_id:
            raise StepError(
                f"service {service.name} names account {service.account}, but the stack runs in "
                f"{sandbox.config.account_id}: services run where pushpilot runs"
            )
        repository = service.image.partition(":")[0].partition("@")[0]
        identifier = image_identifier(sandbox, service.image, declared_accounts.get(repository))
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


def _next_seed(kind: str) -> str:
    global _push_counter  # noqa: PLW0603 - distinct images per push within one process
    _push_counter += 1
    return f"{kind}-{_push_counter}"


def push(sandbox: Sandbox, raw: Any, base_dir: Path, timeline: Timeline) -> None:
    args = _args(PushArgs, raw, "push")
    if (args.platforms is None) == (args.layout is None):
        raise StepError("push: give exactly one of `platforms` or `layout`")
    if args.layout is not None:
        image = load_oci_layout(base_dir / args.layout)
        source = f"layout {args.layout}"
    else:
        image = synthesize_image(
            args.platforms or [], attestation=args.attestation, seed=args.seed or _next_seed("push")
        )
        source = ", ".join(args.platforms or []) + (" + attestation" if args.attestation else "")
    account = repository_account(sandbox, args.repository, args.account)
    result = sandbox.ecr.push(args.repository, args.tag, image, account=account)
    where = "" if account == sandbox.config.account_id else f" in account {account}"
    timeline.say(f"  ⇪ pushed {args.repository}:{args.tag}{where} ({source}) → {result.digest[:19]}…")
    if args.tag:
        _auto_deploy(sandbox, registry_host(sandbox, account), args.repository, args.tag, timeline)
    sandbox.settle()
    timeline.record()


class PublicPushArgs(_Args):
    repository: str
    tag: str = "latest"
    platforms: list[str] | None = None
    layout: str | None = None
    seed: str | None = None


def public_push(sandbox: Sandbox, raw: Any, base_dir: Path, timeline: Timeline) -> None:
    """A new image under a public tag. ECR Public tells no other account: no event, only the next check."""
    args = _args(PublicPushArgs, raw, "public_push")
    image = _image(args.platforms, args.layout, args.seed or _next_seed("public"), base_dir, "public_push")
    digest = sandbox.public_registry.publish(args.repository, args.tag, image)
    source = f"layout {args.layout}" if args.layout else ", ".join(args.platforms or [])
    timeline.say(
        f"  ⇪ published {ECR_PUBLIC_HOST}/{args.repository}:{args.tag} ({source}) → {digest[:19]}… "
        "(no event: ECR Public sends none to other accounts)"
    )
    sandbox.settle()
    timeline.record()


def _auto_deploy(sandbox: Sandbox, registry: str, repository: str, tag: str, timeline: Timeline) -> None:
    """What App Runner does on its own for services with automatic deployment on: not a handler call."""
    from pushpilot.core.image_ref import ImageRef

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


class BuildEnvironmentVariable(_Args):
    """One of the build's environment variables, as CodeBuild lists it in its events: for PARAMETER_STORE
    and SECRETS_MANAGER the value is the parameter's or secret's name."""

    name: str
    type: Literal["PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"] = "PLAINTEXT"
    value: str


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
    environment_variables: list[BuildEnvironmentVariable] = Field(
        default_factory=list, description="The build's environment variables, carried by its event"
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
    "public_push": public_push,
    "check_public_images": _scheduled("PublicImageCheck"),
    "build": build,
    "slack": slack,
    "fault": fault,
}
