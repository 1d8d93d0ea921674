"""Read the custom domains of App Runner services into DomainBinding values.

Neither ListServices nor DescribeCustomDomains has a botocore paginator: both loop on NextToken.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import APP_RUNNER_CODES, aws_error
from pushpilot.core.dns.models import DomainBinding, ValidationRecord
from pushpilot.core.errors import NotFoundError
from pushpilot.targets.apprunner.declaration import DNS

if TYPE_CHECKING:
    from mypy_boto3_apprunner import AppRunnerClient
    from mypy_boto3_apprunner.type_defs import ServiceSummaryTypeDef


def is_service_arn(value: str) -> bool:
    return value.startswith("arn:") and ":service/" in value


def service_name_from_arn(service_arn: str) -> str:
    # arn:aws:apprunner:<region>:<account>:service/<name>/<id>
    return service_arn.split(":service/", 1)[-1].split("/", 1)[0]


class CustomDomainReader:
    def __init__(self, client: AppRunnerClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> AppRunnerClient:
        if self._client is None:
            self._client = clients.client("apprunner")
        return self._client

    def _services(self) -> Iterator[ServiceSummaryTypeDef]:
        token: str | None = None
        while True:
            try:
                page = self.client.list_services(NextToken=token) if token else self.client.list_services()
            except (ClientError, BotoCoreError) as exc:
                raise aws_error(
                    exc,
                    service="apprunner",
                    action="ListServices",
                    target="the account",
                    codes=APP_RUNNER_CODES,
                ) from exc
            yield from page["ServiceSummaryList"]
            token = page.get("NextToken")
            if not token:
                return

    def _domains_of(self, service_arn: str) -> list[DomainBinding]:
        states: list[DomainBinding] = []
        token: str | None = None
        while True:
            try:
                page = (
                    self.client.describe_custom_domains(ServiceArn=service_arn, NextToken=token)
                    if token
                    else self.client.describe_custom_domains(ServiceArn=service_arn)
                )
            except (ClientError, BotoCoreError) as exc:
                raise aws_error(
                    exc,
                    service="apprunner",
                    action="DescribeCustomDomains",
                    target=service_arn,
                    codes=APP_RUNNER_CODES,
                ) from exc
            states.extend(
                DomainBinding(
                    service_arn=page["ServiceArn"],
                    service_name=service_name_from_arn(page["ServiceArn"]),
                    dns_target=page["DNSTarget"],
                    service_kind=DNS.service_kind,
                    alias_zone_ids=DNS.alias_zone_ids,
                    bare_name=DNS.bare_name,
                    domain_name=domain["DomainName"],
                    enable_www=domain["EnableWWWSubdomain"],
                    status=domain["Status"],
                    validation_records=tuple(
                        ValidationRecord(
                            name=record["Name"],
                            type=record["Type"],
                            value=record["Value"],
                            status=record["Status"],
                        )
                        for record in domain.get("CertificateValidationRecords", [])
                        if "Name" in record and "Value" in record
                    ),
                )
                for domain in page["CustomDomains"]
            )
            token = page.get("NextToken")
            if not token:
                return states

    def list_all(self) -> list[DomainBinding]:
        """Every custom domain of every service in the account and region."""
        services = list(self._services())
        return [state for service in services for state in self._domains_of(service["ServiceArn"])]

    def for_service(self, service_arn_or_name: str) -> list[DomainBinding]:
        if is_service_arn(service_arn_or_name):
            return self._domains_of(service_arn_or_name)
        for service in self._services():
            if service["ServiceName"] == service_arn_or_name:
                return self._domains_of(service["ServiceArn"])
        raise NotFoundError(f"no App Runner service named {service_arn_or_name!r} in this account and region")
