"""ECS services' domain bindings read from moto's ECS, ELBv2 and ACM: service → target group → load
balancer → HTTPS listeners → listener certificates (the whole SNI list) → ACM; and a reconcile that an
ACM "Certificate Available" event sets off."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.route53 import Route53Zones
from pushpilot.core.errors import NotFoundError
from pushpilot.core.notices import NoticeKind
from pushpilot.events.acm import AcmCertificateEvent
from pushpilot.flows.dns import AllBindings, DnsPorts, ReconcileRules, reconcile
from pushpilot.targets.ecs.domains import LoadBalancerDomainReader
from tests.integration.test_dns_reconcile import InMemoryDomains, listed, tickets_domain

REGION = "us-east-1"
CLUSTER = "web"


@dataclass
class World:
    ecs: Any
    elbv2: Any
    acm: Any
    route53: Any
    vpc: str
    subnets: list[str]

    def reader(self) -> LoadBalancerDomainReader:
        return LoadBalancerDomainReader(self.ecs, self.elbv2, self.acm)

    def certificate(self, domain: str, *alternatives: str) -> str:
        arn: str = self.acm.request_certificate(
            DomainName=domain, SubjectAlternativeNames=[domain, *alternatives], ValidationMethod="DNS"
        )["CertificateArn"]
        return arn

    def load_balancer(
        self,
        name: str,
        *,
        certificates: list[str],
        ip_address_type: str = "ipv4",
        http_redirect: bool = True,
    ) -> tuple[dict[str, Any], str]:
        lb: dict[str, Any] = self.elbv2.create_load_balancer(
            Name=name, Subnets=self.subnets, Type="application", IpAddressType=ip_address_type
        )["LoadBalancers"][0]
        group: str = self.elbv2.create_target_group(
            Name=f"{name}-tg", Protocol="HTTP", Port=80, VpcId=self.vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        forward = [{"Type": "forward", "TargetGroupArn": group}]
        if certificates:
            listener = self.elbv2.create_listener(
                LoadBalancerArn=lb["LoadBalancerArn"],
                Protocol="HTTPS",
                Port=443,
                Certificates=[{"CertificateArn": certificates[0]}],
                DefaultActions=forward,
            )["Listeners"][0]["ListenerArn"]
            if len(certificates) > 1:
                self.elbv2.add_listener_certificates(
                    ListenerArn=listener, Certificates=[{"CertificateArn": arn} for arn in certificates[1:]]
                )
        redirect = {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
        self.elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "redirect", "RedirectConfig": redirect}] if http_redirect else forward,
        )
        return lb, group

    def service(self, name: str, group: str | None, tags: dict[str, str] | None = None) -> str:
        definition = self.ecs.register_task_definition(
            family=name,
            containerDefinitions=[{"name": name, "image": "web:1", "memory": 512, "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]
        arn: str = self.ecs.create_service(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition=definition,
            desiredCount=1,
            loadBalancers=[{"targetGroupArn": group, "containerName": name, "containerPort": 80}]
            if group
            else [],
            tags=[{"key": key, "value": value} for key, value in (tags or {}).items()],
        )["service"]["serviceArn"]
        return arn


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=f"{REGION}{zone}")[
                "Subnet"
            ]["SubnetId"]
            for index, zone in enumerate("ab")
        ]
        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName=CLUSTER)
        yield World(
            ecs=ecs,
            elbv2=boto3.client("elbv2", region_name=REGION),
            acm=boto3.client("acm", region_name=REGION),
            route53=boto3.client("route53", region_name=REGION),
            vpc=vpc,
            subnets=subnets,
        )


def test_every_certificate_on_the_https_listener_becomes_a_binding(world: World) -> None:
    apex = world.certificate("example.com", "*.example.com")
    shop = world.certificate("shop.example.org")
    lb, group = world.load_balancer("web-alb", certificates=[apex, shop], ip_address_type="dualstack")
    arn = world.service("storefront", group)

    bindings = sorted(world.reader().list_all(), key=lambda binding: binding.domain_name)

    assert [binding.domain_name for binding in bindings] == ["example.com", "shop.example.org"]
    first = bindings[0]
    assert first.certificate_arn == apex
    assert first.service_arn == arn
    assert first.service_kind == "ECS"
    assert first.target_names == ("example.com",), "the wildcard is validated, not routed"
    assert first.dns_target == lb["DNSName"]
    # The zone id as the API answers it (moto's placeholder here): no table in pushpilot.
    assert first.alias_zone_id == lb["CanonicalHostedZoneId"]
    assert first.ipv6
    assert first.alias_every_name
    assert not first.route_ready, "pending: the names keep resolving where they do"
    # example.com and *.example.com share one validation record.
    assert len(first.validation_records) == 1
    assert set(first.validation_records[0].for_names) == {"example.com", "*.example.com"}
    assert "*.example.com" in first.certificate_names


def test_an_http_listener_that_does_not_redirect_is_advice(world: World) -> None:
    _, group = world.load_balancer(
        "web-alb", certificates=[world.certificate("example.com")], http_redirect=False
    )
    world.service("storefront", group)

    (binding,) = world.reader().list_all()

    assert [advisory.code for advisory in binding.advisories] == ["http-not-redirected"]
    assert not binding.ipv6


def test_tagged_names_without_a_certificate_are_advice_and_excluded_names_are_left_out(world: World) -> None:
    # A target group belongs to a load balancer through a listener that forwards to it.
    _, group = world.load_balancer("web-alb", certificates=[], http_redirect=False)
    world.service(
        "storefront",
        group,
        tags={
            "pushpilot:domains": "app.example.com, api.example.com",
            "pushpilot:exclude-domains": "api.example.com",
        },
    )

    (binding,) = world.reader().list_all()

    assert binding.domain_name == "app.example.com"
    assert binding.status == "NO_CERTIFICATE"
    assert {advisory.code for advisory in binding.advisories} == {
        "no-https-listener",
        "http-not-redirected",
        "certificate-not-attached",
    }


def test_services_without_a_load_balancer_have_no_bindings_and_unknown_names_are_not_found(
    world: World,
) -> None:
    world.service("worker", None)

    assert world.reader().list_all() == []
    assert world.reader().for_service("worker") == []
    with pytest.raises(NotFoundError):
        world.reader().for_service("nope")


def test_one_certificate_shared_by_two_services_is_one_binding(world: World) -> None:
    _, group = world.load_balancer("web-alb", certificates=[world.certificate("example.com")])
    world.service("storefront", group)
    world.service("checkout", group)

    (binding,) = world.reader().list_all()

    assert binding.service_name == "checkout, storefront"


def test_an_issued_certificate_event_routes_the_names_and_says_live_at_once(world: World) -> None:
    certificate = world.certificate("example.com")
    lb, group = world.load_balancer("web-alb", certificates=[certificate], ip_address_type="dualstack")
    world.service("storefront", group)
    world.route53.create_hosted_zone(Name="example.com", CallerReference="example")
    # moto issues without checking DNS once its wait has passed; here the certificate is made issued.
    from moto.acm.models import acm_backends

    acm_backends["123456789012"][REGION].get_certificate(certificate).status = "ISSUED"
    event = AcmCertificateEvent.model_validate(
        {
            "version": "0",
            "id": "9c95e8e4-96a4-ef3f-b739-b6aa5b193afb",
            "detail-type": "ACM Certificate Available",
            "source": "aws.acm",
            "account": "123456789012",
            "time": "2026-05-04T09:30:00Z",
            "region": REGION,
            "resources": [certificate],
            "detail": {
                "Action": "ISSUANCE",
                "CertificateType": "AMAZON_ISSUED",
                "CommonName": "example.com",
                "DomainValidationMethod": "DNS",
                "CertificateCreatedDate": "2026-05-04T09:01:00Z",
                "CertificateExpirationDate": "2027-06-02T23:59:59Z",
                "DaysToExpiry": 395,
                "InUse": True,
                "Exported": False,
            },
        }
    )

    result = reconcile(
        DnsPorts(
            domains=AllBindings(InMemoryDomains(), world.reader()),
            zones=Route53Zones(world.route53),
        ),
        ReconcileRules(
            policy=listed(world.route53),
            owner_id="pushpilot-prod",
            region=REGION,
            apply=True,
        ),
        trigger=event,
        now=datetime(2026, 5, 4, 9, 31, tzinfo=UTC),
    )

    assert result.applied
    routed = {
        (c.record.type, c.record.name) for c in result.plan.changes if c.record.alias_target is not None
    }
    assert routed == {("A", "example.com"), ("AAAA", "example.com")}
    assert all(
        c.record.alias_target.dns_name == lb["DNSName"] for c in result.plan.changes if c.record.alias_target
    )
    live = [notice for notice in result.notices if notice.kind is NoticeKind.DOMAIN_VALIDATED]
    assert [notice.title for notice in live] == ["example.com is live on storefront (ECS)"]
    assert live[0].details == ("https://example.com",)
    assert live[0].occurred_at.startswith("2026-05-04T09:30:00")


def test_bindings_of_every_target_are_planned_together(world: World) -> None:
    _, group = world.load_balancer("web-alb", certificates=[world.certificate("example.com")])
    world.service("storefront", group)

    together = AllBindings(InMemoryDomains(tickets_domain()), world.reader())

    assert {binding.service_kind for binding in together.list_all()} == {"App Runner", "ECS"}
    assert [binding.domain_name for binding in together.for_service("storefront")] == ["example.com"]


def test_cli_plan_shows_alb_bindings_beside_app_runners(world: World) -> None:
    import argparse
    import io

    from pushpilot_cli import dns_cmd

    _, group = world.load_balancer(
        "web-alb", certificates=[world.certificate("example.com", "*.example.com")], http_redirect=False
    )
    world.service("storefront", group)
    world.route53.create_hosted_zone(Name="example.com", CallerReference="example")
    world.route53.create_hosted_zone(Name="tickets.example", CallerReference="tickets")
    parser = argparse.ArgumentParser(prog="pushpilot")
    dns_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["dns", "plan", "--owner-id", "pushpilot-prod", "--region", REGION])
    out, err = io.StringIO(), io.StringIO()

    code = dns_cmd.run_plan(
        args,
        domains=AllBindings(InMemoryDomains(tickets_domain()), world.reader()),
        zones=Route53Zones(world.route53),
        out=out,
        err=err,
    )

    text = out.getvalue()
    assert code == 0, err.getvalue()
    assert "binding: App Runner tickets: tickets.example, www.tickets.example" in text
    assert "binding: ECS storefront: example.com → ALIAS web-alb" in text
    assert "[PENDING_VALIDATION; routed once the certificate is issued]" in text
    assert "advice: example.com: web-alb's HTTP listener on port 80 serves plain HTTP" in text
    assert "+ CNAME _d930b28be6c5927595552b219965053e.example.com" in text


def test_an_issued_certificate_routed_by_a_scheduled_run_is_told_live_once(world: World) -> None:
    certificate = world.certificate("example.com")
    _, group = world.load_balancer("web-alb", certificates=[certificate])
    world.service("storefront", group)
    world.route53.create_hosted_zone(Name="example.com", CallerReference="example")
    from moto.acm.models import acm_backends

    acm_backends["123456789012"][REGION].get_certificate(certificate).status = "ISSUED"

    def scheduled() -> list[str]:
        result = reconcile(
            DnsPorts(
                domains=world.reader(),
                zones=Route53Zones(world.route53),
            ),
            ReconcileRules(
                policy=listed(world.route53),
                owner_id="pushpilot-prod",
                region=REGION,
                apply=True,
            ),
            now=datetime(2026, 5, 4, 9, 31, tzinfo=UTC),
        )
        return [notice.title for notice in result.notices if notice.kind is NoticeKind.DOMAIN_VALIDATED]

    assert scheduled() == ["example.com is live on storefront (ECS)"], "this run routed it"
    assert scheduled() == [], "already live: nothing new"


def test_a_target_group_that_is_gone_hides_no_other_service(world: World) -> None:
    _, group = world.load_balancer("web-alb", certificates=[world.certificate("example.com")])
    world.service("storefront", group)
    gone = group.replace("web-alb-tg", "gone-tg").rsplit("/", 1)[0] + "/0123456789abcdef"
    world.service("retired", gone)

    bindings = world.reader().list_all()

    assert [(binding.service_name, binding.domain_name) for binding in bindings] == [
        ("storefront", "example.com")
    ]
