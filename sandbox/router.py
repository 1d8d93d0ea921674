"""Deliver events to the handlers the way EventBridge and Lambda would, from the rules in template.yaml.

Patterns are the template's own, resolved with the stack's parameters, and matched by moto's
EventBridge pattern engine (pinned in pyproject). Invocation follows Lambda's rules: rule targets and
schedules are asynchronous (retried, then sent to the on-failure destination or dead-letter queue),
SQS sources are polled in batches (partial batch failures honoured, redrive left to the queue).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import boto3
from moto.events.models import EventPattern

from pushpilot_sandbox.logcapture import CAPTURE, LogSink
from pushpilot_sandbox.product_clients import follow_endpoints
from pushpilot_sandbox.router_records import DeadLetter, Delivery, LambdaContext, _Failure, _Result
from pushpilot_sandbox.sam_functions import (
    DEFAULT_BUS,
    DestinationSpec,
    FunctionSpec,
    RuleSpec,
    ScheduleSpec,
    SqsSourceSpec,
    implicit_resources,
    read_functions,
)
from pushpilot_sandbox.template import PhysicalResource, Pseudo, Resolver, load_template

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

__all__ = [
    "DeadLetter",
    "Delivery",
    "EventRouter",
    "FunctionSpec",
    "LambdaContext",
    "RouterError",
]

# os.environ and sys.stdout are process-wide: one invocation (or one concurrent batch) owns them at a time.
_PROCESS_LOCK: Final = threading.RLock()

# Variables the Lambda runtime sets for each function; they cannot be overridden by the template.
_RUNTIME_KEYS: Final = frozenset(
    {
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
        "AWS_EXECUTION_ENV",
    }
)

# The record attributes an SQS event source passes on to the function.
_SQS_RECORD_ATTRIBUTES: Final = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)


class RouterError(Exception):
    """The router was asked for something the template does not define, or cannot be run as asked."""


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _select_path(event: Any, path: str) -> Any:
    """EventBridge InputPath for the `$.a.b` paths rules use; brackets and filters are not supported."""
    if path in {"$", ""}:
        return event
    if not path.startswith("$."):
        raise RouterError(f"InputPath {path!r} is not a `$.field` path")
    value = event
    for part in path[2:].split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class EventRouter:
    """The template's rules, schedules and SQS sources, delivering to its handlers in this process."""

    def __init__(
        self,
        *,
        template_path: Path,
        parameters: Mapping[str, str],
        resources: Mapping[str, PhysicalResource],
        base_env: Mapping[str, str],
        region: str,
        account_id: str,
        log_sink: LogSink | None = None,
        stack_name: str = "pushpilot",
    ) -> None:
        self._template_path = Path(template_path)
        self._pseudo = Pseudo(region=region, account_id=account_id, stack_name=stack_name)
        self._given_resources = dict(resources)
        self.update_parameters(parameters)
        self._base_env = dict(base_env)
        self._region = region
        self._account_id = account_id
        self.log_sink = log_sink or LogSink()
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._dead_letters: list[DeadLetter] = []
        self._sqs: SQSClient | None = None
        self._sns: SNSClient | None = None
        self.retry_delay_seconds = 0.2

    def update_parameters(self, parameters: Mapping[str, str]) -> None:
        """Resolve the template's functions, rules and environment for these parameter values, as a
        stack update would (the handlers read their settings at each invocation)."""
        resolver = Resolver(
            load_template(self._template_path), parameters, self._pseudo, self._given_resources
        )
        resolver = resolver.with_resources(implicit_resources(resolver))
        self._resources = resolver.resources
        self._functions = {
            spec.logical_id: spec
            for spec in read_functions(resolver, template_dir=self._template_path.parent)
        }
        self._patterns = {
            (spec.logical_id, rule.name): EventPattern.load(json.dumps(rule.pattern))
            for spec in self._functions.values()
            for rule in spec.rules
        }

    # --- what the template defines -------------------------------------------------------------

    @property
    def resources(self) -> dict[str, PhysicalResource]:
        """Every resource the router resolved the template with (provisioned, functions, roles, rules)."""
        return dict(self._resources)

    def functions(self) -> list[FunctionSpec]:
        return list(self._functions.values())

    def function(self, logical_id: str) -> FunctionSpec:
        if logical_id not in self._functions:
            raise RouterError(
                f"no function {logical_id!r} in the template (have {', '.join(self._functions)})"
            )
        return self._functions[logical_id]

    def targets_for(self, event: Mapping[str, Any], *, event_bus: str = DEFAULT_BUS) -> list[str]:
        """Logical ids of the functions the event reaches, once per matching enabled rule."""
        return [spec.logical_id for spec, _ in self._matching_rules(self.complete_event(event), event_bus)]

    def _matching_rules(
        self, event: Mapping[str, Any], event_bus: str
    ) -> list[tuple[FunctionSpec, RuleSpec]]:
        return [
            (spec, rule)
            for spec in self._functions.values()
            for rule in spec.rules
            if rule.enabled
            and rule.event_bus == event_bus
            and self._patterns[spec.logical_id, rule.name].matches_event(cast("Any", dict(event)))
        ]

    # --- what happened -------------------------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def dead_letters(self) -> list[DeadLetter]:
        with self._lock:
            return list(self._dead_letters)

    # --- EventBridge ---------------------------------------------------------------------------

    def complete_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Fill the envelope fields PutEvents fills (id, time, account, region, version, resources)."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "time": _now_text(),
            "account": self._account_id,
            "region": self._region,
            "resources": [],
            **event,
        }

    def deliver(self, event: Mapping[str, Any], *, event_bus: str = DEFAULT_BUS) -> list[Delivery]:
        """Invoke every function whose rule matches, asynchronously, one after the other."""
        complete = self.complete_event(event)
        deliveries = []
        for spec, rule in self._matching_rules(complete, event_bus):
            with self._invocation_environment([spec]):
                deliveries.append(self._invoke_for_rule(spec, rule, complete))
        return deliveries

    def deliver_many(
        self, events: Sequence[Mapping[str, Any]], *, workers: int = 4, event_bus: str = DEFAULT_BUS
    ) -> list[Delivery]:
        """Deliver events from `workers` threads at once, as EventBridge does in a burst.

        The environment is process-wide, so the batch runs under the union of the targeted functions'
        environments; functions that disagree on a variable cannot share a batch.
        """
        work = [
            (spec, rule, complete)
            for complete in (self.complete_event(event) for event in events)
            for spec, rule in self._matching_rules(complete, event_bus)
        ]
        if not work:
            return []
        with (
            self._invocation_environment([spec for spec, _, _ in work]),
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eventbridge") as pool,
        ):
            futures = [pool.submit(self._invoke_for_rule, spec, rule, event) for spec, rule, event in work]
            return [future.result() for future in futures]

    def _invoke_for_rule(self, spec: FunctionSpec, rule: RuleSpec, event: dict[str, Any]) -> Delivery:
        payload = rule.input if rule.input is not None else event
        if rule.input_path is not None:
            payload = _select_path(event, rule.input_path)
        return self._invoke_async(spec, payload, trigger="rule", trigger_name=rule.key, event_id=event["id"])

    # --- schedules -----------------------------------------------------------------------------

    def invoke_url(self, function_logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """A function URL request: one synchronous invocation, no retry. Lambda answers an unhandled error
        (or a response it cannot read) with 502, as a function URL does."""
        spec = self.function(function_logical_id)
        with self._invocation_environment([spec]):
            result = self._invoke(spec, event)
        if result.failure is not None or not isinstance(result.response, dict):
            return {"statusCode": 502, "body": "Internal Server Error"}
        return dict(result.response)

    def invoke_schedule(self, function_logical_id: str, schedule: str | None = None) -> Delivery:
        """Fire one of the function's schedules now: the first, or the one named (event or rule name)."""
        spec = self.function(function_logical_id)
        chosen = self._schedule(spec, schedule)
        if not chosen.enabled:
            raise RouterError(f"{spec.logical_id} schedule {chosen.key} is disabled by the template")
        event_id = str(uuid.uuid4())
        event = {
            "version": "0",
            "id": event_id,
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self._account_id,
            "time": _now_text(),
            "region": self._region,
            "resources": [chosen.arn],
            "detail": {},
        }
        payload = chosen.input if chosen.input is not None else event
        with self._invocation_environment([spec]):
            return self._invoke_async(
                spec, payload, trigger="schedule", trigger_name=chosen.key, event_id=event_id
            )

    def invoke_custom_resource(self, function_logical_id: str, request: Mapping[str, Any]) -> Delivery:
        """CloudFormation asks the function behind a custom resource to act: one asynchronous invocation."""
        spec = self.function(function_logical_id)
        with self._invocation_environment([spec]):
            return self._invoke_async(
                spec,
                dict(request),
                trigger="stack",
                trigger_name=str(request["LogicalResourceId"]),
                event_id=str(request["RequestId"]),
            )

    @staticmethod
    def _schedule(spec: FunctionSpec, name: str | None) -> ScheduleSpec:
        for schedule in spec.schedules:
            if name is None or name in {schedule.key, schedule.name}:
                return schedule
        known = ", ".join(schedule.key for schedule in spec.schedules) or "none"
        raise RouterError(f"{spec.logical_id} has no schedule {name or ''!r} (schedules: {known})")

    # --- asynchronous invocation ---------------------------------------------------------------

    def _invoke_async(
        self,
        spec: FunctionSpec,
        payload: Any,
        *,
        trigger: Literal["rule", "schedule", "stack"],
        trigger_name: str,
        event_id: str,
    ) -> Delivery:
        attempts = 0
        result = _Result(request_id="")
        for attempt in range(1 + spec.invoke_config.maximum_retry_attempts):
            if attempt:
                # Lambda waits a minute, then two, before its retries; a short pause keeps that
                # order of events (a concurrent duplicate finishes before the retry) at sandbox speed.
                time.sleep(self.retry_delay_seconds * attempt)
            attempts += 1
            result = self._invoke(spec, payload)
            if result.failure is None:
                break
        dead_lettered = False
        if result.failure is None:
            if spec.invoke_config.on_success is not None:
                record = self._destination_record(spec, payload, result, attempts)
                self._send(spec.invoke_config.on_success, record)
        elif spec.invoke_config.on_failure is not None:
            record = self._destination_record(spec, payload, result, attempts)
            self._dead_letter(spec, spec.invoke_config.on_failure, "on-failure destination", record, result)
            dead_lettered = True
        elif spec.dead_letter_queue is not None:
            self._dead_letter(spec, spec.dead_letter_queue, "dead-letter queue", payload, result)
            dead_lettered = True
        outcome = result.response if isinstance(result.response, dict) else None
        return self._record(
            Delivery(
                function=spec.logical_id,
                trigger=trigger,
                trigger_name=trigger_name,
                event_id=event_id,
                attempts=attempts,
                outcome=outcome,
                error_type=result.failure.error_type if result.failure else None,
                error_message=result.failure.error_message if result.failure else None,
                dead_lettered=dead_lettered,
            )
        )

    def _destination_record(
        self, spec: FunctionSpec, payload: Any, result: _Result, attempts: int
    ) -> dict[str, Any]:
        failed = result.failure is not None
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if result.failure is not None:
            response_context["functionError"] = "Unhandled"
        return {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": result.request_id,
                "functionArn": f"{spec.arn}:$LATEST",
                "condition": "RetriesExhausted" if failed else "Success",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": payload,
            "responseContext": response_context,
            "responsePayload": result.failure.payload(result.request_id)
            if result.failure
            else result.response,
        }

    def _dead_letter(
        self,
        spec: FunctionSpec,
        destination: DestinationSpec,
        kind: Literal["on-failure destination", "dead-letter queue"],
        record: Any,
        result: _Result,
    ) -> None:
        attributes: dict[str, str] = {}
        if kind == "dead-letter queue" and result.failure is not None:
            # A dead-letter queue receives the event itself, the error riding in message attributes.
            attributes = {
                "RequestID": result.request_id,
                "ErrorCode": "200",
                "ErrorMessage": result.failure.error_message[:1000],
            }
        self._send(destination, record, attributes)
        letter = DeadLetter(function=spec.logical_id, destination=destination, kind=kind, record=record)
        with self._lock:
            self._dead_letters.append(letter)

    def _send(
        self, destination: DestinationSpec, body: Any, attributes: Mapping[str, str] | None = None
    ) -> None:
        text = json.dumps(body)
        message_attributes: dict[str, Any] = {
            name: {"DataType": "Number" if name == "ErrorCode" else "String", "StringValue": value}
            for name, value in (attributes or {}).items()
        }
        if destination.type == "SQS":
            self._sqs_client().send_message(
                QueueUrl=self._queue_url(destination.arn),
                MessageBody=text,
                MessageAttributes=message_attributes,
            )
        else:
            self._sns_client().publish(
                TopicArn=destination.arn, Message=text, MessageAttributes=message_attributes
            )

    # --- SQS event sources ---------------------------------------------------------------------

    def drain_queues(self, *, max_rounds: int = 50) -> list[Delivery]:
        """Poll every enabled SQS source until a round receives nothing (or `max_rounds` pass).

        Failed messages are made visible again at once; the queue's own redrive policy moves a
        message to its dead-letter queue once it has been received `maxReceiveCount` times (moto does
        this on receive, as SQS does).
        """
        sources = [
            (spec, source)
            for spec in self._functions.values()
            for source in spec.sqs_sources
            if source.enabled
        ]
        deliveries: list[Delivery] = []
        for _ in range(max_rounds):
            received_any = False
            for spec, source in sources:
                messages = self._receive(source)
                if not messages:
                    continue
                received_any = True
                with self._invocation_environment([spec]):
                    deliveries.append(self._invoke_batch(spec, source, messages))
            if not received_any:
                break
        return deliveries

    def _receive(self, source: SqsSourceSpec) -> list[MessageTypeDef]:
        queue_url = self._queue_url(source.queue_arn)
        messages: list[MessageTypeDef] = []
        while len(messages) < source.batch_size:
            wanted = min(10, source.batch_size - len(messages))
            answer = self._sqs_client().receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=wanted,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            batch = answer.get("Messages", [])
            messages.extend(batch)
            if len(batch) < wanted:
                # moto hands out every receivable message up to the maximum asked for, so a short
                # answer means the queue has no more for now: asking again would come back empty.
                break
        return messages

    def _sqs_event(self, source: SqsSourceSpec, messages: Sequence[MessageTypeDef]) -> dict[str, Any]:
        records = []
        for message in messages:
            attributes = message.get("Attributes", {})
            record: dict[str, Any] = {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {key: attributes[key] for key in _SQS_RECORD_ATTRIBUTES if key in attributes},
                "messageAttributes": {
                    name: _lambda_message_attribute(value)
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": source.queue_arn,
                "awsRegion": self._region,
            }
            if "MD5OfMessageAttributes" in message:
                record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
            records.append(record)
        return {"Records": records}

    def _invoke_batch(
        self, spec: FunctionSpec, source: SqsSourceSpec, messages: Sequence[MessageTypeDef]
    ) -> Delivery:
        event = self._sqs_event(source, messages)
        ids = [message["MessageId"] for message in messages]
        result = self._invoke(spec, event)
        if result.failure is not None:
            failed = set(ids)
        elif source.report_batch_item_failures:
            failed = _reported_failures(result.response, ids)
        else:
            failed = set()
        queue_url = self._queue_url(source.queue_arn)
        sqs = self._sqs_client()
        for message in messages:
            if message["MessageId"] in failed:
                # Visible again at once: the sandbox has no clock to wait out the visibility timeout.
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return self._record(
            Delivery(
                function=spec.logical_id,
                trigger="sqs",
                trigger_name=source.name,
                event_id=ids[0],
                attempts=1,
                outcome=result.response if isinstance(result.response, dict) else None,
                error_type=result.failure.error_type if result.failure else None,
                error_message=result.failure.error_message if result.failure else None,
                record_ids=tuple(ids),
                failed_record_ids=tuple(message_id for message_id in ids if message_id in failed),
            )
        )

    # --- one invocation ------------------------------------------------------------------------

    def _invoke(self, spec: FunctionSpec, payload: Any) -> _Result:
        """One synchronous invocation; the caller holds the invocation environment."""
        handler = getattr(self._module(spec), spec.handler_name)
        context = LambdaContext(
            function_name=spec.function_name,
            invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory_mb,
            timeout_seconds=spec.timeout_seconds,
            log_group_name=f"/aws/lambda/{spec.function_name}",
            log_stream_name=f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        )
        # Lambda hands the handler a fresh copy decoded from JSON, never the caller's objects.
        event = json.loads(json.dumps(payload))
        try:
            response = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - Lambda turns any exception into a function error
            failure = _Failure(
                error_type=type(exc).__name__,
                error_message=str(exc),
                stack_trace=traceback.format_tb(exc.__traceback__.tb_next if exc.__traceback__ else None),
            )
            # The runtime logs an unhandled error as one structured line, as Lambda's JSON log format does.
            CAPTURE.write(
                json.dumps(
                    {
                        "timestamp": datetime.now(UTC).isoformat(),
                        "level": "ERROR",
                        "requestId": context.aws_request_id,
                        "message": failure.payload(context.aws_request_id),
                    }
                )
                + "\n"
            )
            return _Result(request_id=context.aws_request_id, failure=failure)
        try:
            return _Result(request_id=context.aws_request_id, response=json.loads(json.dumps(response)))
        except TypeError as exc:
            failure = _Failure("Runtime.MarshalError", f"Unable to marshal response: {exc}", [])
            return _Result(request_id=context.aws_request_id, failure=failure)

    def _module(self, spec: FunctionSpec) -> ModuleType:
        # Checked before taking the lock: batch workers run while the batch's owner holds it.
        module = self._modules.get(spec.logical_id)
        if module is not None:
            return module
        with _PROCESS_LOCK:
            module = self._modules.get(spec.logical_id)
            if module is not None:
                return module
            path = spec.handler_file
            if not path.is_file():
                raise RouterError(f"{spec.logical_id}: handler file {path} does not exist")
            name = f"pushpilot_handler_{spec.logical_id}_{uuid.uuid4().hex[:8]}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            if module_spec is None or module_spec.loader is None:
                raise RouterError(f"{spec.logical_id}: cannot import {path}")
            module = importlib.util.module_from_spec(module_spec)
            # Registered before running so pydantic and dataclasses can resolve the module's annotations.
            sys.modules[name] = module
            with redirect_stdout(CAPTURE):
                module_spec.loader.exec_module(module)
            _bind_loggers_to_capture(module)
            self._modules[spec.logical_id] = module
            return module

    # --- the process-wide environment ----------------------------------------------------------

    def environment_for(self, spec: FunctionSpec) -> dict[str, str]:
        """What the function sees: the sandbox's base settings, its template variables, Lambda's own."""
        runtime = {
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"$LATEST/{spec.logical_id}",
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or 'python3.13'}",
            "AWS_REGION": self._region,
            "AWS_DEFAULT_REGION": self._region,
        }
        return {**self._base_env, **spec.environment, **runtime}

    def _union_environment(self, specs: Sequence[FunctionSpec]) -> dict[str, str]:
        union: dict[str, str] = {}
        owners: dict[str, str] = {}
        distinct = {spec.logical_id: spec for spec in specs}
        for spec in distinct.values():
            for key, value in self.environment_for(spec).items():
                if key in union and union[key] != value:
                    if key in _RUNTIME_KEYS:
                        continue
                    raise RouterError(
                        f"{owners[key]} and {spec.logical_id} set {key} differently "
                        f"({union[key]!r} vs {value!r}); deliver them in separate batches"
                    )
                union.setdefault(key, value)
                owners.setdefault(key, spec.logical_id)
        if len(distinct) > 1:
            for key in _RUNTIME_KEYS:
                union.pop(key, None)
        return union

    @contextmanager
    def _invocation_environment(self, specs: Sequence[FunctionSpec]) -> Iterator[None]:
        environment = self._union_environment(specs)
        with _PROCESS_LOCK:
            saved = {key: os.environ.get(key) for key in environment}
            os.environ.update(environment)
            follow_endpoints()
            try:
                with CAPTURE.activate(self.log_sink), redirect_stdout(CAPTURE):
                    for spec in {spec.logical_id: spec for spec in specs}.values():
                        self._module(spec)
                    yield
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

    # --- clients and records -------------------------------------------------------------------

    def _session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=self._base_env.get("AWS_ACCESS_KEY_ID", "sandbox"),
            aws_secret_access_key=self._base_env.get("AWS_SECRET_ACCESS_KEY", "sandbox"),
            region_name=self._region,
        )

    def _endpoint(self, service: str) -> str:
        endpoint = self._base_env.get(f"AWS_ENDPOINT_URL_{service.upper()}") or self._base_env.get(
            "AWS_ENDPOINT_URL"
        )
        if not endpoint:
            raise RouterError(f"base_env names no endpoint for {service} (AWS_ENDPOINT_URL)")
        return endpoint

    def _sqs_client(self) -> SQSClient:
        with self._lock:
            if self._sqs is None:
                self._sqs = self._session().client("sqs", endpoint_url=self._endpoint("sqs"))
            return self._sqs

    def _sns_client(self) -> SNSClient:
        with self._lock:
            if self._sns is None:
                self._sns = self._session().client("sns", endpoint_url=self._endpoint("sns"))
            return self._sns

    def _queue_url(self, arn: str) -> str:
        for resource in self._resources.values():
            if resource.attributes.get("Arn") == arn and "QueueUrl" in resource.attributes:
                return resource.attributes["QueueUrl"]
        parts = arn.split(":")
        if len(parts) != 6 or parts[2] != "sqs":
            raise RouterError(f"{arn!r} is not an SQS queue ARN")
        return self._sqs_client().get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])[
            "QueueUrl"
        ]

    def _record(self, delivery: Delivery) -> Delivery:
        with self._lock:
            self._deliveries.append(delivery)
        return delivery


def _bind_loggers_to_capture(module: ModuleType) -> None:
    """Point the module's Powertools loggers at CAPTURE.

    Powertools keeps one handler per service name, bound to the stdout of whoever created that
    service's first Logger; if that happened outside a router (a test importing the handler, a CLI
    run), the handler's lines would never reach a sink.
    """
    from aws_lambda_powertools import Logger

    for value in vars(module).values():
        if not isinstance(value, Logger):
            continue
        handler = value.registered_handler
        if (
            isinstance(handler, logging.StreamHandler)
            and not isinstance(handler, logging.FileHandler)
            and handler.stream is not CAPTURE
            and handler.stream not in {sys.stderr, sys.__stderr__}
        ):
            handler.setStream(CAPTURE)


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return converted


def _reported_failures(response: Any, ids: Sequence[str]) -> set[str]:
    """Lambda's reading of a partial batch response: malformed answers fail the whole batch."""
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return set()
    failed: set[str] = set()
    for item in response["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in ids:
            return set(ids)
        failed.add(identifier)
    return failed
