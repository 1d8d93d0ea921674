"""The sandbox's hook on the product's client cache.

The product builds each AWS client once per service and region for the life of its process
(pushpilot.adapters.clients), as a Lambda process should: nothing in Lambda changes the endpoint settings
between invocations. The sandbox does: each sandbox listens on ports of its own, and tests start one after
another in one process. So wherever the sandbox puts its endpoint settings into the process environment, it
calls `follow_endpoints()`, and the product builds its clients again when those settings changed.
"""

from __future__ import annotations

import os
import threading

from pushpilot.adapters import clients, idempotency

_lock = threading.Lock()
_built_under: tuple[tuple[str, str], ...] | None = None


def _endpoint_settings() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")))


def follow_endpoints() -> None:
    """Forget the product's clients when the endpoint settings differ from those they were built under."""
    global _built_under  # noqa: PLW0603 - one process, one client cache: its state is process-wide too
    settings = _endpoint_settings()
    with _lock:
        if settings != _built_under:
            forget_clients()
            _built_under = settings


def forget_clients() -> None:
    """Forget every client the product built (and what it built on them), whatever the settings."""
    clients.built_client.cache_clear()
    # The idempotency layer of the process's own client holds that client.
    idempotency.persistence_layer.cache_clear()
