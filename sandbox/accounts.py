"""Several AWS accounts in one moto server.

moto serves every account at once and picks the one a request belongs to from its
`x-moto-account-id` header. The environment variable MOTO_ACCOUNT_ID would override the header for
every request in the process (handlers and servers share it), so the sandbox never sets it.
"""

from __future__ import annotations

from typing import Any, Final

ACCOUNT_HEADER: Final = "x-moto-account-id"


def in_account[ClientT](client: ClientT, account_id: str) -> ClientT:
    """Make every request `client` sends belong to `account_id` in moto; returns the same client."""

    def add_header(request: Any, **_: Any) -> None:
        request.headers[ACCOUNT_HEADER] = account_id

    client.meta.events.register("before-sign", add_header)  # type: ignore[attr-defined]
    return client
