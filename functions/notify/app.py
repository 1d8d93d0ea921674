"""Notices from the SQS notice queue → Slack and SNS, each channel at most once per notice.

A record fails (and SQS retries it, then dead-letters it with its payload) only when a channel failed
in a way a retry can fix; channels that already delivered are skipped on the retry. A body that is not
a Notice is logged with its message id, counted and dropped: no retry can make it parse.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from pushpilot.adapters import clients
from pushpilot.adapters.sns import SnsChannel
from pushpilot.adapters.threads import DeliveryLedger, SlackThreads
from pushpilot.core.errors import RetryableError
from pushpilot.core.notices import Notice
from pushpilot.entry.settings import NotifySettings
from pushpilot.flows.notify import NoticeChannel, deliver

logger = Logger()
metrics = Metrics()
# A batch whose every record failed is answered like any other: each listed for SQS to retry.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def _ledger(table_name: str, dynamodb: Any) -> DeliveryLedger:
    # One ledger per table and the client it writes with: built once in a Lambda process.
    return DeliveryLedger(table_name, dynamodb)


def _channels(settings: NotifySettings) -> list[NoticeChannel]:
    channels: list[NoticeChannel] = []
    if settings.topic_arn:
        channels.append(SnsChannel(settings.topic_arn))
    if settings.slack_mode != "none":
        # slack-sdk is imported only by installs that use Slack: SNS-only cold starts skip it.
        from pushpilot.adapters.slack import SlackChannel

        channels.append(SlackChannel(settings, SlackThreads(settings.table_name)))
    return channels


def _parse_notice(record: SQSRecord) -> Notice | None:
    try:
        return Notice.model_validate_json(record.body)
    except ValidationError as exc:
        # Field names only: the rejected values stay out of the logs.
        fields = sorted({".".join(str(part) for part in err["loc"]) or "body" for err in exc.errors()})
    logger.error(
        "notice dropped: body is not a Notice", extra={"message_id": record.message_id, "fields": fields}
    )
    metrics.add_metric(name="MalformedNotice", unit=MetricUnit.Count, value=1)
    return None


def _record_handler(
    record: SQSRecord, settings: NotifySettings, channels: list[NoticeChannel], ledger: DeliveryLedger
) -> None:
    notice = _parse_notice(record)
    if notice is None:
        return
    report = deliver(notice, channels, selection=settings.notify_kinds, once=ledger.once)
    for result in report.results:
        # SnsSent, SlackRejected, SlackFailed, ...: one metric per channel and outcome, for alarms.
        metrics.add_metric(
            name=f"{result.channel.capitalize()}{result.status.capitalize()}", unit=MetricUnit.Count, value=1
        )
        log = logger.info if result.status == "sent" else logger.error
        log(
            "notice delivery",
            extra={
                "message_id": record.message_id,
                "dedupe_key": notice.dedupe_key,
                "kind": notice.kind.value,
                **result.model_dump(exclude_none=True, exclude={"receipt"}),
            },
        )
    if report.filtered:
        logger.info("notice filtered by NOTIFY_KINDS", extra={"dedupe_key": notice.dedupe_key})
    if report.failed_channels:
        raise RetryableError(f"{', '.join(report.failed_channels)} failed for {notice.dedupe_key}")


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = NotifySettings.from_env()
    ledger = _ledger(settings.table_name, clients.client("dynamodb"))
    ledger.register_lambda_context(context)
    channels = _channels(settings)
    return dict(
        process_partial_response(
            event=event,
            record_handler=lambda record: _record_handler(record, settings, channels, ledger),
            processor=processor,
            context=context,
        )
    )
