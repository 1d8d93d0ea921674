"""Exactly-once work against moto: the record written while the work runs expires with the invocation
that runs it (the Lambda context's remaining time), so a retry after a timeout is not blocked for the
whole idempotency window."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from pushpilot.adapters.idempotency import run_once
from pushpilot.core.errors import RetryableError
from tests.integration.tables import create_stack_table

pytestmark = pytest.mark.integration

REGION = "us-east-1"
TABLE = "pushpilot-idempotency-test"
REMAINING_MS = 42_000


@dataclass
class FakeLambdaContext:
    """An invocation with `REMAINING_MS` left, the fields Powertools reads."""

    function_name: str = "pushpilot-image-push"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:pushpilot-image-push"
    aws_request_id: str = "c0ffee00-0000-4000-8000-000000000005"

    def get_remaining_time_in_millis(self) -> int:
        return REMAINING_MS


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_stack_table(client, TABLE)
        yield client


def _records(client: Any) -> list[dict[str, Any]]:
    items = client.scan(TableName=TABLE)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("idempotency#")]


def _record_while_working(client: Any, context: FakeLambdaContext | None) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def work() -> dict[str, Any]:
        seen.extend(_records(client))
        return {"status": "deploying"}

    run_once(
        TABLE,
        scope="deploy",
        key={
            "service": "arn:aws:apprunner:us-east-1:123456789012:service/storefront/1",
            "digest": "sha256:ab",
        },
        work=work,
        lambda_context=context,
    )
    assert len(seen) == 1
    return seen[0]


def test_the_in_progress_record_expires_with_the_invocation_that_holds_it(table: Any) -> None:
    before_ms = int(time.time() * 1000)
    record = _record_while_working(table, FakeLambdaContext())
    after_ms = int(time.time() * 1000)

    assert record["status"]["S"] == "INPROGRESS"
    expiry = int(record["in_progress_expiration"]["N"])
    # Powertools writes now + the context's remaining time: the deadline of this invocation, not the
    # ten-minute window the completed record keeps.
    assert before_ms + REMAINING_MS <= expiry <= after_ms + REMAINING_MS
    assert int(record["expires_at"]["N"]) >= before_ms // 1000 + 600


def test_without_a_context_no_invocation_deadline_is_written(table: Any) -> None:
    """The contrast: what a timed-out invocation left behind before the context was registered."""
    with pytest.warns(UserWarning, match="remaining time"):
        record = _record_while_working(table, None)

    assert record["status"]["S"] == "INPROGRESS"
    assert "in_progress_expiration" not in record


def test_a_record_left_by_a_timed_out_invocation_does_not_block_the_retry(table: Any) -> None:
    """The first invocation dies mid-work (Lambda's timeout runs no cleanup): its record stays
    INPROGRESS. Once that invocation's deadline has passed, the retry does the work."""
    key = {"service": "arn:aws:apprunner:us-east-1:123456789012:service/storefront/1", "digest": "sha256:cd"}

    class TimedOut(BaseException):
        """Stands for the runtime ending the invocation: nothing of ours handles it."""

    def dies() -> dict[str, Any]:
        raise TimedOut

    class Expired(FakeLambdaContext):
        # Lambda retries a minute later, past the deadline; a deadline already behind stands for that
        # without waiting.
        def get_remaining_time_in_millis(self) -> int:
            return -1

    with pytest.raises(TimedOut):
        run_once(TABLE, scope="deploy", key=key, work=dies, lambda_context=Expired())
    assert [record["status"]["S"] for record in _records(table)] == ["INPROGRESS"]

    done = run_once(
        TABLE,
        scope="deploy",
        key=key,
        work=lambda: {"status": "deploying"},
        lambda_context=FakeLambdaContext(),
    )

    assert done == {"status": "deploying"}
    assert [record["status"]["S"] for record in _records(table)] == ["COMPLETED"]


def test_a_record_held_by_a_running_invocation_still_turns_a_duplicate_away(table: Any) -> None:
    key = {"service": "arn:aws:apprunner:us-east-1:123456789012:service/storefront/1", "digest": "sha256:ef"}

    def duplicate_arrives() -> dict[str, Any]:
        with pytest.raises(RetryableError, match="concurrent delivery"):
            run_once(TABLE, scope="deploy", key=key, work=dict, lambda_context=FakeLambdaContext())
        return {"status": "deploying"}

    assert run_once(
        TABLE, scope="deploy", key=key, work=duplicate_arrives, lambda_context=FakeLambdaContext()
    ) == {"status": "deploying"}
