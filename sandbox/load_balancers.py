"""Application Load Balancers in front of ECS services, built in moto for a scenario's `setup`:

```yaml
setup:
  load_balancers:
    - {name: web-alb, ip_address_type: dualstack, http_redirect: false,
       certificates: [{domain: example.com, alternative_names: ["*.example.com"]}]}
  ecs_services:
    - {name: storefront, image: "web:latest", load_balancer: web-alb}
```

Each load balancer gets a VPC of its own with two subnets, a target group, an HTTPS listener on 443
carrying every certificate (the first as its default, the others through AddListenerCertificates, as
SNI certificates are added) and an HTTP listener on 80 that redirects to HTTPS or forwards to the
target group. Certificates are requested from ACM with DNS validation: they stay pending until their
validation records resolve in the sandbox's Route 53 (see acm.py). An ECS service naming a load
balancer (ecs_scenario.py) is created with its target group in `loadBalancers`, as ECS shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from collections.abc import Callable

    from pushpilot_sandbox.environment import Sandbox

CONTAINER_PORT = 8080


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CertificateSpec(_Strict):
    domain: str
    alternative_names: list[str] = Field(default_factory=list)


class LoadBalancerSpec(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")]
    ip_address_type: Literal["ipv4", "dualstack"] = "ipv4"
    http_redirect: bool = True
    https: bool = Field(default=True, description="false: no HTTPS listener (and no certificate attached)")
    certificates: list[CertificateSpec] = Field(default_factory=list)


class BuiltLoadBalancer(BaseModel):
    name: str
    arn: str
    dns_name: str
    target_group_arn: str
    certificate_arns: list[str]


def create_load_balancers(
    sandbox: Sandbox, specs: list[LoadBalancerSpec], say: Callable[[str], None]
) -> dict[str, BuiltLoadBalancer]:
    ec2: Any = sandbox.direct_client("ec2")
    elbv2: Any = sandbox.direct_client("elbv2")
    acm: Any = sandbox.direct_client("acm")
    built: dict[str, BuiltLoadBalancer] = {}
    region = sandbox.config.region
    for number, spec in enumerate(specs):
        vpc = ec2.create_vpc(CidrBlock=f"10.{number}.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(
                VpcId=vpc, CidrBlock=f"10.{number}.{index}.0/24", AvailabilityZone=f"{region}{zone}"
            )["Subnet"]["SubnetId"]
            for index, zone in enumerate(("a", "b"))
        ]
        lb = elbv2.create_load_balancer(
            Name=spec.name, Subnets=subnets, Type="application", IpAddressType=spec.ip_address_type
        )["LoadBalancers"][0]
        group = elbv2.create_target_group(
            Name=f"{spec.name}-tg"[:32], Protocol="HTTP", Port=CONTAINER_PORT, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        forward = [{"Type": "forward", "TargetGroupArn": group}]
        certificate_arns = [
            acm.request_certificate(
                DomainName=certificate.domain,
                SubjectAlternativeNames=[certificate.domain, *certificate.alternative_names],
                ValidationMethod="DNS",
            )["CertificateArn"]
            for certificate in spec.certificates
        ]
        if spec.https and certificate_arns:
            listener = elbv2.create_listener(
                LoadBalancerArn=lb["LoadBalancerArn"],
                Protocol="HTTPS",
                Port=443,
                Certificates=[{"CertificateArn": certificate_arns[0]}],
                DefaultActions=forward,
            )["Listeners"][0]["ListenerArn"]
            if len(certificate_arns) > 1:
                elbv2.add_listener_certificates(
                    ListenerArn=listener,
                    Certificates=[{"CertificateArn": arn} for arn in certificate_arns[1:]],
                )
        redirect = [
            {
                "Type": "redirect",
                "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
            }
        ]
        elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=80,
            DefaultActions=redirect if spec.http_redirect else forward,
        )
        built[spec.name] = BuiltLoadBalancer(
            name=spec.name,
            arn=lb["LoadBalancerArn"],
            dns_name=lb["DNSName"],
            target_group_arn=group,
            certificate_arns=certificate_arns,
        )
        names = ", ".join(
            name
            for certificate in spec.certificates
            for name in (certificate.domain, *certificate.alternative_names)
        )
        say(
            f"  ⌂ load balancer {spec.name} ({spec.ip_address_type}) at {lb['DNSName']}"
            + (f", certificate for {names} (pending validation)" if names else "")
            + ("" if spec.http_redirect else ", HTTP not redirected")
        )
    sandbox.acm.fix_load_balancer_zones()
    return built
