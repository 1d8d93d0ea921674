"""pushpilot's own state in its one DynamoDB table: the service index and the release records.

Keys: `pk`/`sk` strings. Services: `SVC#<arn>` / `META`, indexed by `image_key` in the `ByImage` GSI
so a push finds the services running `registry/repository:tag` with one Query. Releases:
`REL#<repository>@<digest>` / `META`. Every state change is a conditional update: the table, not the
handler, decides races between concurrent deliveries.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from pushpilot.adapters.dynamodb import (
    TableAdapter,
    dynamodb_error,
    from_item,
    is_conditional_failure,
    to_item,
)
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.releases import Release, ServiceRollout, Stage
from pushpilot.targets.apprunner.services import ServiceSnapshot

BY_IMAGE_INDEX = "ByImage"


class InFlight(BaseModel):
    """A deployment we started (or claimed the right to start) on a service."""

    model_config = ConfigDict(frozen=True)

    digest: str
    release_id: str
    # A pending push becomes the in-flight deployment by a copy inside DynamoDB (take_pending), so
    # the push time is accepted as the start time.
    started_at: str = Field(validation_alias=AliasChoices("started_at", "pushed_at"))
    operation_id: str | None = None


class Pending(BaseModel):
    """The newest push waiting for the service's current operation to end."""

    model_config = ConfigDict(frozen=True)

    digest: str
    release_id: str
    pushed_at: str


class IndexedService(BaseModel):
    model_config = ConfigDict(frozen=True)

    arn: str
    name: str
    status: str
    image_identifier: str
    image_key: str
    auto_deploy: bool
    service_url: str | None = None
    in_flight: InFlight | None = None
    pending: Pending | None = None
    awaiting_auto: Pending | None = None


def _indexed(values: dict[str, Any]) -> IndexedService:
    return IndexedService.model_validate(values)


def image_key_of(snapshot: ServiceSnapshot) -> str | None:
    if snapshot.image_identifier is None:
        return None
    try:
        return ImageRef.parse(snapshot.image_identifier).key
    except ValueError:
        return None


class ServiceIndex(TableAdapter):
    @staticmethod
    def _key(arn: str) -> dict[str, Any]:
        return to_item({"pk": f"SVC#{arn}", "sk": "META"})

    def services_for_image(self, image_key: str) -> list[IndexedService]:
        services: list[IndexedService] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_IMAGE_INDEX,
            "KeyConditionExpression": "image_key = :k",
            "ExpressionAttributeValues": to_item({":k": image_key}),
        }
        try:
            while True:
                page = self._client.query(**kwargs)
                services.extend(_indexed(from_item(item)) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return services
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as exc:
            raise dynamodb_error(exc, "Query") from exc

    def get(self, arn: str) -> IndexedService | None:
        try:
            item = self._client.get_item(TableName=self._table, Key=self._key(arn), ConsistentRead=True).get(
                "Item"
            )
        except ClientError as exc:
            raise dynamodb_error(exc, "GetItem") from exc
        return _indexed(from_item(item)) if item else None

    def find_by_name(self, name: str) -> IndexedService | None:
        """Scheduled/rare path (events that name a service but carry no ARN): a filtered scan."""
        for service in self.all():
            if service.name == name:
                return service
        return None

    def all(self) -> list[IndexedService]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(pk, :p)",
            "ExpressionAttributeValues": to_item({":p": "SVC#"}),
        }
        found: list[IndexedService] = []
        try:
            while True:
                page = self._client.scan(**kwargs)
                found.extend(_indexed(from_item(item)) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return found
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as exc:
            raise dynamodb_error(exc, "Scan") from exc

    def upsert(self, snapshot: ServiceSnapshot, *, now: str) -> None:
        """Record what App Runner says of a service; our own deployment bookkeeping is left as it is."""
        image_key = image_key_of(snapshot)
        if image_key is None or snapshot.image_identifier is None:
            self.remove(snapshot.arn)
            return
        values = {
            "arn": snapshot.arn,
            "name": snapshot.name,
            "status": snapshot.status,
            "image_identifier": snapshot.image_identifier,
            "image_key": image_key,
            "auto_deploy": snapshot.auto_deploy,
            "service_url": snapshot.service_url or "",
            "refreshed_at": now,
        }
        names = {f"#{key}": key for key in values}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(snapshot.arn),
                UpdateExpression="SET " + ", ".join(f"#{key} = :{key}" for key in values),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item({f":{key}": value for key, value in values.items()}),
            )
        except ClientError as exc:
            raise dynamodb_error(exc, "UpdateItem") from exc

    def remove(self, arn: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._key(arn))
        except ClientError as exc:
            raise dynamodb_error(exc, "DeleteItem") from exc

    def _conditional_update(self, arn: str, **kwargs: Any) -> dict[str, Any] | None:
        """Run a conditional update; None when the condition did not hold (someone else won)."""
        try:
            response = self._client.update_item(TableName=self._table, Key=self._key(arn), **kwargs)
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise dynamodb_error(exc, "UpdateItem") from exc
        return from_item(response.get("Attributes", {}))

    def claim(self, arn: str, in_flight: InFlight) -> bool:
        """Take the right to deploy: only one deployment of ours is ever in flight per service."""
        result = self._conditional_update(
            arn,
            UpdateExpression="SET in_flight = :f",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(in_flight)",
            ExpressionAttributeValues=to_item({":f": in_flight.model_dump()}),
            ReturnValues="UPDATED_NEW",
        )
        return result is not None

    def set_operation(self, arn: str, digest: str, operation_id: str) -> None:
        self._conditional_update(
            arn,
            UpdateExpression="SET in_flight.operation_id = :o",
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
            digest=in_flight.digest, release_id=in_flight.release_id, pushed_at=in_flight.started_at
        )
        self._conditional_update(
            arn,
            UpdateExpression="REMOVE in_flight SET pending = :p",
            ConditionExpression="in_flight.digest = :d",
            ExpressionAttributeValues=to_item({":p": pending.model_dump(), ":d": in_flight.digest}),
        )

    def unclaim(self, arn: str, in_flight: InFlight) -> None:
        """Give back a claim whose deployment never started."""
        self._conditional_update(
            arn,
            UpdateExpression="REMOVE in_flight",
            ConditionExpression="in_flight.digest = :d AND attribute_not_exists(in_flight.operation_id)",
            ExpressionAttributeValues=to_item({":d": in_flight.digest}),
        )

    def finish(self, arn: str) -> InFlight | None:
        """End our in-flight deployment; returns what it was, or None when none was in flight."""
        old = self._conditional_update(
            arn,
            UpdateExpression="REMOVE in_flight",
            ConditionExpression="attribute_exists(in_flight)",
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

    def finish_auto(self, arn: str) -> Pending | None:
        old = self._conditional_update(
            arn,
            UpdateExpression="REMOVE awaiting_auto",
            ConditionExpression="attribute_exists(awaiting_auto)",
            ReturnValues="ALL_OLD",
        )
        if not old or "awaiting_auto" not in old:
            return None
        return Pending.model_validate(old["awaiting_auto"])


class ReleaseStore(TableAdapter):
    @staticmethod
    def _key(release_id: str) -> dict[str, Any]:
        return to_item({"pk": f"REL#{release_id}", "sk": "META"})

    def open(self, release: Release, *, tag: str | None, expires_at: int) -> Release:
        """Create the release if new, add the tag if not; return the stored record."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(release.release_id),
                UpdateExpression=(
                    "SET release_id = if_not_exists(release_id, :id),"
                    " repository = if_not_exists(repository, :repo),"
                    " registry = if_not_exists(registry, :reg), digest = if_not_exists(digest, :dig),"
                    " stage = if_not_exists(stage, :stage), services = if_not_exists(services, :empty),"
                    " created_at = if_not_exists(created_at, :now), updated_at = :now, expires_at = :exp,"
                    " tags = list_append(if_not_exists(tags, :empty_list), :tag)"
                ),
                ExpressionAttributeValues=to_item(
                    {
                        ":id": release.release_id,
                        ":repo": release.repository,
                        ":reg": release.registry,
                        ":dig": release.digest,
                        ":stage": str(release.stage),
                        ":empty": {},
                        ":now": release.updated_at,
                        ":exp": expires_at,
                        ":empty_list": [],
                        ":tag": [tag] if tag else [],
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            raise dynamodb_error(exc, "UpdateItem") from exc
        return self._release(from_item(response["Attributes"]))

    @staticmethod
    def _release(values: dict[str, Any]) -> Release:
        tags = tuple(dict.fromkeys(values.get("tags", [])))
        return Release.model_validate({**values, "tags": tags})

    def get(self, release_id: str) -> Release | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key=self._key(release_id), ConsistentRead=True
            ).get("Item")
        except ClientError as exc:
            raise dynamodb_error(exc, "GetItem") from exc
        return self._release(from_item(item)) if item else None

    def record_verdict(self, release_id: str, verdict: dict[str, Any], stage: Stage, *, now: str) -> None:
        self._update(
            release_id,
            "SET verdict = :v, stage = :s, updated_at = :now",
            {":v": verdict, ":s": str(stage), ":now": now},
        )

    def record_rollout(self, rollout: ServiceRollout, release_id: str) -> Release:
        values = self._update(
            release_id,
            "SET services.#arn = :r, updated_at = :now",
            {":r": rollout.model_dump(mode="json"), ":now": rollout.updated_at},
            names={"#arn": rollout.service_arn},
        )
        return self._release(values)

    def set_stage(self, release_id: str, stage: Stage, *, now: str) -> None:
        self._update(release_id, "SET stage = :s, updated_at = :now", {":s": str(stage), ":now": now})

    def _update(
        self, release_id: str, expression: str, values: dict[str, Any], *, names: dict[str, str] | None = None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._key(release_id),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": to_item(values),
            "ReturnValues": "ALL_NEW",
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            response = self._client.update_item(**kwargs)
        except ClientError as exc:
            raise dynamodb_error(exc, "UpdateItem") from exc
        return from_item(response["Attributes"])
