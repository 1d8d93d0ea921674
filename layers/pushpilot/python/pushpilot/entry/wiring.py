"""Production wiring: which adapter serves which port, built from the function's settings."""

from __future__ import annotations

import os
from functools import partial
from typing import TYPE_CHECKING, Any

from pushpilot.adapters.alarms import CloudWatchAlarms
from pushpilot.adapters.approval_store import ApprovalTable
from pushpilot.adapters.ecr import ImageInspector
from pushpilot.adapters.idempotency import run_once
from pushpilot.adapters.image_parameters import SsmImageParameters
from pushpilot.adapters.notice_queue import NoticeQueue
from pushpilot.adapters.outcome_timer import SqsOutcomeTimer
from pushpilot.adapters.promotions import PromotionTable
from pushpilot.adapters.release_events import EventBridgeReleaseEvents
from pushpilot.adapters.release_store import ReleaseStore
from pushpilot.adapters.service_index import ServiceIndex
from pushpilot.entry.settings import (
    CoreSettings,
    EcsSettings,
    LambdaSettings,
    PrincipalSettings,
    PublicImageSettings,
    ReleaseEventSettings,
)
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.targets.registry import Reach, build_targets, domain_sources

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from pushpilot.events.acm import AcmCertificateEvent
    from pushpilot.targets.apprunner.events import AppRunnerCustomDomainEvent


def deploy_ports(
    settings: CoreSettings | None = None, *, context: LambdaContext | None = None
) -> DeployPorts:
    """Adapters are cheap to build (clients are cached per endpoint); settings are read per call so a
    configuration error is reported on the event that met it. The Lambda context lets exactly-once work
    expire with the invocation that timed out, instead of blocking its retries."""
    settings = settings or CoreSettings.from_env()
    stages = ReleaseEventSettings.from_env()
    functions = LambdaSettings.from_env()
    return DeployPorts(
        index=ServiceIndex(settings.table_name),
        releases=ReleaseStore(settings.table_name),
        targets=build_targets(reach(settings.region)),
        inspector=ImageInspector(),
        notices=NoticeQueue(settings.notice_queue_url),
        once=partial(run_once, settings.table_name, lambda_context=context),
        dry_run=settings.dry_run,
        deploy_unverified=settings.unverified_images == "deploy",
        role_arn=PrincipalSettings.from_env().role_arn,
        events=EventBridgeReleaseEvents(stages.bus),
        image_parameters=SsmImageParameters() if stages.publish_image_parameters else None,
        promotions=PromotionTable(settings.table_name),
        alarms=CloudWatchAlarms(),
        account_id=_account_of(context),
        outcome_timer=(
            SqsOutcomeTimer(functions.outcome_timer_queue_url) if functions.outcome_timer_queue_url else None
        ),
        approvals=ApprovalTable(settings.table_name),
    )


def _account_of(context: LambdaContext | None) -> str:
    """The stack's account, from the function's own ARN (`arn:aws:lambda:<region>:<account>:function:…`);
    empty outside Lambda (the CLI), where promotion compares service names within the stack only."""
    arn = getattr(context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def reach(region: str | None = None) -> Reach:
    """The stack's reach as its settings say: the region, the ECS clusters of `EcsClusters`
    (ECS_CLUSTERS) and the functions of `LambdaFunctionPrefix` — for the functions and the CLI alike."""
    return Reach(
        region=region or os.environ.get("AWS_REGION") or "us-east-1",
        clusters=EcsSettings.from_env().scope,
        function_prefix=LambdaSettings.from_env().function_prefix,
    )


def public_image_check(context: LambdaContext | None = None) -> dict[str, Any]:
    """Check every ECR Public tag the services run; deploy the ones that moved."""
    from pushpilot.adapters.ecr_public import EcrPublicRegistry
    from pushpilot.adapters.public_tags import PublicTagStore
    from pushpilot.flows.public_images import check_public_images

    core = CoreSettings.from_env()
    settings = PublicImageSettings.from_env()
    return check_public_images(
        deploy_ports(core, context=context),
        EcrPublicRegistry(settings.registry_url),
        PublicTagStore(core.table_name),
        settings.first_sighting,
    )


def reconcile_dns(
    *,
    service: str | None = None,
    event: AppRunnerCustomDomainEvent | AcmCertificateEvent | None = None,
) -> dict[str, Any]:
    """Plan custom-domain records for every target (App Runner's custom domains, the certificates on
    ECS services' load balancers), apply them unless dry-run, and queue what people should hear."""
    from pushpilot.adapters.dns_outbox import DnsNoticeOutbox
    from pushpilot.adapters.pending_domains import PendingDomains
    from pushpilot.adapters.route53 import Route53Zones
    from pushpilot.adapters.route53_domains import RegisteredDomains
    from pushpilot.entry.settings import DnsSettings
    from pushpilot.flows.dns import AllBindings, DnsPorts, ReconcileRules, deliver, reconcile

    core = CoreSettings.from_env()
    settings = DnsSettings.from_env()
    outbox = DnsNoticeOutbox(core.table_name)
    ports = DnsPorts(
        domains=AllBindings(*domain_sources(reach(core.region))),
        zones=Route53Zones(),
        pending=PendingDomains(core.table_name),
        outbox=outbox,
        registrar=RegisteredDomains(),
    )
    rules = ReconcileRules(
        policy=settings.policy(),
        owner_id=settings.owner_id,
        region=settings.region,
        apply=not settings.dry_run,
        pending_hours=settings.validation_pending_hours,
    )
    result = reconcile(ports, rules, service=service, trigger=event)
    deliver(result, NoticeQueue(core.notice_queue_url), outbox)
    return {
        "applied": result.applied,
        "changes": result.plan.total_changes,
        "conflicts": len(result.plan.conflicts),
        "refused": result.plan.refused,
        "notices": len(result.notices),
    }
