"""The name servers the registrar holds for a domain registered with Route 53 in this account
(`route53domains:GetDomainDetail`). The zone pushpilot writes answers only if they are its own:
"the name's zone is not delegated" is a cause the diagnosis names.

Route 53 Domains answers in us-east-1 only. A domain registered elsewhere, or not registered in this
account, has no answer here: None (unknown), never an error that stops a reconcile.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients

# Route 53 Domains has one endpoint.
DOMAINS_REGION = "us-east-1"


class RegisteredDomains:
    def __init__(self, client: Any | None = None) -> None:
        # No mypy-boto3 stubs for route53domains in the project: the two fields read are checked here.
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = clients.client("route53domains", region_name=DOMAINS_REGION)
        return self._client

    def name_servers(self, domain: str) -> tuple[str, ...] | None:
        try:
            detail = self.client.get_domain_detail(DomainName=domain.rstrip("."))
        except (ClientError, BotoCoreError):
            # Not registered in this account (InvalidInput), a TLD Route 53 does not register
            # (UnsupportedTLD), no permission: the registrar's view is unknown, and the diagnosis
            # says nothing about it.
            return None
        servers = [str(server.get("Name", "")) for server in detail.get("Nameservers", [])]
        return tuple(server for server in servers if server) or None
