"""Shared test setup: no test ever reaches a real AWS account."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _offline_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("PUSHPILOT_TEST_REGION", "us-east-1"))
    monkeypatch.setenv("AWS_REGION", os.environ.get("PUSHPILOT_TEST_REGION", "us-east-1"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "pushpilot-tests")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "pushpilot")


@pytest.fixture(autouse=True)
def _product_clients_follow_the_endpoints() -> None:
    # The product builds each client once per process; a test that ran before this one may have pointed
    # the process at a sandbox or moto server that is gone now (see pushpilot_sandbox.product_clients).
    from pushpilot_sandbox.product_clients import follow_endpoints

    follow_endpoints()
