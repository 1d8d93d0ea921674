"""Exactly-once work on top of Powertools idempotency, in the stack's one table: the one helper the deploy
path and notice delivery share.

Records live under `pk = idempotency#<function>`, `sk = <scope>#<hash of the key>` and expire through
the table's TTL attribute. A concurrent duplicate becomes a RetryableError: Lambda retries it later and
it then finds the stored result instead of doing the work again. With the Lambda context registered, a
record left in progress by an invocation that timed out expires with that invocation, so the retry does
the work instead of failing behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from pushpilot.adapters import clients, table_keys
from pushpilot.core.errors import ConcurrentDeliveryError, RetryableError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

_TEN_MINUTES = 600


@cache
def persistence_layer(table_name: str, client: DynamoDBClient | None) -> Any:
    """One persistence layer per table and injected client (None: the process's own client), built once
    for the life of the process. Powertools names the records' partition after the function that first
    uses a layer (`idempotency#<function>`)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=table_keys.PK,
        sort_key_attr=table_keys.SK,
        expiry_attr=table_keys.TTL,
        boto3_client=client or clients.client("dynamodb"),
    )


def run_once(
    table_name: str,
    *,
    scope: str,
    key: dict[str, str],
    work: Callable[[], dict[str, Any]],
    expires_after_seconds: int = _TEN_MINUTES,
    lambda_context: LambdaContext | None = None,
    client: DynamoDBClient | None = None,
) -> dict[str, Any]:
    """Run `work` once per (scope, key) within the window; later calls return the first result."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyInconsistentStateError,
        IdempotencyPersistenceLayerError,
    )

    config = IdempotencyConfig(expires_after_seconds=expires_after_seconds, raise_on_no_idempotency_key=True)
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)

    # Powertools' decorator is untyped; `once` keeps the signature written here.
    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="identity",
        persistence_store=persistence_layer(table_name, client),
        config=config,
    )
    def once(identity: dict[str, str]) -> dict[str, Any]:
        del identity  # the idempotency key; the work is closed over
        return work()

    try:
        result: dict[str, Any] = once(identity={"scope": scope, **key})
    except IdempotencyAlreadyInProgressError as exc:
        raise ConcurrentDeliveryError(f"{scope} {key} is being handled by a concurrent delivery") from exc
    except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
        raise RetryableError(f"{scope} {key}: the idempotency record could not be used: {exc}") from exc
    return result
