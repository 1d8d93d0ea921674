"""CustomDomainReader against botocore's Stubber, which checks every request and response against the
App Runner service model (moto has no App Runner)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from pushpilot.core.errors import NotFoundError, ThrottledError
from pushpilot.targets.apprunner.domains import CustomDomainReader

if TYPE_CHECKING:
    from mypy_boto3_apprunner import AppRunnerClient

ARN_WEB = "arn:aws:apprunner:us-east-1:111122223333:service/storefront/11aa22bb33cc44dd55ee66ff77889900"
ARN_API = "arn:aws:apprunner:us-east-1:111122223333:service/orders/99ff88ee77dd66cc55bb44aa33221100"


def summary(arn: str) -> dict[str, Any]:
    name = arn.split(":service/")[1].split("/", maxsplit=1)[0]
    return {
        "ServiceName": name,
        "ServiceId": arn.rsplit("/", 1)[1],
        "ServiceArn": arn,
        "ServiceUrl": f"{name}x1y2z3.us-east-1.awsapprunner.com",
        "Status": "RUNNING",
    }


def custom_domain(name: str, status: str, *, www: bool = False) -> dict[str, Any]:
    return {
        "DomainName": name,
        "EnableWWWSubdomain": www,
        "Status": status,
        "CertificateValidationRecords": [
            {
                "Name": f"_0123456789abcdef0123456789abcdef.{name}",
                "Type": "CNAME",
                "Value": "_fedcba9876543210fedcba9876543210.mhbtsbpdnt.acm-validations.aws.",
                "Status": "PENDING_VALIDATION",
            }
        ],
    }


def domains_page(arn: str, *domains: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    page = {
        "DNSTarget": "x1y2z3.us-east-1.awsapprunner.com",
        "ServiceArn": arn,
        "CustomDomains": list(domains),
        "VpcDNSTargets": [],
    }
    if token:
        page["NextToken"] = token
    return page


@pytest.fixture
def apprunner() -> Iterator[tuple[AppRunnerClient, Stubber]]:
    client = boto3.client("apprunner", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_list_all_follows_next_token_for_services_and_domains(
    apprunner: tuple[AppRunnerClient, Stubber],
) -> None:
    client, stubber = apprunner
    stubber.add_response(
        "list_services", {"ServiceSummaryList": [summary(ARN_WEB)], "NextToken": "page-2"}, {}
    )
    stubber.add_response("list_services", {"ServiceSummaryList": [summary(ARN_API)]}, {"NextToken": "page-2"})
    stubber.add_response(
        "describe_custom_domains",
        domains_page(ARN_WEB, custom_domain("web.example", "ACTIVE", www=True), token="d-2"),
        {"ServiceArn": ARN_WEB},
    )
    stubber.add_response(
        "describe_custom_domains",
        domains_page(ARN_WEB, custom_domain("shop.example", "PENDING_CERTIFICATE_DNS_VALIDATION")),
        {"ServiceArn": ARN_WEB, "NextToken": "d-2"},
    )
    stubber.add_response("describe_custom_domains", domains_page(ARN_API), {"ServiceArn": ARN_API})

    states = CustomDomainReader(client).list_all()

    assert [(s.domain_name, s.service_name, s.status, s.enable_www) for s in states] == [
        ("web.example", "storefront", "ACTIVE", True),
        ("shop.example", "storefront", "PENDING_CERTIFICATE_DNS_VALIDATION", False),
    ]
    assert states[0].dns_target == "x1y2z3.us-east-1.awsapprunner.com"
    assert states[0].validation_records[0].name == "_0123456789abcdef0123456789abcdef.web.example"


def test_for_service_by_name_finds_its_arn(apprunner: tuple[AppRunnerClient, Stubber]) -> None:
    client, stubber = apprunner
    stubber.add_response("list_services", {"ServiceSummaryList": [summary(ARN_WEB), summary(ARN_API)]}, {})
    stubber.add_response(
        "describe_custom_domains",
        domains_page(ARN_API, custom_domain("api.example", "ACTIVE")),
        {"ServiceArn": ARN_API},
    )

    states = CustomDomainReader(client).for_service("orders")

    assert [s.domain_name for s in states] == ["api.example"]


def test_for_service_by_arn_reads_it_directly(apprunner: tuple[AppRunnerClient, Stubber]) -> None:
    client, stubber = apprunner
    stubber.add_response(
        "describe_custom_domains",
        domains_page(ARN_WEB, custom_domain("web.example", "ACTIVE")),
        {"ServiceArn": ARN_WEB},
    )

    assert [s.service_arn for s in CustomDomainReader(client).for_service(ARN_WEB)] == [ARN_WEB]


def test_unknown_service_name_is_not_found(apprunner: tuple[AppRunnerClient, Stubber]) -> None:
    client, stubber = apprunner
    stubber.add_response("list_services", {"ServiceSummaryList": [summary(ARN_WEB)]}, {})

    with pytest.raises(NotFoundError, match="checkout"):
        CustomDomainReader(client).for_service("checkout")


def test_throttling_becomes_a_retryable_error(apprunner: tuple[AppRunnerClient, Stubber]) -> None:
    client, stubber = apprunner
    stubber.add_client_error("list_services", service_error_code="ThrottlingException", http_status_code=429)

    with pytest.raises(ThrottledError):
        CustomDomainReader(client).list_all()
