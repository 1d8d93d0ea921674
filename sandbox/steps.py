"""One function per scenario action: do what a person or AWS would do, then let the sandbox settle."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pushpilot.core.image_ref import ECR_PUBLIC_HOST, ecr_registry_host
from pushpilot_sandbox.apprunner import EmulatorError
from pushpilot_sandbox.apprunner_model import operation_names as apprunner_operation_names
from pushpilot_sandbox.ecr import pull_policy
from pushpilot_sandbox.environment import Sandbox
from pushpilot_sandbox.gateway import SUPPORTED_FAULT_PROTOCOLS, service_model
from pushpilot_sandbox.load_balancers import create_load_balancers
from pushpilot_sandbox.oci import ImageSet, load_oci_layout, synthesize_image
from pushpilot_sandbox.timeline import Timeline

if TYPE_CHECKING:
    from pushpilot_sandbox.scenario import RepositorySpec, Setup


class StepError(Exception):
    """A step's arguments are wrong or its action failed: one line saying which field and why (the
    scenario runner puts the step's number and action in front)."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def validation_summary(exc: ValidationError) -> str:
    """pydantic's report in one line: `field.path: problem (got value)`, problems joined by `; `."""
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
        where = where.removeprefix(".")
        if error["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown field")
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        value = error.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
        problems.append(f"{where}: {message}{shown}" if where else message)
    return "; ".join(" ".join(problem.split()) for problem in problems)


def _args[ArgsT: _Args](model: type[ArgsT], raw: Any) -> ArgsT:
    try:
        return model.model_validate({} if raw is None else raw)
    except ValidationError as exc:
        raise StepError(validation_summary(exc)) from exc


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
            promoter = sandbox.function_role_arn("ReconcileFunction")
            sandbox.ecr.set_repository_policy(spec.name, pull_policy(role, promoter), account=account)
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
        raise StepError(f"{action}: platforms, layout: give exactly one of `platforms` or `layout`")
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
    zone_ids: list[str] = []
    for zone in setup.hosted_zones:
        zone_id = route53.create_hosted_zone(Name=zone.name, CallerReference=str(uuid.uuid4()))["HostedZone"][
            "Id"
        ]
        zone_ids.append(zone_id.rsplit("/", 1)[-1])
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
    if zone_ids and "DnsZoneIds" not in setup.parameters:
        # An operator lists the zones pushpilot may write to; moto's zone ids are known only now.
        sandbox.update_parameters(DnsZoneIds=",".join(zone_ids))
        timeline.say(f"  ⌂ DnsZoneIds={','.join(zone_ids)}")
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
            Tags=[{"Key": key, "Value": value} for key, value in service.tags.items()],
        )
        mode = "automatic" if service.auto_deploy else "manual"
        tagged = "".join(f", {key}={value}" for key, value in service.tags.items())
        timeline.say(f"  ⌂ App Runner service {service.name} runs {identifier} ({mode} deployment{tagged})")
    sandbox.load_balancers = create_load_balancers(sandbox, setup.load_balancers, timeline.say)
    from pushpilot_sandbox.ecs_scenario import apply_ecs_setup

    apply_ecs_setup(sandbox, setup, timeline, declared_accounts)
    from pushpilot_sandbox.lambda_scenario import apply_lambda_setup

    apply_lambda_setup(sandbox, setup, timeline, declared_accounts)
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

    @model_validator(mode="after")
    def _one_image_source(self) -> PushArgs:
        if (self.platforms is None) == (self.layout is None):
            raise ValueError("platforms, layout: give exactly one of `platforms` or `layout`")
        return self


_push_counter = 0


def _next_seed(kind: str) -> str:
    global _push_counter  # noqa: PLW0603 - distinct images per push within one process
    _push_counter += 1
    return f"{kind}-{_push_counter}"


def push(sandbox: Sandbox, raw: Any, base_dir: Path, timeline: Timeline) -> None:
    args = _args(PushArgs, raw)
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
    args = _args(PublicPushArgs, raw)
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
        # App Runner deploys a push by itself only to a running service with nothing in progress.
        if service.status == "RUNNING" and service.operation_in_progress is None:
            client.start_deployment(ServiceArn=service.arn)
            timeline.say(f"  ⟳ App Runner starts its own deployment of {service.name} (automatic deployment)")
    timeline.skip_user_calls()


def read_event(base_dir: Path, raw: Any) -> dict[str, Any]:
    """The one EventBridge event an `event` step's file holds."""
    if not isinstance(raw, str) or not raw:
        raise StepError(f"event: give the path of a JSON file holding one event (got {raw!r})")
    path = base_dir / raw
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StepError(f"event: cannot read {raw}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise StepError(f"event: {raw} is not JSON: {exc.msg} at line {exc.lineno}") from exc
    if isinstance(document, list):
        raise StepError(
            f"event: {raw} holds a JSON array of {len(document)}; an event file holds one event object "
            "(give each event its own step)"
        )
    if not isinstance(document, dict):
        raise StepError(f"event: {raw} holds a JSON {type(document).__name__}, not an event object")
    missing = [key for key in ("source", "detail-type", "detail") if key not in document]
    if missing:
        raise StepError(f"event: {raw} is not an EventBridge event: no {', '.join(missing)}")
    return document


def event(sandbox: Sandbox, raw: Any, base_dir: Path, timeline: Timeline) -> None:
    document = read_event(base_dir, raw)
    path = base_dir / str(raw)
    account = str(document.get("account") or sandbox.config.account_id)
    elsewhere = f" on {account}'s bus" if account != sandbox.config.account_id else ""
    timeline.say(f"  ⇢ event {document.get('detail-type', '?')} from {path.name}{elsewhere}")
    # An event lands on the default bus of the account it happened in; another account's reaches the
    # stack only through that account's forwarder.
    sandbox._put_on_own_bus(document)
    sandbox.settle()
    timeline.record()


class CompleteArgs(_Args):
    service: str
    outcome: Literal["succeeded", "failed", "rolled_back"]


def complete_operation(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    args = _args(CompleteArgs, raw)
    try:
        operation = sandbox.apprunner.complete_operation(args.service, args.outcome)
    except EmulatorError as exc:
        raise StepError(str(exc)) from exc
    timeline.say(f"  ◼ App Runner ends {operation.type} on {args.service}: {operation.status}")
    sandbox.settle()
    timeline.record()


_OPERATION_TYPES: dict[str, Literal["PAUSE_SERVICE", "RESUME_SERVICE", "UPDATE_SERVICE"]] = {
    "pause": "PAUSE_SERVICE",
    "resume": "RESUME_SERVICE",
    "update": "UPDATE_SERVICE",
}


class OperationArgs(_Args):
    service: str
    type: Literal["pause", "resume", "update"]
    outcome: Literal["succeeded", "failed"] | None = Field(
        default=None, description="How it ends; left out, it stays in progress until complete_operation"
    )


def operation(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    """A pause, resume or configuration update someone starts in the console: not a handler call."""
    args = _args(OperationArgs, raw)
    try:
        started = sandbox.apprunner.start_operation(args.service, _OPERATION_TYPES[args.type])
    except EmulatorError as exc:
        raise StepError(f"type: {exc}") from exc
    timeline.say(f"  ▶ App Runner starts {started.type} on {args.service} (operation {started.id[:8]})")
    sandbox.settle()
    timeline.record()
    if args.outcome is None:
        return
    finished = sandbox.apprunner.complete_operation(args.service, args.outcome)
    timeline.say(f"  ◼ App Runner ends {finished.type} on {args.service}: {finished.status}")
    sandbox.settle()
    timeline.record()


class DomainArgs(_Args):
    service: str
    domain: str
    www: bool = True


def associate_domain(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    args = _args(DomainArgs, raw)
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


class ScheduledArgs(_Args):
    """A scheduled run; `minutes_later` runs it as if that many minutes had passed (a deployment's
    deadline, say), without waiting for them."""

    minutes_later: int = Field(default=0, ge=0, le=7 * 24 * 60)


def _scheduled(schedule: str) -> Callable[[Sandbox, Any, Path, Timeline], None]:
    def run(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
        args = _args(ScheduledArgs, raw or {})
        later = f", {args.minutes_later} minutes later" if args.minutes_later else ""
        timeline.say(f"  ⏲ scheduled {schedule}{later}")
        if args.minutes_later:
            # The handlers read the real clock; the sandbox moves it for this run only (time-machine
            # shifts the process's clock; nothing in the product knows).
            import time_machine

            moment = datetime.now(UTC) + timedelta(minutes=args.minutes_later)
            with time_machine.travel(moment, tick=True):
                sandbox.router.invoke_schedule("ReconcileFunction", schedule)
                sandbox.settle()
        else:
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

    args = _args(BuildArgs, raw)
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
    args = _args(SlackArgs, raw)
    if args.recover:
        sandbox.slack.recover()
        timeline.say("  ⚑ Slack answers normally again")
    if args.fail_always is not None:
        sandbox.slack.fail_always(args.fail_always)
        timeline.say(f"  ⚑ Slack answers {args.fail_always} to everything")
    if args.fail_next is not None:
        sandbox.slack.fail_next(args.fail_next, times=args.times, retry_after=args.retry_after)
        timeline.say(f"  ⚑ Slack answers {args.fail_next} to the next {args.times} request(s)")


SLACK = "slack"


class FaultArgs(_Args):
    """`service`: `apprunner`, `slack`, or an AWS signing name the gateway forwards (`sns`, `dynamodb`,
    `route53`, `ecr`, ...). `operation`: the API operation (`StartDeployment`); for Slack a Web API
    method (`chat.postMessage`) or `webhook`, left out: any request."""

    service: str
    operation: str | None = None
    kind: Literal["error", "timeout"] = "error"
    code: str | None = None
    times: int = Field(default=1, ge=1)
    after: int = Field(default=0, ge=0)
    status: int | None = Field(default=None, ge=200, le=599)

    @model_validator(mode="after")
    def _consistent(self) -> FaultArgs:
        if self.kind == "timeout" and (self.code is not None or self.status is not None):
            raise ValueError("code, status: a timeout never answers; give them only with kind: error")
        if self.service == SLACK:
            if self.kind == "error" and self.code is None and self.status is None:
                raise ValueError("code, status: a Slack error fault needs a code, a status or both")
            return self
        if self.operation is None:
            raise ValueError(f"operation: {self.service} faults name the operation they apply to")
        if self.kind == "error" and self.code is None:
            raise ValueError("code: an error fault needs the error code to answer")
        if self.service == "apprunner":
            if self.operation not in apprunner_operation_names():
                raise ValueError(f"operation: App Runner has no operation {self.operation!r}")
            return self
        model = service_model(self.service)
        if model is None:
            raise ValueError(f"service: {self.service!r} is not an AWS service name (nor apprunner, slack)")
        if self.operation not in model.operation_names:
            raise ValueError(f"operation: {self.service} has no operation {self.operation!r}")
        if model.resolved_protocol not in SUPPORTED_FAULT_PROTOCOLS:
            raise ValueError(f"service: no fault format for {self.service}'s protocol")
        return self


def fault(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    args = _args(FaultArgs, raw)
    if args.service == SLACK:
        sandbox.slack.inject_fault(
            args.operation,
            kind=args.kind,
            status=args.status,
            code=args.code,
            times=args.times,
            after=args.after,
        )
    elif args.service == "apprunner":
        sandbox.apprunner.inject_fault(
            str(args.operation),
            args.code or "",
            times=args.times,
            status=args.status or 400,
            kind=args.kind,
            after=args.after,
        )
    else:
        sandbox.gateway.inject_fault(
            args.service,
            str(args.operation),
            code=args.code or "",
            status=args.status or 400,
            times=args.times,
            kind=args.kind,
            after=args.after,
        )
    target = f"{args.service}.{args.operation}" if args.operation else f"every {args.service} request"
    effect = (
        "act but never answer (timeout)"
        if args.kind == "timeout"
        else f"answer {' '.join(str(part) for part in (args.status, args.code) if part is not None)}"
    )
    passed = f" after {args.after} call(s) through" if args.after else ""
    timeline.say(f"  ⚑ {target} will {effect} {args.times}x{passed}")


def complete_deployment(sandbox: Sandbox, raw: Any, base_dir: Path, timeline: Timeline) -> None:
    """ECS or Express Mode ends a service's deployment, or Lambda a function's update, as the scenario says
    (see ecs_scenario, lambda_scenario)."""
    from pushpilot_sandbox import ecs_scenario, lambda_scenario

    if isinstance(raw, dict) and raw.get("service") in sandbox.lambda_functions.functions:
        lambda_scenario.complete_update(sandbox, raw, base_dir, timeline)
        return
    ecs_scenario.complete_deployment(sandbox, raw, base_dir, timeline)


def run(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    """A `pushpilot` command line, run as a person would against the stack: its output in the timeline
    and in the report under `runs`."""
    from pushpilot_sandbox.cli_runs import run_command

    command = command_line(raw)
    timeline.say(f"  $ pushpilot {command}")
    code, output = run_command(sandbox, command)
    for line in output.rstrip("\n").splitlines():
        timeline.say(f"    │ {line}")
    timeline.say(f"    └ exit {code}")
    timeline.runs.append({"command": f"pushpilot {command}", "exit_code": code, "output": output})
    # The command's own calls are listed first, then what its notices and deployments caused.
    timeline.record()
    sandbox.settle()
    timeline.record()


def slack_action(sandbox: Sandbox, raw: Any, base_dir: Path, timeline: Timeline) -> None:
    """A click on a release thread's button, posted by the Slack emulator (see slack_clicks)."""
    from pushpilot_sandbox import slack_clicks

    slack_clicks.slack_action(sandbox, raw, base_dir, timeline)


class TagArgs(_Args):
    """Tag a service (or a Lambda function) as someone does in the console: the target records it, no
    event says so."""

    service: str
    tags: dict[str, str] = Field(min_length=1)


class UntagArgs(_Args):
    service: str
    keys: list[str] = Field(min_length=1)


def _tag_target(sandbox: Sandbox, name: str) -> tuple[str, str]:
    """("apprunner" | "ecs" | "lambda", ARN) of the service or function named `name`; ECS covers Express
    services."""
    from pushpilot_sandbox.ecs import EmulatorError as EcsEmulatorError

    try:
        return "apprunner", sandbox.apprunner.service(name).arn
    except EmulatorError:
        pass
    function = sandbox.lambda_functions.functions.get(name)
    if function is not None:
        return "lambda", function.arn
    try:
        return "ecs", sandbox.ecs.service(name).arn
    except EcsEmulatorError as exc:
        raise StepError(
            f"no App Runner, ECS or Express service nor Lambda function is named {name!r}"
        ) from exc


def tag(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    args = _args(TagArgs, raw)
    kind, arn = _tag_target(sandbox, args.service)
    if kind == "apprunner":
        sandbox.apprunner_client().tag_resource(
            ResourceArn=arn, Tags=[{"Key": key, "Value": value} for key, value in args.tags.items()]
        )
    elif kind == "lambda":
        sandbox.lambda_client().tag_resource(Resource=arn, Tags=dict(args.tags))
    else:
        sandbox.ecs_client().tag_resource(
            resourceArn=arn, tags=[{"key": key, "value": value} for key, value in args.tags.items()]
        )
    timeline.skip_user_calls()
    listed = ", ".join(f"{key}={value}" for key, value in args.tags.items())
    timeline.say(f"  ✎ tagged {args.service}: {listed} (no event)")
    sandbox.settle()
    timeline.record()


def untag(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    args = _args(UntagArgs, raw)
    kind, arn = _tag_target(sandbox, args.service)
    if kind == "apprunner":
        sandbox.apprunner_client().untag_resource(ResourceArn=arn, TagKeys=args.keys)
    elif kind == "lambda":
        sandbox.lambda_client().untag_resource(Resource=arn, TagKeys=args.keys)
    else:
        sandbox.ecs_client().untag_resource(resourceArn=arn, tagKeys=args.keys)
    timeline.skip_user_calls()
    timeline.say(f"  ✎ untagged {args.service}: {', '.join(args.keys)} (no event)")
    sandbox.settle()
    timeline.record()


def install_stack(sandbox: Sandbox, timeline: Timeline) -> None:
    """What CloudFormation runs as it creates the stack (its custom resources), after the setup's
    services exist: a scenario with no `refresh` step starts from a fresh install."""
    from pushpilot_sandbox.stack_resources import create_custom_resources

    for created in create_custom_resources(sandbox):
        answer = created.answer.get("Status", "?") if created.answer else "no answer"
        detail = (created.delivery.outcome or {}).get("detail") or {}
        filled = f", {detail['services']} service(s) indexed" if "services" in detail else ""
        timeline.say(f"  ⌂ stack created: {created.logical_id} answered {answer}{filled}")
    timeline.record()


def command_line(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise StepError(f"run: give a pushpilot command line, e.g. 'rollback storefront' (got {raw!r})")
    return raw.strip().removeprefix("pushpilot ").strip()


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
    "operation": operation,
    "complete_deployment": complete_deployment,
    "run": run,
    "slack_action": slack_action,
    "tag": tag,
    "untag": untag,
    "alarm": lambda *step: _stage_step("alarm", *step),
    "external_deploy": lambda *step: _stage_step("external_deploy", *step),
}


def _stage_step(action: str, sandbox: Sandbox, raw: Any, base_dir: Path, timeline: Timeline) -> None:
    from pushpilot_sandbox import stage_steps

    getattr(stage_steps, action)(sandbox, raw, base_dir, timeline)


# The arguments each action takes, checked before the sandbox starts. `event` takes a path (read_event);
# the scheduled steps take none.
ARGUMENTS: dict[str, type[_Args]] = {
    "push": PushArgs,
    "public_push": PublicPushArgs,
    "complete_operation": CompleteArgs,
    "operation": OperationArgs,
    "associate_domain": DomainArgs,
    "build": BuildArgs,
    "slack": SlackArgs,
    "fault": FaultArgs,
    "refresh": ScheduledArgs,
    "reconcile_dns": ScheduledArgs,
    "check_public_images": ScheduledArgs,
    "tag": TagArgs,
    "untag": UntagArgs,
}


def check_step(action: str, raw: Any, *, base_dir: Path, setup: Setup) -> None:
    """Refuse a step the scenario cannot run, before anything starts: unknown action, bad or unknown
    arguments, a file that is not one event, a repository or service the setup does not create."""
    if action not in ACTIONS:
        raise StepError(f"'{action}' is not supported yet (supported: {', '.join(sorted(ACTIONS))})")
    if action == "event":
        read_event(base_dir, raw)
        return
    if action == "complete_deployment":
        from pushpilot_sandbox.ecs_scenario import check_complete_deployment
        from pushpilot_sandbox.lambda_scenario import complete_update_args, is_function

        if isinstance(raw, dict) and is_function(setup, str(raw.get("service"))):
            complete_update_args(raw)
            return
        check_complete_deployment(raw, setup)
        return
    if action == "slack_action":
        from pushpilot_sandbox.slack_clicks import check_slack_action

        check_slack_action(raw, setup)
    if action in {"alarm", "external_deploy"}:
        from pushpilot_sandbox.stage_steps import check_stage_step

        check_stage_step(action, raw, setup)
        return
    if action == "run":
        from pushpilot_sandbox.cli_runs import check_command

        check_command(command_line(raw))
        return
    model = ARGUMENTS.get(action)
    if model is None:
        return
    args = _args(model, raw)
    services = {service.name for service in setup.services}
    if isinstance(args, PushArgs):
        repositories = {spec.name for spec in setup.repository_specs}
        if args.repository not in repositories:
            raise StepError(f"repository {args.repository!r} is not in setup.repositories")
    elif isinstance(args, CompleteArgs | OperationArgs | DomainArgs) and args.service not in services:
        raise StepError(f"service {args.service!r} is not in setup.services")
    elif isinstance(args, TagArgs | UntagArgs):
        known = (
            services
            | {spec.name for spec in setup.ecs_services}
            | {spec.name for spec in setup.express_services}
            | {spec.name for spec in setup.lambda_functions}
        )
        if args.service not in known:
            raise StepError(
                f"service {args.service!r} is not in setup.services, setup.ecs_services,"
                " setup.express_services or setup.lambda_functions"
            )
