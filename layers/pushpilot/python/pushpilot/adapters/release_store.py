"""Release records in the stack's table: `pk = REL#<repository>@<digest>`, `sk = META`."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import table_keys
from pushpilot.adapters.dynamodb import TableAdapter, dynamodb_error, from_item, to_item
from pushpilot.core.releases import Release, ServiceRollout, Stage
from pushpilot.core.verdicts import Verdict


class ReleaseStore(TableAdapter):
    @staticmethod
    def _key(release_id: str) -> dict[str, Any]:
        return table_keys.release(release_id).item()

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
                    " verdicts = if_not_exists(verdicts, :empty),"
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
        except (ClientError, BotoCoreError) as exc:
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
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "GetItem") from exc
        return self._release(from_item(item)) if item else None

    def record_verdict(self, release_id: str, verdict: Verdict, stage: Stage, *, now: str) -> None:
        """One verdict per platform: a later platform's verdict never overwrites another's."""
        self._update(
            release_id,
            "SET verdicts.#platform = :v, stage = :s, updated_at = :now",
            {":v": verdict.model_dump(mode="json"), ":s": str(stage), ":now": now},
            names={"#platform": str(verdict.required)},
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
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "UpdateItem") from exc
        return from_item(response["Attributes"])
