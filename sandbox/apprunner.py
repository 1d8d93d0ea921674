"""An App Runner that speaks the real awsJson 1.0 protocol on 127.0.0.1, for an unmodified boto3 client.

moto has no App Runner, and nothing else offline does: this emulator keeps services, operations and
custom domains, validates every request with botocore's model, checks every response against it, and
emits the EventBridge events App Runner would. Scenario controls (finishing an operation, validating
domains, injecting faults) are Python calls, never HTTP, so no client can reach them by accident.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Final, Literal

from pushpilot_sandbox.apprunner_domains import cname_resolves, read_public_zones
from pushpilot_sandbox.apprunner_model import input_problems, operation_names, output_problems
from pushpilot_sandbox.apprunner_records import (
    DEFAULT_HEALTH_CHECK,
    DEFAULT_NETWORK,
    CustomDomainRecord,
    OperationRecord,
    RecordedCall,
    ServiceRecord,
    domain_body,
    hashed,
    operation_body,
    spell,
    validation_record,
)
from pushpilot_sandbox.emulator import (
    ApiError,
    Dialect,
    Emit,
    Fault,
    FaultBook,
    FaultKind,
    Json,
    ModelEmulator,
    Reply,
    WireAnswer,
    awsjson_handler,
    epoch,
    parse_body,
    utc_now,
)
from pushpilot_sandbox.httpserver import Lifecycle, LoopbackServer

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

type Outcome = Literal["succeeded", "failed", "rolled_back"]
type NonDeploymentOperation = Literal["PAUSE_SERVICE", "RESUME_SERVICE", "UPDATE_SERVICE"]

SOURCE: Final = "aws.apprunner"
OPERATION_STATUS_CHANGE: Final = "AppRunner Service Operation Status Change"
SERVICE_STATUS_CHANGE: Final = "AppRunner Service Status Change"
CUSTOM_DOMAIN_UPDATE: Final = "AppRunner Custom Domain Validation Status Update"

MUTATING_OPERATIONS: Final = frozenset(
    {
        "CreateService",
        "UpdateService",
        "StartDeployment",
        "PauseService",
        "ResumeService",
        "AssociateCustomDomain",
        "DisassociateCustomDomain",
        "TagResource",
        "UntagResource",
    }
)

_JSON_CONTENT_TYPE: Final = "application/x-amz-json-1.0"
_TARGET_PREFIX: Final = "AppRunner."
_PAGE_SIZE: Final = {"ListServices": 20, "ListOperations": 20, "DescribeCustomDomains": 5}
_URL_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz0123456789"

# operation type -> (event status on success, on failure)
_OPERATION_EVENT_STATUS: Final = {
    "START_DEPLOYMENT": ("DeploymentCompletedSuccessfully", "DeploymentFailed"),
    "UPDATE_SERVICE": ("UpdateServiceCompletedSuccessfully", "UpdateServiceFailed"),
    "PAUSE_SERVICE": ("PauseServiceCompletedSuccessfully", "PauseServiceFailed"),
    "RESUME_SERVICE": ("ResumeServiceCompletedSuccessfully", "ResumeServiceFailed"),
}
_OPERATION_MESSAGES: Final = {
    "DeploymentCompletedSuccessfully": "Deployment completed successfully. New application is running.",
    "DeploymentFailed": "Deployment failed. The service kept running the previous version.",
    "UpdateServiceCompletedSuccessfully": (
        "Service update completed successfully. New application and configuration is deployed."
    ),
    "UpdateServiceFailed": "Service update failed. The service kept running the previous configuration.",
    "PauseServiceCompletedSuccessfully": "Service paused successfully.",
    "PauseServiceFailed": "Pausing the service failed.",
    "ResumeServiceCompletedSuccessfully": "Service resumed successfully.",
    "ResumeServiceFailed": "Resuming the service failed.",
}
# operation type -> (service status after success, after failure)
_STATUS_AFTER: Final = {
    "START_DEPLOYMENT": ("RUNNING", "RUNNING"),
    "UPDATE_SERVICE": ("RUNNING", "RUNNING"),
    "PAUSE_SERVICE": ("PAUSED", "RUNNING"),
    "RESUME_SERVICE": ("RUNNING", "PAUSED"),
}
_ROLLBACK_TYPES: Final = frozenset({"START_DEPLOYMENT", "UPDATE_SERVICE"})


def _validation_report(problems: list[str]) -> str:
    count = len(problems)
    return f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(problems)}"


_DIALECT: Final = Dialect(
    input_problems=input_problems,
    output_problems=output_problems,
    invalid_request="InvalidRequestException",
    internal_error="InternalServiceErrorException",
    message_key="Message",
    describe_problems=_validation_report,
    size_member="MaxResults",
    marker_member="NextToken",
    page_sizes=_PAGE_SIZE,
    bad_marker="The NextToken is not valid.",
    foreign_marker="The NextToken does not belong to this request.",
)
_page = _DIALECT.page


class EmulatorError(RuntimeError):
    """A scenario control was used in a way the emulated service cannot honour."""


class NoOperationInProgressError(EmulatorError):
    pass


class UnknownServiceError(EmulatorError, LookupError):
    pass


class AppRunnerEmulator(ModelEmulator, Lifecycle):
    """App Runner on 127.0.0.1. Ids, URLs and validation records are derived, so runs repeat exactly."""

    _dialect = _DIALECT

    def __init__(
        self,
        *,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        emit: Emit = lambda _event: None,
        route53: Route53Client | None = None,
        resolve_digest: Callable[[str], str | None] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self._emit = emit
        self._route53 = route53
        self._resolve_digest = resolve_digest or (lambda _image_identifier: None)
        self._clock = clock
        self._lock = threading.Lock()
        self._services: dict[str, ServiceRecord] = {}  # by ARN, in creation order
        self._created = 0
        self._calls: list[RecordedCall] = []
        self._faults = FaultBook()
        self._server: LoopbackServer | None = None
        self._handlers: dict[str, Callable[[Json], Reply]] = {
            "CreateService": self._create_service,
            "ListServices": self._list_services,
            "DescribeService": self._describe_service,
            "UpdateService": self._update_service,
            "StartDeployment": self._start_deployment,
            "PauseService": self._pause_service,
            "ResumeService": self._resume_service,
            "ListOperations": self._list_operations,
            "AssociateCustomDomain": self._associate_custom_domain,
            "DescribeCustomDomains": self._describe_custom_domains,
            "DisassociateCustomDomain": self._disassociate_custom_domain,
            "ListTagsForResource": self._list_tags_for_resource,
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
        }

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> str:
        if self._server is not None:
            raise EmulatorError("the App Runner emulator is already started")
        self._server = LoopbackServer(
            awsjson_handler(self.answer, server_version="AppRunnerEmulator", content_type=_JSON_CONTENT_TYPE)
        )
        return self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise EmulatorError("the App Runner emulator is not started")
        return self._server.url

    # --- scenario controls -------------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def service(self, name_or_arn: str) -> ServiceRecord:
        with self._lock:
            return copy.deepcopy(self._find_service(name_or_arn))

    def reset(self) -> None:
        """Forget every service, recorded call and pending fault; the server keeps serving."""
        with self._lock:
            self._services.clear()
            self._calls.clear()
            self._faults.clear()
            self._created = 0

    def inject_fault(
        self,
        operation: str,
        code: str = "",
        *,
        times: int = 1,
        message: str = "injected",
        status: int = 400,
        kind: FaultKind = "error",
        after: int = 0,
    ) -> None:
        """Let `after` calls of `operation` through, then fail the next `times`.

        `kind="error"` answers error `code` before touching any state. `kind="timeout"` acts on the call
        (state changes, events are emitted) and closes the connection without an answer: boto3 raises
        botocore's `ConnectionClosedError`, an `HTTPClientError` as a read timeout's `ReadTimeoutError` is,
        never a `ClientError`, at once rather than after the client's read timeout.
        """
        if operation not in operation_names():
            raise EmulatorError(f"App Runner has no operation {operation!r}")
        if times < 1:
            raise EmulatorError("a fault must apply to at least one call")
        if after < 0:
            raise EmulatorError("after must be 0 or more")
        if kind == "error" and not code:
            raise EmulatorError("an error fault needs a code")
        self._faults.put(
            operation,
            Fault(kind=kind, code=code, message=message, status=status, remaining=times, pass_through=after),
        )

    def start_operation(self, service: str, operation_type: NonDeploymentOperation) -> OperationRecord:
        """Start a pause, resume or configuration update as someone in the console would, and emit the
        service's change to OPERATION_IN_PROGRESS; `complete_operation` ends it. Not a client call: it
        meets no injected fault and is not recorded in `calls`."""
        begin = {
            "PAUSE_SERVICE": self._pause_service,
            "RESUME_SERVICE": self._resume_service,
            "UPDATE_SERVICE": self._update_service,
        }[operation_type]
        with self._lock:
            record = self._find_service(service)
            try:
                reply = begin({"ServiceArn": record.arn})
            except ApiError as error:
                raise EmulatorError(error.message) from error
            started = self._services[record.arn].operations[-1]
        self._deliver(reply.events)
        return copy.deepcopy(started)

    def complete_operation(self, service: str, outcome: Outcome) -> OperationRecord:
        """End the service's in-progress operation the way App Runner would, and emit its events."""
        with self._lock:
            record = self._find_service(service)
            operation = record.operation_in_progress
            if operation is None:
                raise NoOperationInProgressError(f"service {record.name} has no operation in progress")
            if outcome == "rolled_back" and operation.type not in _ROLLBACK_TYPES:
                raise EmulatorError(f"a {operation.type} operation cannot be rolled back")
            now = self._clock()
            finished = replace(
                operation,
                status={"succeeded": "SUCCEEDED", "failed": "FAILED", "rolled_back": "ROLLBACK_SUCCEEDED"}[
                    outcome
                ],
                updated_at=now,
                ended_at=now,
            )
            succeeded = outcome == "succeeded"
            success_status, failure_status = _STATUS_AFTER[operation.type]
            new_status = success_status if succeeded else failure_status
            source = record.source_configuration
            if not succeeded and operation.previous_source_configuration is not None:
                source = operation.previous_source_configuration
            self._services[record.arn] = replace(
                record,
                status=new_status,
                updated_at=now,
                source_configuration=source,
                operations=tuple(finished if op.id == operation.id else op for op in record.operations),
                running_image_digest=operation.image_digest if succeeded else record.running_image_digest,
            )
            success_event, failure_event = _OPERATION_EVENT_STATUS[operation.type]
            operation_status = success_event if succeeded else failure_event
            events = [
                self._event(
                    OPERATION_STATUS_CHANGE,
                    record,
                    now,
                    {
                        "operationStatus": operation_status,
                        "serviceName": record.name,
                        "serviceId": record.id,
                        "message": _OPERATION_MESSAGES[operation_status],
                        "severity": "INFO" if succeeded else "ERROR",
                    },
                ),
                self._status_event(record, now, previous=record.status, current=new_status),
            ]
        self._deliver(events)
        return copy.deepcopy(finished)

    def check_domain_validation(self) -> list[Json]:
        """Mark ACTIVE every pending domain whose validation CNAMEs resolve in the sandbox's Route 53."""
        if self._route53 is None:
            raise EmulatorError("domain validation needs a Route 53 client: pass route53= to the emulator")
        with self._lock:
            pending = [
                (service.arn, domain)
                for service in self._services.values()
                for domain in service.custom_domains
                if domain.status == "PENDING_CERTIFICATE_DNS_VALIDATION"
            ]
        if not pending:
            return []
        # Route 53 is read outside the lock: it is another server and may be slow.
        zones = read_public_zones(self._route53)
        validated = [
            (arn, domain)
            for arn, domain in pending
            if all(cname_resolves(rec.name, rec.value, zones) for rec in domain.validation_records)
        ]
        events: list[Json] = []
        with self._lock:
            now = self._clock()
            for arn, domain in validated:
                record = self._services.get(arn)
                # The domain may have been disassociated while Route 53 was being read.
                if record is None or domain not in record.custom_domains:
                    continue
                active = replace(
                    domain,
                    status="ACTIVE",
                    validation_records=tuple(
                        replace(rec, status="SUCCESS") for rec in domain.validation_records
                    ),
                )
                self._services[arn] = replace(
                    record,
                    custom_domains=tuple(active if d == domain else d for d in record.custom_domains),
                )
                events.append(
                    self._event(
                        CUSTOM_DOMAIN_UPDATE,
                        record,
                        now,
                        {
                            "serviceName": record.name,
                            "serviceId": record.id,
                            "domainName": domain.domain_name,
                            "customDomainStatus": "ACTIVE",
                            "message": (
                                f"Certificate validation for {domain.domain_name} succeeded. "
                                "The custom domain is active."
                            ),
                            "severity": "INFO",
                        },
                    )
                )
        self._deliver(events)
        return events

    # --- the wire ----------------------------------------------------------------------------------

    def answer(self, target: str | None, body: bytes) -> WireAnswer:
        """Act on one awsJson request; the answer says whether to send the body or drop the connection."""
        operation = (target or "").removeprefix(_TARGET_PREFIX)
        if operation == (target or ""):
            operation = ""
        params = parse_body(body)
        fault = self._faults.take(operation) if operation in self._handlers and params is not None else None
        answered = fault is None or fault.kind != "timeout"
        if fault is not None and fault.kind == "error":
            # Answered before touching any state.
            self._record(operation, params or {}, fault.code)
            refusal = ApiError(fault.code, fault.message, fault.status)
            return WireAnswer(fault.status, _DIALECT.error_body(refusal))
        try:
            reply = self._checked(operation, params, named=target or "(no X-Amz-Target)")
        except ApiError as error:
            self._record(operation or (target or ""), params or {}, error.code, answered=answered)
            return WireAnswer(error.status, _DIALECT.error_body(error), dropped=not answered)
        self._record(operation, params or {}, None, answered=answered)
        # Before the answer, so a caller that has its response has its events too.
        self._deliver(reply.events)
        return WireAnswer(HTTPStatus.OK, reply.body, dropped=not answered)

    def _record(self, operation: str, params: Json, error: str | None, *, answered: bool = True) -> None:
        with self._lock:
            self._calls.append(
                RecordedCall(
                    operation=operation,
                    params=params,
                    mutating=operation in MUTATING_OPERATIONS,
                    error=error,
                    answered=answered,
                )
            )

    def _deliver(self, events: list[Json]) -> None:
        # Delivered outside the lock: a subscriber may call back into the emulator.
        for event in events:
            self._emit(event)

    # --- operations (called with the lock held) ----------------------------------------------------

    def _create_service(self, params: Json) -> Reply:
        name: str = params["ServiceName"]
        if any(service.name == name for service in self._services.values()):
            raise ApiError(
                "InvalidRequestException", f"Service with the provided name already exists: {name}"
            )
        source = self._checked_source(params["SourceConfiguration"], previous=None)
        self._created += 1
        service_id = hashed(self.account_id, self.region, name, str(self._created)).hex()[:32]
        arn = f"arn:aws:apprunner:{self.region}:{self.account_id}:service/{name}/{service_id}"
        url = f"{spell(hashed(arn, 'url'), _URL_ALPHABET, 10)}.{self.region}.awsapprunner.com"
        now = self._clock()
        image_identifier = source["ImageRepository"]["ImageIdentifier"]
        digest = self._resolve_digest(image_identifier)
        operation = OperationRecord(
            id=self._operation_id(arn, 0),
            type="CREATE_SERVICE",
            status="SUCCEEDED",
            target_arn=arn,
            started_at=now,
            updated_at=now,
            ended_at=now,
            image_identifier=image_identifier,
            image_digest=digest,
        )
        record = ServiceRecord(
            name=name,
            id=service_id,
            arn=arn,
            url=url,
            status="RUNNING",
            created_at=now,
            updated_at=now,
            source_configuration=source,
            instance_configuration={"Cpu": "1024", "Memory": "2048"}
            | params.get("InstanceConfiguration", {}),
            health_check_configuration=DEFAULT_HEALTH_CHECK | params.get("HealthCheckConfiguration", {}),
            network_configuration=DEFAULT_NETWORK | params.get("NetworkConfiguration", {}),
            auto_scaling_configuration_arn=params.get(
                "AutoScalingConfigurationArn",
                f"arn:aws:apprunner:{self.region}:{self.account_id}:autoscalingconfiguration/"
                "DefaultConfiguration/1/00000000000000000000000000000001",
            ),
            encryption_configuration=params.get("EncryptionConfiguration"),
            operations=(operation,),
            running_image_digest=digest,
            tags=tuple((tag["Key"], tag.get("Value", "")) for tag in params.get("Tags", [])),
        )
        self._services[arn] = record
        return Reply(
            body={"Service": self._service_body(record), "OperationId": operation.id},
            events=[self._status_event(record, now, previous="OPERATION_IN_PROGRESS", current="RUNNING")],
        )

    def _list_services(self, params: Json) -> Reply:
        services = list(self._services.values())
        page, token = _page("ListServices", "services", services, params)
        body: Json = {"ServiceSummaryList": [self._summary_body(service) for service in page]}
        if token:
            body["NextToken"] = token
        return Reply(body=body)

    def _describe_service(self, params: Json) -> Reply:
        record = self._service_for(params)
        return Reply(body={"Service": self._service_body(record)})

    def _update_service(self, params: Json) -> Reply:
        record = self._service_for(params)
        self._require_status(record, "RUNNING", "UpdateService")
        previous = record.source_configuration
        source = previous
        if "SourceConfiguration" in params:
            source = self._checked_source(params["SourceConfiguration"], previous=previous)
        record = replace(
            record,
            source_configuration=source,
            instance_configuration=record.instance_configuration | params.get("InstanceConfiguration", {}),
            health_check_configuration=record.health_check_configuration
            | params.get("HealthCheckConfiguration", {}),
            network_configuration=record.network_configuration | params.get("NetworkConfiguration", {}),
            auto_scaling_configuration_arn=params.get(
                "AutoScalingConfigurationArn", record.auto_scaling_configuration_arn
            ),
        )
        return self._begin(record, "UPDATE_SERVICE", previous_source=previous, with_operation_id=True)

    def _start_deployment(self, params: Json) -> Reply:
        record = self._service_for(params)
        self._require_status(record, "RUNNING", "StartDeployment")
        reply = self._begin(record, "START_DEPLOYMENT")
        reply.body = {"OperationId": reply.body["OperationId"]}
        return reply

    def _pause_service(self, params: Json) -> Reply:
        record = self._service_for(params)
        self._require_status(record, "RUNNING", "PauseService")
        return self._begin(record, "PAUSE_SERVICE", with_operation_id=True)

    def _resume_service(self, params: Json) -> Reply:
        record = self._service_for(params)
        self._require_status(record, "PAUSED", "ResumeService")
        return self._begin(record, "RESUME_SERVICE", with_operation_id=True)

    def _list_operations(self, params: Json) -> Reply:
        record = self._service_for(params)
        newest_first = list(reversed(record.operations))
        page, token = _page("ListOperations", record.arn, newest_first, params)
        body: Json = {"OperationSummaryList": [operation_body(operation) for operation in page]}
        if token:
            body["NextToken"] = token
        return Reply(body=body)

    def _tagged(self, params: Json) -> ServiceRecord:
        arn: str = params["ResourceArn"]
        record = self._services.get(arn)
        if record is None:
            raise ApiError("ResourceNotFoundException", f"Resource not found: {arn}")
        return record

    def _list_tags_for_resource(self, params: Json) -> Reply:
        record = self._tagged(params)
        return Reply(body={"Tags": [{"Key": key, "Value": value} for key, value in record.tags]})

    def _tag_resource(self, params: Json) -> Reply:
        record = self._tagged(params)
        tags = dict(record.tags) | {tag["Key"]: tag.get("Value", "") for tag in params.get("Tags", [])}
        self._services[record.arn] = replace(record, tags=tuple(tags.items()))
        return Reply(body={})

    def _untag_resource(self, params: Json) -> Reply:
        record = self._tagged(params)
        removed = set(params.get("TagKeys", []))
        self._services[record.arn] = replace(
            record, tags=tuple((key, value) for key, value in record.tags if key not in removed)
        )
        return Reply(body={})

    def _associate_custom_domain(self, params: Json) -> Reply:
        record = self._service_for(params)
        domain_name: str = params["DomainName"]
        if record.custom_domain(domain_name) is not None:
            raise ApiError(
                "InvalidRequestException",
                f"Domain {domain_name} is already associated with service {record.name}",
            )
        wildcard = domain_name.startswith("*.")
        # A wildcard domain has no www option; its certificate is validated on the base name.
        enable_www = bool(params.get("EnableWWWSubdomain", True)) and not wildcard
        base = domain_name.removeprefix("*.")
        names = [base, f"www.{base}"] if enable_www else [base]
        domain = CustomDomainRecord(
            domain_name=domain_name,
            enable_www_subdomain=enable_www,
            status="PENDING_CERTIFICATE_DNS_VALIDATION",
            validation_records=tuple(validation_record(record.arn, domain_name, name) for name in names),
        )
        self._services[record.arn] = replace(record, custom_domains=(*record.custom_domains, domain))
        # The association answers CREATING; any later read finds it waiting for DNS validation.
        return Reply(body=self._domain_answer(record, replace(domain, status="CREATING")))

    def _describe_custom_domains(self, params: Json) -> Reply:
        record = self._service_for(params)
        page, token = _page("DescribeCustomDomains", record.arn, list(record.custom_domains), params)
        body: Json = {
            "DNSTarget": record.url,
            "ServiceArn": record.arn,
            "CustomDomains": [domain_body(domain) for domain in page],
            "VpcDNSTargets": [],
        }
        if token:
            body["NextToken"] = token
        return Reply(body=body)

    def _disassociate_custom_domain(self, params: Json) -> Reply:
        record = self._service_for(params)
        domain = record.custom_domain(params["DomainName"])
        if domain is None:
            raise ApiError(
                "ResourceNotFoundException",
                f"Domain {params['DomainName']} is not associated with service {record.name}",
            )
        self._services[record.arn] = replace(
            record, custom_domains=tuple(d for d in record.custom_domains if d is not domain)
        )
        return Reply(body=self._domain_answer(record, replace(domain, status="DELETING")))

    # --- helpers (lock held) -----------------------------------------------------------------------

    def _find_service(self, name_or_arn: str) -> ServiceRecord:
        record = self._services.get(name_or_arn) or next(
            (service for service in self._services.values() if service.name == name_or_arn), None
        )
        if record is None:
            raise UnknownServiceError(f"no App Runner service {name_or_arn!r} in the emulator")
        return record

    def _service_for(self, params: Json) -> ServiceRecord:
        arn: str = params["ServiceArn"]
        record = self._services.get(arn)
        if record is None:
            raise ApiError("ResourceNotFoundException", f"Service not found: {arn}")
        return record

    @staticmethod
    def _require_status(record: ServiceRecord, wanted: str, action: str) -> None:
        if record.status != wanted:
            raise ApiError(
                "InvalidStateException",
                f"{action} is not allowed for service {record.name} in state {record.status}; "
                f"it must be {wanted}.",
            )

    def _checked_source(self, source: Json, *, previous: Json | None) -> Json:
        """The source configuration that results from a request, or the InvalidRequestException AWS gives."""
        if "CodeRepository" in source:
            raise ApiError(
                "InvalidRequestException", "This App Runner emulator models image repository services only."
            )
        merged = dict(previous or {}) | source
        image = merged.get("ImageRepository")
        if image is None:
            raise ApiError("InvalidRequestException", "SourceConfiguration.ImageRepository is required.")
        identifier: str = image["ImageIdentifier"]
        public = image["ImageRepositoryType"] == "ECR_PUBLIC"
        if public != identifier.startswith("public.ecr.aws/"):
            raise ApiError(
                "InvalidRequestException",
                f"ImageIdentifier {identifier} does not match "
                f"ImageRepositoryType {image['ImageRepositoryType']}.",
            )
        if "AutoDeploymentsEnabled" not in source:
            # Off by default where App Runner cannot watch the repository: ECR Public, other accounts.
            kept = previous.get("AutoDeploymentsEnabled", False) if previous is not None else True
            same_account = identifier.startswith(f"{self.account_id}.dkr.ecr.")
            merged["AutoDeploymentsEnabled"] = bool(kept) and same_account
        elif public and merged["AutoDeploymentsEnabled"]:
            raise ApiError(
                "InvalidRequestException", "Automatic deployment isn't supported for ECR Public images."
            )
        return merged

    def _begin(
        self,
        record: ServiceRecord,
        operation_type: str,
        *,
        previous_source: Json | None = None,
        with_operation_id: bool = False,
    ) -> Reply:
        now = self._clock()
        image_identifier = record.image_identifier
        operation = OperationRecord(
            id=self._operation_id(record.arn, len(record.operations)),
            type=operation_type,
            status="IN_PROGRESS",
            target_arn=record.arn,
            started_at=now,
            updated_at=now,
            ended_at=None,
            image_identifier=image_identifier,
            image_digest=self._resolve_digest(image_identifier),
            previous_source_configuration=previous_source,
        )
        updated = replace(
            record,
            status="OPERATION_IN_PROGRESS",
            updated_at=now,
            operations=(*record.operations, operation),
        )
        self._services[record.arn] = updated
        body: Json = {"Service": self._service_body(updated)} if with_operation_id else {}
        body["OperationId"] = operation.id
        return Reply(
            body=body,
            events=[self._status_event(record, now, previous=record.status, current="OPERATION_IN_PROGRESS")],
        )

    @staticmethod
    def _operation_id(arn: str, sequence: int) -> str:
        return str(uuid.UUID(bytes=hashed(arn, "operation", str(sequence))[:16], version=4))

    def _service_body(self, record: ServiceRecord) -> Json:
        body: Json = {
            **self._summary_body(record),
            "SourceConfiguration": copy.deepcopy(record.source_configuration),
            "InstanceConfiguration": dict(record.instance_configuration),
            "HealthCheckConfiguration": dict(record.health_check_configuration),
            "AutoScalingConfigurationSummary": self._auto_scaling_summary(record),
            "NetworkConfiguration": copy.deepcopy(record.network_configuration),
            "ObservabilityConfiguration": {"ObservabilityEnabled": False},
        }
        if record.encryption_configuration is not None:
            body["EncryptionConfiguration"] = dict(record.encryption_configuration)
        return body

    @staticmethod
    def _auto_scaling_summary(record: ServiceRecord) -> Json:
        arn = record.auto_scaling_configuration_arn
        # ...:autoscalingconfiguration/<name>/<revision>/<id>
        parts = arn.split(":", 5)[-1].split("/")
        name = parts[1] if len(parts) > 1 else "DefaultConfiguration"
        revision = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
        return {
            "AutoScalingConfigurationArn": arn,
            "AutoScalingConfigurationName": name,
            "AutoScalingConfigurationRevision": revision,
            "Status": "ACTIVE",
            "CreatedAt": epoch(record.created_at),
            "HasAssociatedService": True,
            "IsDefault": name == "DefaultConfiguration",
        }

    @staticmethod
    def _summary_body(record: ServiceRecord) -> Json:
        return {
            "ServiceName": record.name,
            "ServiceId": record.id,
            "ServiceArn": record.arn,
            "ServiceUrl": record.url,
            "CreatedAt": epoch(record.created_at),
            "UpdatedAt": epoch(record.updated_at),
            "Status": record.status,
        }

    @staticmethod
    def _domain_answer(record: ServiceRecord, domain: CustomDomainRecord) -> Json:
        return {
            "DNSTarget": record.url,
            "ServiceArn": record.arn,
            "CustomDomain": domain_body(domain),
            "VpcDNSTargets": [],
        }

    def _event(self, detail_type: str, record: ServiceRecord, moment: datetime, detail: Json) -> Json:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": SOURCE,
            "account": self.account_id,
            "time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [record.arn],
            "detail": detail,
        }

    def _status_event(self, record: ServiceRecord, moment: datetime, *, previous: str, current: str) -> Json:
        return self._event(
            SERVICE_STATUS_CHANGE,
            record,
            moment,
            {
                "previousServiceStatus": previous,
                "currentServiceStatus": current,
                "serviceName": record.name,
                "serviceId": record.id,
                "message": f"Service status is set to {current}.",
                "severity": "INFO",
            },
        )
