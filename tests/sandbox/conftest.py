"""The sandbox's own tests: its emulators, gateway, router and stand-ins, on 127.0.0.1 only."""

from __future__ import annotations

import pytest
from pytest_socket import socket_allow_hosts


@pytest.fixture(autouse=True)
def _loopback_only() -> None:
    socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
