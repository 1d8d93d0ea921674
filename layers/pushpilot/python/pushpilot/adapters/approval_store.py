"""Approvals in the stack's table: `pk = APPROVAL#<service arn>`, `sk = <digest>`. Every write is
conditional: a vote lands once per voter and only while the approval waits; a state moves once."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters.dynamodb import (
    TableAdapter,
    dynamodb_error,
    from_item,
    is_conditional_failure,
    to_item,
)
from pushpilot.core.approvals import Approval, ApprovalState, Vote

# Kept long enough to answer "who approved what" in an audit, then left to the table's TTL.
RETENTION_SECONDS = 400 * 24 * 3600


class ApprovalTable(TableAdapter):
    @staticmethod
    def _key(service_arn: str, digest: str) -> dict[str, Any]:
        return to_item({"pk": f"APPROVAL#{service_arn}", "sk": digest})

    @staticmethod
    def _approval(values: dict[str, Any]) -> Approval:
        fields = {key: value for key, value in values.items() if key not in {"pk", "sk", "expires_at"}}
        return Approval.model_validate(fields)

    def request(self, approval: Approval) -> tuple[Approval, list[Approval]]:
        item = {
            "pk": f"APPROVAL#{approval.service_arn}",
            "sk": approval.digest,
            **approval.model_dump(mode="json"),
            "expires_at": int(self._clock()) + RETENTION_SECONDS,
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )
            stored = approval
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise dynamodb_error(exc, "PutItem") from exc
            # A retry of the same request: the first one's approval (and its votes) stand.
            stored = self.get(approval.service_arn, approval.digest) or approval
        except BotoCoreError as exc:
            raise dynamodb_error(exc, "PutItem") from exc
        superseded = []
        for other in self.of_service(approval.service_arn):
            if other.digest == approval.digest or other.state is not ApprovalState.WAITING:
                continue
            if (other.hook is None) != (approval.hook is None):
                # A paused deployment and a release waiting for approval are different questions.
                continue
            if other.requested_at > stored.requested_at:
                continue
            closed = self.close(
                other.service_arn,
                other.digest,
                ApprovalState.SUPERSEDED,
                expected=ApprovalState.WAITING,
                closed_by=stored.release_id,
            )
            if closed is not None:
                superseded.append(closed)
        return stored, superseded

    def get(self, service_arn: str, digest: str) -> Approval | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key=self._key(service_arn, digest), ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "GetItem") from exc
        return self._approval(from_item(item)) if item else None

    def of_service(self, service_arn: str) -> list[Approval]:
        approvals: list[Approval] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": f"APPROVAL#{service_arn}"}),
            "ConsistentRead": True,
        }
        try:
            while True:
                response = self._client.query(**kwargs)
                approvals += [self._approval(from_item(item)) for item in response.get("Items", [])]
                if "LastEvaluatedKey" not in response:
                    break
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "Query") from exc
        return sorted(approvals, key=lambda approval: approval.requested_at, reverse=True)

    def vote(self, service_arn: str, digest: str, vote: Vote) -> Approval | None:
        return self._conditional(
            service_arn,
            digest,
            "SET votes.#voter = :vote",
            "#state = :waiting AND attribute_not_exists(votes.#voter)",
            {":vote": vote.model_dump(mode="json"), ":waiting": str(ApprovalState.WAITING)},
            {"#voter": vote.voter, "#state": "state"},
        )

    def close(
        self,
        service_arn: str,
        digest: str,
        state: ApprovalState,
        *,
        expected: ApprovalState,
        closed_by: str | None = None,
    ) -> Approval | None:
        expression = "SET #state = :state" + (", closed_by = :by" if closed_by else "")
        values: dict[str, Any] = {":state": str(state), ":expected": str(expected)}
        if closed_by:
            values[":by"] = closed_by
        return self._conditional(
            service_arn, digest, expression, "#state = :expected", values, {"#state": "state"}
        )

    def _conditional(  # noqa: PLR0917 - one private helper, every caller passes all six
        self,
        service_arn: str,
        digest: str,
        expression: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str],
    ) -> Approval | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(service_arn, digest),
                UpdateExpression=expression,
                ConditionExpression=f"attribute_exists(pk) AND {condition}",
                ExpressionAttributeValues=to_item(values),
                ExpressionAttributeNames=names,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise dynamodb_error(exc, "UpdateItem") from exc
        except BotoCoreError as exc:
            raise dynamodb_error(exc, "UpdateItem") from exc
        return self._approval(from_item(response["Attributes"]))
