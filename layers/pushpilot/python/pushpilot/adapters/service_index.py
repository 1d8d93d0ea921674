"""The service index in the stack's table: every service pushpilot deploys to, what it runs and needs,
and the deployment bookkeeping on it.

Keys: services live in one partition, `pk = SERVICES`, `sk = <arn>`, so the scheduled paths read them all
with one paginated Query (the table also holds 90 days of releases, idempotency and delivery items: never
Scan it). The `ByFollowedRepository` GSI on `follows_repository` (`registry/repo` of the image a service
runs) lets a push of any tag find every service it may concern with one Query — those running the tag,
following tags by policy, or pinned to a digest; their policies then decide.
What our deployments left running on a service is kept as its history, `pk = HISTORY#<arn>`,
`sk = <since>#<release id>`, newest read first.
Every state change is a conditional update: the table, not the handler, decides races between
concurrent deliveries.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import table_keys
from pushpilot.adapters.dynamodb import (
    TableAdapter,
    dynamodb_error,
    from_item,
    is_conditional_failure,
    query_items,
    to_item,
)
from pushpilot.core.release_policy import read_policy
from pushpilot.core.targets import TargetService
from pushpilot.core.tracking import (
    Hold,
    IndexedService,
    InFlight,
    LiveImage,
    Pending,
    described_values,
    image_key_of,
    image_key_to_follow,
    repository_followed_by,
)

HISTORY_RETENTION_SECONDS = 90 * 24 * 3600
# Written by the first complete discovery (the stack-creation fill or a refresh): a push that finds it
# absent discovers before deciding. Its own partition, so the services' Query never reads it.
FILLED_MARKER = {"pk": "INDEX", "sk": "FILLED"}


# Rows written before the index kept each service's kind were all App Runner's, its only target then.
_KIND_OF_UNTYPED_ROWS = "apprunner"


def _indexed(values: dict[str, Any]) -> IndexedService:
    return IndexedService.model_validate({"kind": _KIND_OF_UNTYPED_ROWS, **values})


class ServiceIndex(TableAdapter):
    @staticmethod
    def _key(arn: str) -> dict[str, Any]:
        return table_keys.service(arn).item()

    def services_following(self, repository_key: str) -> list[IndexedService]:
        items = query_items(
            self._client,
            TableName=self._table,
            IndexName=table_keys.BY_FOLLOWED_REPOSITORY,
            KeyConditionExpression="follows_repository = :k",
            ExpressionAttributeValues=to_item({":k": repository_key}),
        )
        return [_indexed(from_item(item)) for item in items]

    def get(self, arn: str) -> IndexedService | None:
        try:
            item = self._client.get_item(TableName=self._table, Key=self._key(arn), ConsistentRead=True).get(
                "Item"
            )
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "GetItem") from exc
        return _indexed(from_item(item)) if item else None

    def find_by_name(self, kind: str, name: str) -> IndexedService | None:
        """Events that name a service but carry no ARN: one Query over the services' partition."""
        return next((s for s in self.all() if s.kind == kind and s.name == name), None)

    def all(self) -> list[IndexedService]:
        return [_indexed(from_item(item)) for item in self._partition(table_keys.SERVICES)]

    def upsert(self, service: TargetService, *, now: str) -> None:
        """Record what the target says of a service; our own deployment bookkeeping is left as it is."""
        image_key = image_key_of(service)
        if image_key is not None and "@" in image_key:
            # Pinned to a digest: read what it followed before (a rare path, so one extra read).
            image_key = image_key_to_follow(service, self.get(service.arn))
        if image_key is None or service.image_identifier is None:
            self.remove(service.arn)
            return
        values = described_values(service, image_key) | {"refreshed_at": now}
        follows = repository_followed_by(service)
        expression = "SET " + ", ".join(f"#{key} = :{key}" for key in values)
        removed: list[str] = []
        if follows:
            values["follows_repository"] = follows
            expression += ", #follows_repository = :follows_repository"
        else:
            # A sparse index key is absent, never empty.
            removed.append("#follows_repository")
        if not read_policy(service.tags).problems:
            # A policy fixed: a later mistake is reported again.
            removed.append("#policy_problem")
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        names = {f"#{key}": key for key in values} | {name: name.lstrip("#") for name in removed}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(service.arn),
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item({f":{key}": value for key, value in values.items()}),
            )
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "UpdateItem") from exc

    def remove(self, arn: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._key(arn))
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "DeleteItem") from exc

    def set_tags(self, arn: str, tags: dict[str, str]) -> None:
        """The tags read at deploy time; a service no longer indexed is left out."""
        self._conditional_update(
            arn,
            UpdateExpression="SET tags = :t",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":t": tags}),
        )

    def filled(self) -> bool:
        """One eventually consistent GetItem: the marker is written once and never removed, so a read
        that misses a marker written a moment ago costs one more discovery, nothing worse."""
        try:
            item = self._client.get_item(
                TableName=self._table, Key=to_item(FILLED_MARKER), ProjectionExpression="pk"
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "GetItem") from exc
        return item is not None

    def mark_filled(self, *, now: str) -> None:
        try:
            self._client.put_item(TableName=self._table, Item=to_item({**FILLED_MARKER, "filled_at": now}))
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "PutItem") from exc

    def _conditional_update(self, arn: str, **kwargs: Any) -> dict[str, Any] | None:
        """Run a conditional update; None when the condition did not hold (someone else won)."""
        try:
            response = self._client.update_item(TableName=self._table, Key=self._key(arn), **kwargs)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and is_conditional_failure(exc):
                return None
            raise dynamodb_error(exc, "UpdateItem") from exc
        return from_item(response.get("Attributes", {}))

    def claim(self, arn: str, in_flight: InFlight) -> bool:
        """Take the right to deploy: only one deployment of ours is ever in flight per service."""
        result = self._conditional_update(
            arn,
            # The intent rides on the claim (no write of its own): until `set_operation` records the
            # operation and removes it, `lost_answer` says an attempt may have acted unheard, so one
            # that died before it could say so (the function timed out between RegisterTaskDefinition
            # and UpdateService) still has its retry look for what it did.
            UpdateExpression="SET in_flight = :f, lost_answer = :f",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(in_flight)",
            # No NULL members: `unclaim` asks attribute_not_exists(in_flight.operation_id), and a stored
            # NULL exists, which would keep a claim whose deployment never started.
            ExpressionAttributeValues=to_item({":f": in_flight.model_dump(exclude_none=True)}),
            ReturnValues="UPDATED_NEW",
        )
        return result is not None

    def set_operation(self, arn: str, digest: str, operation_id: str) -> None:
        self._conditional_update(
            arn,
            UpdateExpression="SET in_flight.operation_id = :o REMOVE lost_answer",
            ConditionExpression="in_flight.digest = :d",
            ExpressionAttributeValues=to_item({":o": operation_id, ":d": digest}),
        )

    def queue(self, arn: str, pending: Pending) -> bool:
        """Remember the newest push while the service is busy; an older push never replaces a newer."""
        result = self._conditional_update(
            arn,
            UpdateExpression="SET pending = :p",
            ConditionExpression=(
                "attribute_exists(pk) AND (attribute_not_exists(pending) OR pending.pushed_at <= :t)"
            ),
            ExpressionAttributeValues=to_item({":p": pending.model_dump(), ":t": pending.pushed_at}),
            ReturnValues="UPDATED_NEW",
        )
        return result is not None

    def unclaim_to_pending(self, arn: str, in_flight: InFlight) -> None:
        """App Runner said busy after we claimed: turn our claim into the pending push."""
        pending = Pending(
            digest=in_flight.digest,
            release_id=in_flight.release_id,
            pushed_at=in_flight.started_at,
            image=in_flight.image,
            tag=in_flight.tag,
            manifest=in_flight.manifest,
        )
        self._conditional_update(
            arn,
            UpdateExpression="REMOVE in_flight SET pending = :p",
            ConditionExpression="in_flight.digest = :d",
            ExpressionAttributeValues=to_item({":p": pending.model_dump(), ":d": in_flight.digest}),
        )

    def unclaim(self, arn: str, in_flight: InFlight, *, answer_lost: bool = False) -> None:
        """Give back a claim whose deployment is not known to have started; after a lost answer, keep it
        as `lost_answer` so the next attempt looks at what this one did."""
        values: dict[str, Any] = {":d": in_flight.digest}
        # Not lost: the intent the claim recorded goes with it.
        expression = "REMOVE in_flight, lost_answer"
        if answer_lost:
            values[":l"] = in_flight.model_dump(exclude_none=True)
            expression = "REMOVE in_flight SET lost_answer = :l"
        self._conditional_update(
            arn,
            UpdateExpression=expression,
            ConditionExpression="in_flight.digest = :d AND attribute_not_exists(in_flight.operation_id)",
            ExpressionAttributeValues=to_item(values),
        )

    def finish(self, arn: str, digest: str) -> InFlight | None:
        """End our in-flight deployment of `digest`; what it was, or None when it was not in flight."""
        old = self._conditional_update(
            arn,
            UpdateExpression="REMOVE in_flight",
            ConditionExpression="in_flight.digest = :d",
            ExpressionAttributeValues=to_item({":d": digest}),
            ReturnValues="ALL_OLD",
        )
        if not old or "in_flight" not in old:
            return None
        return InFlight.model_validate(old["in_flight"])

    def take_pending(self, arn: str) -> Pending | None:
        """Atomically turn the pending push into the in-flight deployment, if the service is free."""
        new = self._conditional_update(
            arn,
            UpdateExpression="SET in_flight = pending REMOVE pending",
            ConditionExpression="attribute_exists(pending) AND attribute_not_exists(in_flight)",
            ReturnValues="ALL_NEW",
        )
        if not new or "in_flight" not in new:
            return None
        return Pending.model_validate(new["in_flight"])

    def await_auto(self, arn: str, pending: Pending) -> None:
        """App Runner deploys this one itself: remember which release its next deployment belongs to."""
        self._conditional_update(
            arn,
            UpdateExpression="SET awaiting_auto = :p",
            ConditionExpression=(
                "attribute_exists(pk) AND"
                " (attribute_not_exists(awaiting_auto) OR awaiting_auto.pushed_at <= :t)"
            ),
            ExpressionAttributeValues=to_item({":p": pending.model_dump(), ":t": pending.pushed_at}),
        )

    def finish_auto(self, arn: str, digest: str) -> Pending | None:
        old = self._conditional_update(
            arn,
            UpdateExpression="REMOVE awaiting_auto",
            ConditionExpression="awaiting_auto.digest = :d",
            ExpressionAttributeValues=to_item({":d": digest}),
            ReturnValues="ALL_OLD",
        )
        if not old or "awaiting_auto" not in old:
            return None
        return Pending.model_validate(old["awaiting_auto"])

    def set_hold(self, arn: str, hold: Hold | None) -> None:
        """Hold automatic deploys on a service, or release it (None)."""
        if hold is None:
            # HOLD is one of DynamoDB's reserved words: named through a placeholder.
            self._conditional_update(
                arn,
                UpdateExpression="REMOVE #hold",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#hold": "hold"},
            )
            return
        self._conditional_update(
            arn,
            UpdateExpression="SET #hold = :h",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#hold": "hold"},
            ExpressionAttributeValues=to_item({":h": hold.model_dump()}),
        )

    def note_policy_problem(self, arn: str, wording: str) -> bool:
        """Remember that this wording of a policy problem was reported; False when it already was."""
        result = self._conditional_update(
            arn,
            UpdateExpression="SET policy_problem = :w",
            ConditionExpression=(
                "attribute_exists(pk) AND (attribute_not_exists(policy_problem) OR policy_problem <> :w)"
            ),
            ExpressionAttributeValues=to_item({":w": wording}),
            ReturnValues="UPDATED_NEW",
        )
        return result is not None

    def record_live(self, arn: str, live: LiveImage, *, expires_at: int) -> None:
        """What our deployment left running: on the service, and in its history."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        **table_keys.history(arn, live.since, live.release_id)._asdict(),
                        **live.model_dump(),
                        "expires_at": expires_at,
                    }
                ),
            )
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "PutItem") from exc
        self._conditional_update(
            arn,
            UpdateExpression="SET #live = :l",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#live": "live"},
            ExpressionAttributeValues=to_item({":l": live.model_dump()}),
        )

    def history(self, arn: str, *, limit: int = 20) -> list[LiveImage]:
        """What ran on the service, newest first: one Query."""
        try:
            page = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues=to_item({":p": table_keys.history_partition(arn)}),
                ScanIndexForward=False,
                Limit=limit,
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "Query") from exc
        return [
            LiveImage.model_validate(
                {key: value for key, value in from_item(item).items() if key in _LIVE_FIELDS}
            )
            for item in page.get("Items", [])
        ]


_LIVE_FIELDS = frozenset(LiveImage.model_fields)
