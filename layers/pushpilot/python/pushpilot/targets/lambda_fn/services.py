"""AWS Lambda functions packaged as container images as a deploy target.

Discovery: ListFunctions (paginated) names each function's package type; a function of PackageType
Image whose name starts with `LambdaFunctionPrefix` is read with one GetFunction, which answers its
ImageUri, its architecture, its update status and its tags at once (no ListTags needed). An empty prefix
turns the target off: pushpilot then lists no function and its policy may touch none.

Deploy: Lambda takes no image index ("The image manifest or layer media type ... is not supported"), so
the flows hand this target the single manifest of the function's architecture (`accepts_index` False).
The update names it by digest, `<registry>/<repository>@<digest>`, with the RevisionId read just before:
someone else's change in between fails the update (PreconditionFailedException) and is told, never
overwritten. A retry after a lost answer finds the function already at the digest and adopts that update
instead of starting another. The operation id is the digest.

Outcome: Lambda emits no event when an update ends; `LastUpdateStatus` (InProgress → Successful | Failed,
with LastUpdateStatusReason and LastUpdateStatusReasonCode) is polled on the timer `outcome_polling`
declares. With the tag `pushpilot:alias=<alias>` the deployment is live only once the alias callers
invoke has moved: PublishVersion (guarded by the CodeSha256 and RevisionId just read; Lambda answers the
existing version when nothing changed since, so a retry publishes nothing new) then UpdateAlias (skipped
when the alias already names that version, so a retry after a lost answer moves nothing twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import LAMBDA_CODES, ServiceCodes, aws_error
from pushpilot.core.errors import ChangedMeanwhileError, NotFoundError, PushpilotError, ServiceBusyError
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.notices import Link
from pushpilot.core.targets import Operation, Outcome, TargetService
from pushpilot.core.tracking import IndexedService
from pushpilot.core.verdicts import LINUX_AMD64, LINUX_ARM64, Platform
from pushpilot.targets.declared import DeclaredTarget
from pushpilot.targets.lambda_fn.declaration import DECLARATION, KIND

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

ALIAS_TAG: Final = "pushpilot:alias"
# Lambda's Architectures → the platform the image must be built for.
PLATFORM_OF_ARCHITECTURE: Final[Mapping[str, Platform]] = {"x86_64": LINUX_AMD64, "arm64": LINUX_ARM64}
_LAST_MODIFIED_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"

_DEPLOY_CODES: ServiceCodes = {
    **LAMBDA_CODES,
    # An update or a configuration change is in progress: the push waits for its end.
    "ResourceConflictException": ServiceBusyError,
    # The RevisionId we read is no longer the function's: someone changed it in between.
    "PreconditionFailedException": ChangedMeanwhileError,
}


def platform_of(configuration: Mapping[str, Any]) -> Platform:
    architectures = configuration.get("Architectures") or ["x86_64"]
    return PLATFORM_OF_ARCHITECTURE.get(str(architectures[0]), LINUX_AMD64)


def running_digest(code: Mapping[str, Any]) -> str | None:
    """The digest the function's code names: ResolvedImageUri (what a tag resolved to), else ImageUri."""
    for key in ("ResolvedImageUri", "ImageUri"):
        uri = code.get(key)
        if uri and "@" in str(uri):
            return str(uri).rpartition("@")[2]
    return None


def _started(configuration: Mapping[str, Any]) -> datetime | None:
    value = configuration.get("LastModified")
    if not value:
        return None
    try:
        # The format carries the offset (%z): the result is aware.
        return datetime.strptime(str(value), _LAST_MODIFIED_FORMAT)  # noqa: DTZ007
    except ValueError:
        return None


def _reasons(configuration: Mapping[str, Any]) -> tuple[str, ...]:
    reason = str(configuration.get("LastUpdateStatusReason") or "").strip()
    code = str(configuration.get("LastUpdateStatusReasonCode") or "").strip()
    if reason and code and code not in reason:
        return (f"{reason} ({code})",)
    return tuple(text for text in (reason or code,) if text)


def operation_of(configuration: Mapping[str, Any], code: Mapping[str, Any]) -> Operation:
    """The function's last update as an operation: its id is the digest the code names."""
    status = str(configuration.get("LastUpdateStatus") or "Successful")
    outcome = {"InProgress": Outcome.IN_PROGRESS, "Failed": Outcome.FAILED}.get(status, Outcome.LIVE)
    return Operation(
        operation_id=running_digest(code) or str(code.get("ImageUri") or ""),
        deploys_image=True,
        outcome=outcome,
        status=status,
        started_at=_started(configuration),
        reasons=_reasons(configuration) if outcome is Outcome.FAILED else (),
    )


class LambdaTarget(DeclaredTarget):
    # What the flows need of it, as its folder declares (declaration.py): Lambda runs only the single
    # manifest of the function's architecture, and emits no end event.
    declaration = DECLARATION

    def __init__(
        self, client: LambdaClient | None = None, *, region: str = "us-east-1", prefix: str = ""
    ) -> None:
        self._injected = client
        self._region = region
        self._prefix = prefix

    @property
    def _client(self) -> LambdaClient:
        if self._injected is None:
            self._injected = clients.client("lambda")
        return self._injected

    def _error(
        self, exc: ClientError | BotoCoreError, action: str, target: str, codes: ServiceCodes = LAMBDA_CODES
    ) -> PushpilotError:
        return aws_error(exc, service="lambda", action=action, target=target, codes=codes)

    def _served(self, name: str) -> bool:
        # An empty prefix serves nothing: the target is off until a prefix scopes it (and its policy).
        return bool(self._prefix) and name.startswith(self._prefix)

    def serves(self, service_arn: str) -> bool:
        """A function named by `LambdaFunctionPrefix`, read off its ARN without a call."""
        resource = service_arn.split(":")
        return len(resource) >= 7 and resource[5] == "function" and self._served(resource[6])

    def current_tags(self, service: IndexedService) -> dict[str, str]:
        """One GetFunction (it carries the tags, and the deploy policy grants it already): the tags as
        they are now, for a function this push would deploy to."""
        return {str(key): str(value) for key, value in (self._get(service.arn).get("Tags") or {}).items()}

    def _get(self, function: str) -> dict[str, Any]:
        try:
            return dict(self._client.get_function(FunctionName=function))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "GetFunction", function) from exc

    # --- discovery ---------------------------------------------------------------------------------

    def list_services(self) -> list[TargetService]:
        if not self._prefix:
            return []
        found: list[TargetService] = []
        try:
            for page in self._client.get_paginator("list_functions").paginate():
                for function in page.get("Functions", []):
                    name = str(function.get("FunctionName", ""))
                    if function.get("PackageType") != "Image" or not self._served(name):
                        continue
                    described = self._target_service(self._get(str(function["FunctionArn"])))
                    if described is not None:
                        found.append(described)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "ListFunctions", "the account's functions") from exc
        return found

    def describe(self, service_arn: str) -> TargetService:
        described = self._target_service(self._get(service_arn))
        if described is None:
            raise NotFoundError(f"Lambda function {service_arn} is not an image function pushpilot serves")
        return described

    def _target_service(self, response: Mapping[str, Any]) -> TargetService | None:
        configuration = response.get("Configuration") or {}
        code = response.get("Code") or {}
        name = str(configuration.get("FunctionName", ""))
        image = code.get("ImageUri")
        if configuration.get("PackageType") != "Image" or not image or not self._served(name):
            return None
        try:
            ImageRef.parse(str(image))
        except ValueError:
            return None
        update = str(configuration.get("LastUpdateStatus") or "")
        state = str(configuration.get("State") or "")
        tags = {str(key): str(value) for key, value in (response.get("Tags") or {}).items()}
        architecture = str((configuration.get("Architectures") or ["x86_64"])[0])
        return TargetService(
            kind=KIND,
            arn=str(configuration["FunctionArn"]),
            name=name,
            status=update or state,
            image_identifier=str(image),
            auto_deploy=False,
            busy=update == "InProgress" or state == "Pending",
            required_platform=platform_of(configuration),
            details={"architecture": architecture},
            tags=tags,
        )

    # --- deploy --------------------------------------------------------------------------------------

    def deploy(self, service: IndexedService, digest: str, *, image: str | None = None) -> str:
        # Always by digest: Lambda resolves a tag once, at update time, so a tag would say nothing.
        del image
        source = ImageRef.parse(service.image_identifier)
        current = self._get(service.arn)
        configuration = current.get("Configuration") or {}
        if running_digest(current.get("Code") or {}) == digest:
            # A retry after a lost answer (or the function already runs it): adopt, update nothing.
            return digest
        if configuration.get("LastUpdateStatus") == "InProgress":
            raise ServiceBusyError(f"an update of Lambda function {service.name} is in progress")
        revision = str(configuration.get("RevisionId", ""))
        try:
            self._client.update_function_code(
                FunctionName=service.arn,
                ImageUri=f"{source.registry}/{source.repository}@{digest}",
                RevisionId=revision,
            )
        except (ClientError, BotoCoreError) as exc:
            error = self._error(exc, "UpdateFunctionCode", service.arn, _DEPLOY_CODES)
            if isinstance(error, ChangedMeanwhileError | ServiceBusyError) and self._runs(
                service.arn, digest
            ):
                # Our own first attempt changed the function (its answer was lost and botocore sent the
                # request again): adopt that update.
                return digest
            if isinstance(error, ChangedMeanwhileError):
                raise ChangedMeanwhileError(
                    f"Lambda function {service.name} changed after pushpilot read it"
                    f" (RevisionId {revision} is no longer current): the other change is not overwritten;"
                    " push again once it is settled"
                ) from exc
            raise error from exc
        return digest

    def _runs(self, function: str, digest: str) -> bool:
        return running_digest(self._get(function).get("Code") or {}) == digest

    # --- outcome -------------------------------------------------------------------------------------

    def recent_operations(self, service_arn: str) -> list[Operation]:
        current = self._get(service_arn)
        return [operation_of(current.get("Configuration") or {}, current.get("Code") or {})]

    def find_operation(self, service: IndexedService, operation_id: str) -> Operation | None:
        """The update to `operation_id` (a digest) as it stands; None once the function runs another image.

        Its last step, for a function tagged `pushpilot:alias`, moves the alias: the update is live only
        then. Each step is skipped when already done, so looking again never repeats one."""
        current = self._get(service.arn)
        configuration = current.get("Configuration") or {}
        code = current.get("Code") or {}
        if running_digest(code) != operation_id:
            return None
        operation = operation_of(configuration, code)
        alias = service.tags.get(ALIAS_TAG, "").strip()
        if operation.outcome is not Outcome.LIVE or not alias:
            return operation
        return self._move_alias(service, alias, configuration, operation)

    def _move_alias(
        self, service: IndexedService, alias: str, configuration: Mapping[str, Any], operation: Operation
    ) -> Operation:
        try:
            version = self._client.publish_version(
                FunctionName=service.arn,
                CodeSha256=str(configuration.get("CodeSha256", "")),
                RevisionId=str(configuration.get("RevisionId", "")),
                Description=f"pushpilot: {operation.operation_id}",
            )["Version"]
            current = self._client.get_alias(FunctionName=service.arn, Name=alias)
            if current.get("FunctionVersion") != version:
                self._client.update_alias(
                    FunctionName=service.arn,
                    Name=alias,
                    FunctionVersion=version,
                    RevisionId=str(current.get("RevisionId", "")),
                )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            # PreconditionFailed: a RevisionId moved; InvalidParameterValue: the CodeSha256 no longer
            # matches $LATEST. Either way someone changed the function: told, not overwritten.
            if code in {
                "PreconditionFailedException",
                "InvalidParameterValueException",
                "ResourceNotFoundException",
            }:
                why = (
                    f"the function has no alias {alias} (its {ALIAS_TAG} tag names it)"
                    if code == "ResourceNotFoundException"
                    else f"the function or alias {alias} changed while pushpilot moved it: not overwritten"
                )
                return operation.model_copy(
                    update={"outcome": Outcome.FAILED, "status": "AliasNotMoved", "reasons": (why,)}
                )
            raise self._error(exc, "PublishVersion/UpdateAlias", service.arn) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "PublishVersion/UpdateAlias", service.arn) from exc
        return operation.model_copy(
            update={"status": f"Successful; alias {alias} → version {version}", "reasons": ()}
        )

    def console_link(self, service: IndexedService) -> Link:
        return Link(
            label="Lambda console",
            url=f"https://{self._region}.console.aws.amazon.com/lambda/home?region={self._region}#/functions/{service.name}?tab=image",
        )

    def failure_advice(self, service: IndexedService) -> str:
        alias = service.tags.get(ALIAS_TAG)
        kept = (
            f"the alias {alias} still names the version it did"
            if alias
            else "callers of $LATEST are affected"
        )
        return (
            f"Lambda's update of {service.name} failed ({kept}). Read LastUpdateStatusReason"
            f" (Lambda console → {service.name} → Image) and the log group /aws/lambda/{service.name},"
            " fix, and push again."
        )
