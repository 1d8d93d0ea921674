"""Shared pieces of the App Runner emulator's end-to-end tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from pydantic import TypeAdapter

from pushpilot.targets.apprunner.events import AppRunnerEvent
from pushpilot_sandbox.apprunner import AppRunnerEmulator

if TYPE_CHECKING:
    from mypy_boto3_apprunner import AppRunnerClient
    from mypy_boto3_route53 import Route53Client

ACCOUNT = "210987654321"
REGION = "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"

EVENTS: TypeAdapter[Any] = TypeAdapter(AppRunnerEvent)


def image(repository: str, tag: str = "latest") -> str:
    return f"{REGISTRY}/{repository}:{tag}"


def digest_for(image_identifier: str) -> str:
    """A stand-in for ECR's answer: a stable digest per image reference."""
    return "sha256:" + hashlib.sha256(image_identifier.encode()).hexdigest()


class SteppingClock:
    """Each reading is one second after the previous: ordering is visible without waiting."""

    def __init__(self) -> None:
        self._now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        self._now += timedelta(seconds=1)
        return self._now


@dataclass(frozen=True)
class Running:
    """An emulator started once per module, with the list its events land in."""

    emulator: AppRunnerEmulator
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class Sandbox:
    emulator: AppRunnerEmulator
    client: AppRunnerClient
    events: list[dict[str, Any]]


def apprunner_client(url: str, **config: Any) -> AppRunnerClient:
    return boto3.client("apprunner", endpoint_url=url, region_name=REGION, config=Config(**config))


@contextmanager
def running_emulator(route53: Route53Client | None = None) -> Iterator[Running]:
    events: list[dict[str, Any]] = []
    emulator = AppRunnerEmulator(
        account_id=ACCOUNT,
        region=REGION,
        emit=events.append,
        route53=route53,
        resolve_digest=digest_for,
        clock=SteppingClock(),
    )
    with emulator:
        yield Running(emulator=emulator, events=events)


def fresh(running: Running) -> Sandbox:
    """The running emulator emptied, and a client made under the test's own offline credentials."""
    running.emulator.reset()
    running.events.clear()
    return Sandbox(
        emulator=running.emulator, client=apprunner_client(running.emulator.url), events=running.events
    )


def create_service(
    client: AppRunnerClient, name: str, image_identifier: str | None = None, **source: Any
) -> dict[str, Any]:
    source_configuration: Any = {
        "ImageRepository": {
            "ImageIdentifier": image_identifier or image(name),
            "ImageRepositoryType": "ECR",
        },
        **source,
    }
    response = client.create_service(ServiceName=name, SourceConfiguration=source_configuration)
    return dict(response["Service"])
