"""`pushpilot dns plan|apply`: custom-domain DNS, planned and applied like infrastructure, for App Runner
services (their custom domains) and ECS services behind an Application Load Balancer (the certificates
on its HTTPS listeners).

`plan` reads every domain binding (or one service's) and the hosted zones that hold their names, and
prints the bindings, what would change, what to create by hand and what to fix; `--out` saves the plan.
`apply --plan FILE` applies exactly that saved plan,
after checking that every record it deletes or updates still holds what the plan saw.

Exit codes: 0 done (or nothing to do), 1 refused (threshold, stale plan, not confirmed), 2 error.
The owner id comes from --owner-id or DNS_OWNER_ID; zones from --zone-ids or DNS_ZONE_IDS; the AWS
endpoint, region and credentials from the standard AWS settings.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from botocore.exceptions import NoCredentialsError, NoRegionError
from pydantic import ValidationError

from pushpilot.core.dns.diagnosis import advise, diagnose
from pushpilot.core.dns.models import DnsPlan, DnsPolicy, DomainBinding, ZoneSnapshot
from pushpilot.core.dns.planning import plan_dns, stale_changes
from pushpilot.core.dns.rendering import render_plan
from pushpilot.core.errors import PushpilotError
from pushpilot.flows.dns import read_zones
from pushpilot.ports import DomainBindingSource, ZoneStore

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_ERROR = 2


class CommandError(Exception):
    """A problem with what the user asked for; the message says what to do."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dns = subparsers.add_parser("dns", help="plan and apply custom-domain DNS records in Route 53")
    commands = dns.add_subparsers(dest="dns_command", required=True, metavar="COMMAND")

    plan = commands.add_parser(
        "plan", help="show the DNS changes the custom domains need", description=__doc__
    )
    plan.add_argument("service", nargs="?", help="only this service: App Runner or ECS, name or ARN")
    _policy_arguments(plan)
    plan.add_argument("--out", type=Path, help="save the plan as JSON, for `dns apply --plan`")
    plan.set_defaults(run=run_plan)

    apply = commands.add_parser(
        "apply", help="apply a saved plan (or a fresh one) to Route 53", description=__doc__
    )
    apply.add_argument("service", nargs="?", help="only this service, App Runner or ECS (without --plan)")
    apply.add_argument("--plan", type=Path, dest="plan_file", help="apply exactly this saved plan")
    _policy_arguments(apply)
    apply.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    apply.add_argument("--no-wait", action="store_true", help="do not wait for Route 53 to be in sync")
    apply.set_defaults(run=run_apply)


def _policy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--take-over",
        action="store_true",
        help="replace the conflicting records the plan lists (never any other record)",
    )
    parser.add_argument(
        "--max-changes", type=int, help="refuse plans with more changes (default: DNS_MAX_CHANGES or 20)"
    )
    parser.add_argument("--owner-id", help="this installation's owner id (default: DNS_OWNER_ID)")
    parser.add_argument(
        "--zone-ids",
        help="comma-separated public hosted zone ids pushpilot may write to (default: DNS_ZONE_IDS; "
        "none: plan only)",
    )
    parser.add_argument("--region", help="the services' region (default: AWS_REGION)")


def _policy(args: argparse.Namespace) -> DnsPolicy:
    zone_ids = args.zone_ids if args.zone_ids is not None else os.environ.get("DNS_ZONE_IDS", "")
    max_changes = args.max_changes
    if max_changes is None:
        max_changes = int(os.environ.get("DNS_MAX_CHANGES") or 20)
    return DnsPolicy(
        take_over=args.take_over,
        max_changes=max_changes,
        zone_ids=tuple(part.strip().rsplit("/", 1)[-1] for part in zone_ids.split(",") if part.strip()),
    )


def _owner_id(args: argparse.Namespace) -> str:
    owner_id: str = args.owner_id or os.environ.get("DNS_OWNER_ID", "")
    if not owner_id:
        raise CommandError("no owner id: pass --owner-id or set DNS_OWNER_ID (the stack's DnsOwnerId)")
    return owner_id


def _region(args: argparse.Namespace) -> str:
    region: str | None = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise CommandError("no region: pass --region or set AWS_REGION")
    return region


def _default_sources(
    domains: DomainBindingSource | None, zones: ZoneStore | None
) -> tuple[DomainBindingSource, ZoneStore]:
    from pushpilot.adapters.route53 import Route53Zones
    from pushpilot.entry.wiring import reach
    from pushpilot.flows.dns import AllBindings
    from pushpilot.targets.registry import domain_sources

    # The readers the stack's functions use, bounded the same way (ECS_CLUSTERS, the EcsClusters parameter).
    sources = domain_sources(reach())
    return domains or AllBindings(*sources), zones or Route53Zones()


def _fresh_plan(
    args: argparse.Namespace, domains: DomainBindingSource, zones: ZoneStore
) -> tuple[DnsPlan, list[DomainBinding], tuple[ZoneSnapshot, ...]]:
    policy = _policy(args)
    states = domains.for_service(args.service) if args.service else domains.list_all()
    snapshots = read_zones(zones, states, policy)
    plan = plan_dns(states, snapshots, owner_id=_owner_id(args), region=_region(args), policy=policy)
    return plan, states, snapshots


def _binding_lines(states: list[DomainBinding]) -> list[str]:
    """Every binding the plan is for, App Runner's and load-balanced ECS services' side by side."""
    lines = []
    for state in sorted(states, key=lambda s: (s.service_kind, s.service_name, s.domain_name)):
        names = ", ".join(state.target_names) or "(no name routed)"
        how = "ALIAS" if state.alias_every_name else "CNAME/ALIAS"
        waiting = "" if state.route_ready else "; routed once the certificate is issued"
        lines.append(
            f"binding: {state.service_kind} {state.service_name}: {names} → {how} {state.dns_target} "
            f"[{state.status}{waiting}]"
        )
    return lines


def _diagnosis_lines(states: list[DomainBinding], snapshots: tuple[ZoneSnapshot, ...]) -> list[str]:
    # On the command line every pending validation is worth explaining, however recent.
    now = datetime.now(UTC)
    lines = [
        f"? {finding.domain_name}: {finding.cause}\n    fix: {finding.fix}"
        for state in states
        for finding in diagnose(state, snapshots, now, now, 0)
    ]
    lines.extend(
        f"advice: {finding.domain_name}: {finding.cause}\n    fix: {finding.fix}"
        for state in states
        for finding in advise(state, snapshots, now)
    )
    return lines


def run_plan(
    args: argparse.Namespace,
    *,
    domains: DomainBindingSource | None = None,
    zones: ZoneStore | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        domains, zones = _default_sources(domains, zones)
        plan, states, snapshots = _fresh_plan(args, domains, zones)
    except (CommandError, PushpilotError, ValueError, NoRegionError, NoCredentialsError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    for line in _binding_lines(states):
        print(line, file=out)
    print(render_plan(plan), file=out)
    for line in _diagnosis_lines(states, snapshots):
        print(line, file=out)
    if args.out:
        args.out.write_text(plan.model_dump_json(indent=2) + "\n", encoding="utf-8")
        print(f"saved: {args.out} (apply it with `pushpilot dns apply --plan {args.out}`)", file=out)
    return EXIT_OK


def _load_plan(path: Path) -> DnsPlan:
    try:
        return DnsPlan.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise CommandError(f"cannot read the plan {path}: {exc}") from exc


def _saved_plan_problems(plan: DnsPlan, args: argparse.Namespace, zones: ZoneStore) -> list[str]:
    """Why the saved plan may not be applied as it is now."""
    problems: list[str] = []
    if any(conflict.replaced for conflict in plan.conflicts) and not args.take_over:
        problems.append("the plan replaces conflicting records: confirm with --take-over")
    if plan.unlisted_zones:
        problems.append(f"the plan was made with no zone to write to ({plan.refused})")
    elif plan.refused and (args.max_changes is None or args.max_changes < plan.total_changes):
        problems.append(f"the plan was refused when made ({plan.refused})")
    for zone_plan in plan.zones:
        problems.extend(
            f"zone {zone_plan.zone_name}: {problem}"
            for problem in stale_changes(zone_plan, zones.snapshot(zone_plan.zone_id))
        )
    return problems


def _plan_to_apply(
    args: argparse.Namespace, domains: DomainBindingSource, zones: ZoneStore
) -> tuple[DnsPlan, list[str]]:
    if args.plan_file is None:
        plan = _fresh_plan(args, domains, zones)[0]
        return plan, [plan.refused] if plan.refused else []
    if args.service:
        raise CommandError("give either SERVICE or --plan, not both")
    plan = _load_plan(args.plan_file)
    return plan, _saved_plan_problems(plan, args, zones)


def _confirmed(plan: DnsPlan, args: argparse.Namespace, answers: TextIO, out: TextIO) -> bool:
    if args.yes:
        return True
    print(f"Apply {plan.total_changes} change(s)? Only 'yes' applies: ", end="", file=out, flush=True)
    return answers.readline().strip().lower() == "yes"


def run_apply(
    args: argparse.Namespace,
    *,
    domains: DomainBindingSource | None = None,
    zones: ZoneStore | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    answers: TextIO | None = None,
) -> int:
    out, err, answers = out or sys.stdout, err or sys.stderr, answers or sys.stdin
    try:
        domains, zones = _default_sources(domains, zones)
        plan, problems = _plan_to_apply(args, domains, zones)
        print(render_plan(plan), file=out)
        if problems:
            for problem in problems:
                print(f"refused: {problem}", file=err)
            if args.plan_file is not None:
                print("plan again with `pushpilot dns plan --out FILE` and review it", file=err)
            return EXIT_REFUSED
        if plan.total_changes == 0:
            return EXIT_OK
        if not _confirmed(plan, args, answers, out):
            print("not applied", file=err)
            return EXIT_REFUSED
        for zone_plan in plan.zones:
            change_id = zones.apply(zone_plan, wait=not args.no_wait)
            print(
                f"applied {len(zone_plan.changes)} change(s) to {zone_plan.zone_name}: {change_id}", file=out
            )
    except (CommandError, PushpilotError, ValueError, NoRegionError, NoCredentialsError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    return EXIT_OK
