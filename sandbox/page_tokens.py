"""The emulators' page tokens: opaque to a client, bound to the listing (operation and scope) they came from,
as AWS's are. Each emulator turns a refused token into its own service's error."""

from __future__ import annotations

import base64
import binascii
import json


class PageTokenError(ValueError):
    """A token that is not one of ours (`foreign` False), or one from another listing (`foreign` True)."""

    def __init__(self, *, foreign: bool) -> None:
        super().__init__("the token belongs to another listing" if foreign else "the token is not valid")
        self.foreign = foreign


def write_token(operation: str, scope: str, offset: int) -> str:
    payload = json.dumps({"op": operation, "scope": scope, "offset": offset}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()


def read_token(token: str, operation: str, scope: str) -> int:
    """The offset a token names; PageTokenError when it is not ours or belongs to another listing."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error) as exc:
        raise PageTokenError(foreign=False) from exc
    if not isinstance(payload, dict) or payload.get("op") != operation or payload.get("scope") != scope:
        raise PageTokenError(foreign=True)
    offset = payload.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise PageTokenError(foreign=False)
    return offset
