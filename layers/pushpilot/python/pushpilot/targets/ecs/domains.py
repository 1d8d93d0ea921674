"""The names ECS services behind an Application Load Balancer answer for, read from what already exists.

For each service with a load balancer: service → target groups (`loadBalancers[].targetGroupArn`) →
their load balancers (`DescribeTargetGroups().LoadBalancerArns`) → the HTTPS listeners →
`DescribeListenerCertificates` (the full SNI list: `DescribeListeners` shows only the default
certificate, and the default may be listed twice) → ACM `DescribeCertificate`. Each issued or pending
certificate's names are the domains people want on that load balancer; a service's tags may add names
(`pushpilot:domains`) or leave some out (`pushpilot:exclude-domains`), space- or comma-separated.

The load balancer's `DNSName` and `CanonicalHostedZoneId` come from the API (no table of zone ids).
What the planner must not write but people should fix comes along as advisories: no HTTPS listener, an
HTTP listener that does not redirect to HTTPS, a name no attached certificate covers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error
from pushpilot.core.dns.models import (
    NO_CERTIFICATE,
    Advisory,
    DomainBinding,
    ValidationRecord,
    canonical_name,
)
from pushpilot.core.errors import NotFoundError, OutOfReachError, PushpilotError
from pushpilot.targets.ecs import discovery
from pushpilot.targets.ecs.declaration import DNS
from pushpilot.targets.ecs.reach import ClusterScope

if TYPE_CHECKING:
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

DOMAINS_TAG: Final = "pushpilot:domains"
EXCLUDE_TAG: Final = "pushpilot:exclude-domains"
# Certificates whose names are wanted: issued, or on their way (pending); the failed ones come along so
# the diagnosis can say why and what to do (their records are not planned).
WANTED_STATUSES: Final = frozenset({"ISSUED", "PENDING_VALIDATION", "VALIDATION_TIMED_OUT", "FAILED"})
_SPLIT: Final = re.compile(r"[\s,]+")


def is_ecs_service_arn(value: str) -> bool:
    return value.startswith("arn:") and ":ecs:" in value and ":service/" in value


def _names_in(tag_value: str) -> list[str]:
    return [canonical_name(part) for part in _SPLIT.split(tag_value) if part.strip()]


def _covers(certificate_name: str, name: str) -> bool:
    if certificate_name.startswith("*."):
        suffix = certificate_name[1:]
        return name.endswith(suffix) and "." not in name[: -len(suffix)]
    return certificate_name == name


class _LoadBalancer:
    """What one load balancer offers its services' domains."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.arn: str = raw["LoadBalancerArn"]
        self.name: str = raw.get("LoadBalancerName", self.arn)
        self.dns_name: str = raw["DNSName"]
        self.zone_id: str = raw["CanonicalHostedZoneId"]
        self.dualstack: bool = str(raw.get("IpAddressType", "ipv4")).startswith("dualstack")
        self.certificates: list[Mapping[str, Any]] = []
        self.advisories: list[Advisory] = []


class LoadBalancerDomainReader:
    """Domain bindings of ECS services behind Application Load Balancers (read only)."""

    def __init__(
        self,
        ecs: ECSClient | None = None,
        elbv2: ElasticLoadBalancingv2Client | None = None,
        acm: ACMClient | None = None,
        *,
        clusters: Sequence[str] | ClusterScope = (),
    ) -> None:
        self._ecs = ecs
        self._elbv2 = elbv2
        self._acm = acm
        self._scope = clusters if isinstance(clusters, ClusterScope) else ClusterScope.parse(clusters)
        self._clusters = self._scope.configured
        self._load_balancers: dict[str, _LoadBalancer] = {}

    @property
    def ecs(self) -> ECSClient:
        if self._ecs is None:
            self._ecs = clients.client("ecs")
        return self._ecs

    @property
    def elbv2(self) -> ElasticLoadBalancingv2Client:
        if self._elbv2 is None:
            self._elbv2 = clients.client("elbv2")
        return self._elbv2

    @property
    def acm(self) -> ACMClient:
        if self._acm is None:
            self._acm = clients.client("acm")
        return self._acm

    @staticmethod
    def _error(exc: ClientError | BotoCoreError, service: str, action: str, target: str) -> PushpilotError:
        return aws_error(exc, service=service, action=action, target=target)

    # --- the port ----------------------------------------------------------------------------------

    def list_all(self) -> list[DomainBinding]:
        """Every binding of every load-balanced service in the scoped clusters (all clusters if none)."""
        self._load_balancers = {}
        return self._bindings(list(self._all_services()))

    def for_service(self, service_arn_or_name: str) -> list[DomainBinding]:
        self._load_balancers = {}
        if is_ecs_service_arn(service_arn_or_name):
            if not self._scope.covers_service(service_arn_or_name):
                raise OutOfReachError(
                    f"{service_arn_or_name} is outside {self._scope.describe()} (EcsClusters)"
                )
            cluster = service_arn_or_name.split(":service/", 1)[1].split("/", 1)[0]
            found = self._describe(cluster, [service_arn_or_name])
        else:
            found = [
                service
                for service in self._all_services()
                if service.get("serviceName") == service_arn_or_name
            ]
        if not found:
            raise NotFoundError(f"no ECS service named {service_arn_or_name!r} in this account and region")
        return self._bindings(found)

    # --- ECS: the walk the ECS target does (discovery.py), errors named as this reader's ---------

    def _ecs_error(self, exc: ClientError | BotoCoreError, action: str, target: str) -> PushpilotError:
        return self._error(exc, "ecs", action, target)

    def _all_services(self) -> Iterator[Mapping[str, Any]]:
        for _, service in discovery.services(self.ecs, self._clusters, self._ecs_error):
            if service.get("status") != "INACTIVE":
                yield service

    def _describe(self, cluster: str, arns: Sequence[str]) -> list[Mapping[str, Any]]:
        described = discovery.describe_services(self.ecs, cluster, arns, self._ecs_error)
        return [service for service in described if service.get("status") != "INACTIVE"]

    # --- load balancers ----------------------------------------------------------------------------

    def _load_balancers_of(self, service: Mapping[str, Any]) -> list[_LoadBalancer]:
        groups = sorted(
            {lb["targetGroupArn"] for lb in service.get("loadBalancers", []) if lb.get("targetGroupArn")}
        )
        if not groups:
            return []
        lb_arns: set[str] = set()
        # One call per target group: a batch naming one that is gone (deleted since the service was
        # described, or managed out of sight) fails whole, and one stale group must not hide the rest.
        for group_arn in groups:
            try:
                answer = self.elbv2.describe_target_groups(TargetGroupArns=[group_arn])
            except ClientError as exc:
                if _code(exc) == "TargetGroupNotFound":
                    continue
                raise self._error(exc, "elbv2", "DescribeTargetGroups", group_arn) from exc
            except BotoCoreError as exc:
                raise self._error(exc, "elbv2", "DescribeTargetGroups", group_arn) from exc
            lb_arns.update(
                arn for group in answer["TargetGroups"] for arn in group.get("LoadBalancerArns", [])
            )
        for lb_arn in sorted(arn for arn in lb_arns if arn not in self._load_balancers):
            try:
                answer_lbs = self.elbv2.describe_load_balancers(LoadBalancerArns=[lb_arn])
            except ClientError as exc:
                if _code(exc) == "LoadBalancerNotFound":
                    continue
                raise self._error(exc, "elbv2", "DescribeLoadBalancers", lb_arn) from exc
            except BotoCoreError as exc:
                raise self._error(exc, "elbv2", "DescribeLoadBalancers", lb_arn) from exc
            for raw in answer_lbs["LoadBalancers"]:
                if raw.get("Type", "application") != "application":
                    continue
                self._load_balancers[raw["LoadBalancerArn"]] = self._read_load_balancer(raw)
        return [self._load_balancers[arn] for arn in sorted(lb_arns) if arn in self._load_balancers]

    def _read_load_balancer(self, raw: Mapping[str, Any]) -> _LoadBalancer:
        lb = _LoadBalancer(raw)
        try:
            listeners = [
                listener
                for page in self.elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb.arn)
                for listener in page["Listeners"]
            ]
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "elbv2", "DescribeListeners", lb.arn) from exc
        https = [listener for listener in listeners if listener.get("Protocol") == "HTTPS"]
        if not https:
            lb.advisories.append(
                Advisory(
                    code="no-https-listener",
                    cause=f"load balancer {lb.name} has no HTTPS listener: its names cannot serve https",
                    fix=(
                        f"add an HTTPS listener on port 443 to {lb.name} with the certificate for its names"
                    ),
                )
            )
        for listener in listeners:
            if listener.get("Protocol") == "HTTP" and not _redirects_to_https(listener):
                lb.advisories.append(
                    Advisory(
                        code="http-not-redirected",
                        cause=(
                            f"{lb.name}'s HTTP listener on port {listener.get('Port')} serves plain HTTP "
                            "instead of redirecting to HTTPS"
                        ),
                        fix=(
                            f"give {lb.name}'s HTTP listener a default action that redirects to HTTPS "
                            '(Type "redirect", Protocol "HTTPS", Port "443", StatusCode "HTTP_301")'
                        ),
                    )
                )
        certificate_arns: list[str] = []
        for listener in https:
            for arn in self._listener_certificates(listener["ListenerArn"]):
                if arn not in certificate_arns:
                    certificate_arns.append(arn)
        for arn in certificate_arns:
            certificate = self._certificate(arn)
            if certificate is not None and certificate.get("Status") in WANTED_STATUSES:
                lb.certificates.append(certificate)
        return lb

    def _listener_certificates(self, listener_arn: str) -> list[str]:
        """The listener's full certificate list (default and SNI), in order, each once.

        DescribeListenerCertificates has no botocore paginator: it loops on Marker / NextMarker."""
        arns: list[str] = []
        marker: str | None = None
        while True:
            try:
                page = (
                    self.elbv2.describe_listener_certificates(ListenerArn=listener_arn, Marker=marker)
                    if marker
                    else self.elbv2.describe_listener_certificates(ListenerArn=listener_arn)
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, "elbv2", "DescribeListenerCertificates", listener_arn) from exc
            for certificate in page.get("Certificates", []):
                arn = certificate.get("CertificateArn")
                if arn and arn not in arns:
                    arns.append(arn)
            marker = page.get("NextMarker")
            if not marker:
                return arns

    def _certificate(self, arn: str) -> Mapping[str, Any] | None:
        if ":acm:" not in arn:
            return None  # an IAM server certificate: not ACM's, nothing to validate or renew here
        try:
            return dict(self.acm.describe_certificate(CertificateArn=arn)["Certificate"])
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None  # deleted since the listener listed it
            raise self._error(exc, "acm", "DescribeCertificate", arn) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "acm", "DescribeCertificate", arn) from exc

    # --- bindings ------------------------------------------------------------------------------------

    def _bindings(self, services: Sequence[Mapping[str, Any]]) -> list[DomainBinding]:
        found: dict[tuple[str, str], DomainBinding] = {}
        for service in services:
            for binding in self._bindings_of(service):
                key = (binding.certificate_arn or binding.domain_name, binding.dns_target)
                earlier = found.get(key)
                if earlier is None:
                    found[key] = binding
                else:
                    # One certificate on one load balancer serves several services: one binding.
                    names = {*earlier.service_name.split(", "), binding.service_name}
                    found[key] = earlier.model_copy(update={"service_name": ", ".join(sorted(names))})
        return list(found.values())

    def _bindings_of(self, service: Mapping[str, Any]) -> list[DomainBinding]:
        tags = {tag.get("key", ""): tag.get("value", "") for tag in service.get("tags", [])}
        extra = _names_in(tags.get(DOMAINS_TAG, ""))
        excluded = set(_names_in(tags.get(EXCLUDE_TAG, "")))
        bindings: list[DomainBinding] = []
        for lb in self._load_balancers_of(service):
            covered: list[str] = []
            for certificate in lb.certificates:
                binding = self._binding(service, lb, certificate, excluded)
                covered.extend(binding.certificate_names)
                bindings.append(binding)
            uncovered = [
                name
                for name in extra
                if name not in excluded and not any(_covers(cert_name, name) for cert_name in covered)
            ]
            bindings.extend(_unattached(service, lb, name) for name in uncovered)
        return bindings

    @staticmethod
    def _binding(
        service: Mapping[str, Any], lb: _LoadBalancer, certificate: Mapping[str, Any], excluded: set[str]
    ) -> DomainBinding:
        domain = canonical_name(certificate["DomainName"])
        all_names = [domain, *(canonical_name(n) for n in certificate.get("SubjectAlternativeNames", []))]
        names = tuple(
            name for name in dict.fromkeys(all_names) if not name.startswith("*.") and name not in excluded
        )
        records: dict[tuple[str, str], ValidationRecord] = {}
        for option in certificate.get("DomainValidationOptions", []):
            resource = option.get("ResourceRecord")
            if option.get("ValidationMethod", "DNS") != "DNS" or not resource:
                continue
            if canonical_name(option["DomainName"]) in excluded:
                continue
            key = (canonical_name(resource["Name"]), resource["Value"])
            earlier = records.get(key)
            # A name and its wildcard share one record: written once, validating both.
            for_names = (*(earlier.for_names if earlier else ()), canonical_name(option["DomainName"]))
            records[key] = ValidationRecord(
                name=resource["Name"],
                type=resource.get("Type", "CNAME"),
                value=resource["Value"],
                status=option.get("ValidationStatus", "PENDING_VALIDATION"),
                for_names=for_names,
            )
        status = str(certificate.get("Status"))
        not_after = certificate.get("NotAfter")
        return DomainBinding(
            service_arn=service["serviceArn"],
            service_name=service["serviceName"],
            service_kind=DNS.service_kind,
            dns_target=lb.dns_name,
            domain_name=domain,
            status=status,
            validation_records=tuple(records.values()),
            names=names,
            alias_zone_id=lb.zone_id,
            alias_every_name=True,
            ipv6=lb.dualstack,
            route_ready=status == "ISSUED",
            certificate_arn=certificate["CertificateArn"],
            certificate_expires_at=not_after
            if isinstance(not_after, datetime) and status == "ISSUED"
            else None,
            advisories=tuple(lb.advisories),
        )


def _unattached(service: Mapping[str, Any], lb: _LoadBalancer, name: str) -> DomainBinding:
    """A name the service claims by tag that no certificate on its load balancer covers: nothing to
    write until one does, only advice."""
    return DomainBinding(
        service_arn=service["serviceArn"],
        service_name=service["serviceName"],
        service_kind=DNS.service_kind,
        dns_target=lb.dns_name,
        domain_name=name,
        status=NO_CERTIFICATE,
        names=(name,),
        alias_zone_id=lb.zone_id,
        alias_every_name=True,
        ipv6=lb.dualstack,
        route_ready=False,
        advisories=(
            *lb.advisories,
            Advisory(
                code="certificate-not-attached",
                cause=(
                    f"{service['serviceName']} is tagged with {name}, but no certificate on "
                    f"{lb.name}'s HTTPS listeners covers it"
                ),
                fix=(
                    f"request an ACM certificate for {name} with DNS validation and add it "
                    f"to {lb.name}'s HTTPS listener (pushpilot then writes its records)"
                ),
            ),
        ),
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _redirects_to_https(listener: Mapping[str, Any]) -> bool:
    return any(
        action.get("Type") == "redirect"
        and str(action.get("RedirectConfig", {}).get("Protocol", "#{protocol}")).upper() == "HTTPS"
        for action in listener.get("DefaultActions", [])
    )
