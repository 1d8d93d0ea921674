"""AWS Lambda functions packaged as container images, emulated for what moto lacks: an image update that
stays InProgress until the scenario ends it (`complete_deployment`), its failure reason, RevisionId
checks, versions and aliases, and Lambda's refusal of an image index.

Requests arrive through the gateway as the members of the operation (URI labels included) and are checked
against botocore's `lambda` model before anything happens; every answer is checked against the model's
output shape before it leaves, so the emulator cannot hand a client a shape Lambda would not send.

What Lambda does and the emulator copies:
- UpdateFunctionCode with a RevisionId that is no longer the function's: PreconditionFailedException (412);
  while an update is in progress: ResourceConflictException (409);
- an ImageUri naming an image index (or manifest list): InvalidParameterValueException, "The image manifest
  or layer media type for the source image ... is not supported";
- every change of the function (an update starting, ending) gives it a new RevisionId;
- PublishVersion answers the newest version when the code has not changed since it (no new version), and
  checks CodeSha256 and RevisionId when given; UpdateAlias checks the alias's own RevisionId.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Final, Literal

from pushpilot_sandbox.emulator import ApiError, Dialect, Json, ModelEmulator, Reply, WireAnswer, parse_body
from pushpilot_sandbox.lambda_model import input_problems, output_problems, reason_codes

INDEX_MEDIA_TYPES: Final = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
_LAST_MODIFIED: Final = "%Y-%m-%dT%H:%M:%S.%f%z"
# LastUpdateStatusReasonCode's enum (botocore's model) has no code for a runtime's own error: a reason
# such as Runtime.ExitError is reported with the code Lambda gives failed function initialisations.
_DEFAULT_FAILURE_CODE: Final = "FunctionError"
# ListFunctions answers 50 functions a page at most, whatever MaxItems asks for (Lambda's API reference).
_LIST_PAGE: Final = 50
# Lambda answers PublishVersion with 201 Created; every other operation here with 200.
_SUCCESS_STATUS: Final = {"PublishVersion": HTTPStatus.CREATED}


def _joined(problems: list[str]) -> str:
    return "; ".join(problems)


_DIALECT: Final = Dialect(
    input_problems=input_problems,
    output_problems=output_problems,
    invalid_request="InvalidParameterValueException",
    internal_error="ServiceException",
    message_key="message",
    describe_problems=_joined,
    size_member="MaxItems",
    marker_member="Marker",
    page_sizes={"ListFunctions": _LIST_PAGE},
    bad_marker="Invalid Marker: the marker is not one this listing gave",
    foreign_marker="Invalid Marker: the marker belongs to another listing",
    unreadable_body=("InvalidRequestContentException", "Could not parse request body into json"),
)


class EmulatorError(Exception):
    """A scenario asked for something the emulator cannot do (no such function, nothing in progress)."""


@dataclass
class _Version:
    number: str
    code_sha256: str
    image_uri: str
    resolved_image_uri: str
    last_modified: str


@dataclass
class _Alias:
    name: str
    version: str
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Function:
    name: str
    arn: str
    architecture: Literal["x86_64", "arm64"]
    image_uri: str
    resolved_image_uri: str
    tags: dict[str, str]
    last_modified: str
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    update_status: Literal["Successful", "Failed", "InProgress"] = "Successful"
    update_reason: str | None = None
    update_reason_code: str | None = None
    versions: list[_Version] = field(default_factory=list)
    aliases: dict[str, _Alias] = field(default_factory=dict)

    @property
    def code_sha256(self) -> str:
        return (
            self.resolved_image_uri.rpartition("@sha256:")[2]
            or hashlib.sha256(self.image_uri.encode()).hexdigest()
        )

    def touch(self) -> None:
        self.revision_id = str(uuid.uuid4())


@dataclass(frozen=True)
class Ended:
    function: str
    status: str
    reason: str | None


def _now() -> str:
    return datetime.now(UTC).strftime(_LAST_MODIFIED)[:-2] + "+0000"


def _repository_of(image_uri: str) -> str:
    """`registry/repository` of `registry/repository:tag` or `registry/repository@digest`."""
    if "@" in image_uri:
        return image_uri.partition("@")[0]
    head, _, last = image_uri.rpartition("/")
    return f"{head}/{last.partition(':')[0]}" if head else last.partition(":")[0]


def _not_found(name: str) -> ApiError:
    return ApiError(
        "ResourceNotFoundException",
        f"Function not found: {name}",
        HTTPStatus.NOT_FOUND,
    )


class LambdaEmulator(ModelEmulator):
    """The functions of one account and region; `owns` tells the gateway which operations it answers.

    It stands behind the gateway (as ECS does): the gateway records its calls and serves the faults a
    scenario injects (`fault: {service: lambda, ...}`), so it keeps no FaultBook of its own. Lambda emits
    no event when an update ends, so no reply carries any.
    """

    _dialect = _DIALECT

    def __init__(
        self,
        *,
        account_id: str,
        region: str,
        media_type_of: Callable[[str], str | None],
        resolve_digest: Callable[[str], str | None],
    ) -> None:
        self._account_id = account_id
        self._region = region
        self._media_type_of = media_type_of
        self._resolve_digest = resolve_digest
        self._lock = threading.RLock()
        self.functions: dict[str, Function] = {}
        self._handlers: dict[str, Callable[[Json], Reply]] = {
            "GetFunction": self._get_function,
            "GetFunctionConfiguration": self._get_function_configuration,
            "ListFunctions": self._list_functions,
            "UpdateFunctionCode": self._update_function_code,
            "PublishVersion": self._publish_version,
            "GetAlias": self._get_alias,
            "UpdateAlias": self._update_alias,
            "ListTags": self._list_tags,
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
        }

    # --- the gateway's side ----------------------------------------------------------------------

    def owns(self, operation: str, params: Json) -> bool:
        del params
        return operation in self._handlers

    def answer(self, operation: str, body: bytes) -> WireAnswer:
        """The operation's members (as one JSON document) in, Lambda's answer out."""
        try:
            reply = self._checked(operation, parse_body(body))
        except ApiError as error:
            return WireAnswer(error.status, self._dialect.error_body(error))
        return WireAnswer(_SUCCESS_STATUS.get(operation, HTTPStatus.OK), reply.body)

    # --- the scenario's side ---------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        image_uri: str,
        architecture: Literal["x86_64", "arm64"],
        tags: dict[str, str],
        alias: str | None,
    ) -> Function:
        """A function as a team created it before pushpilot arrived: its first update done, its alias (if
        any) on version 1."""
        digest = self._resolve_digest(image_uri) or "sha256:" + hashlib.sha256(image_uri.encode()).hexdigest()
        repository = _repository_of(image_uri)
        function = Function(
            name=name,
            arn=f"arn:aws:lambda:{self._region}:{self._account_id}:function:{name}",
            architecture=architecture,
            image_uri=image_uri,
            resolved_image_uri=f"{repository}@{digest}",
            tags=dict(tags),
            last_modified=_now(),
        )
        with self._lock:
            self.functions[name] = function
            if alias:
                version = self._publish(function)
                function.aliases[alias] = _Alias(name=alias, version=version.number)
        return function

    def function(self, name: str) -> Function:
        with self._lock:
            found = self.functions.get(name)
        if found is None:
            raise EmulatorError(f"no Lambda function {name!r}")
        return found

    def complete_update(
        self, name: str, outcome: Literal["succeeded", "failed"], *, reason: str | None = None
    ) -> Ended:
        """End the function's update in progress as the scenario says."""
        with self._lock:
            function = self.function(name)
            if function.update_status != "InProgress":
                raise EmulatorError(f"Lambda function {name} has no update in progress")
            function.touch()
            if outcome == "succeeded":
                function.update_status = "Successful"
                function.update_reason = function.update_reason_code = None
            else:
                text = reason or "Runtime.ExitError"
                enum = reason_codes()
                function.update_status = "Failed"
                function.update_reason_code = text if text in enum else _DEFAULT_FAILURE_CODE
                function.update_reason = f"The function could not be initialised with the new image: {text}"
            return Ended(function=name, status=function.update_status, reason=function.update_reason)

    # --- operations ------------------------------------------------------------------------------

    def _find(self, reference: str) -> Function:
        name = reference
        if reference.startswith("arn:"):
            parts = reference.split(":")
            name = parts[6] if len(parts) > 6 else reference
        elif ":" in reference:
            name = reference.partition(":")[0]
        found = self.functions.get(name)
        if found is None:
            raise _not_found(self._arn(name))
        return found

    def _arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self._region}:{self._account_id}:function:{name}"

    def _configuration(self, function: Function, version: _Version | None = None) -> Json:
        configuration: Json = {
            "FunctionName": function.name,
            "FunctionArn": function.arn if version is None else f"{function.arn}:{version.number}",
            "Role": f"arn:aws:iam::{self._account_id}:role/{function.name}-role",
            "CodeSize": 0,
            "Description": "",
            "Timeout": 30,
            "MemorySize": 1024,
            "LastModified": function.last_modified if version is None else version.last_modified,
            "CodeSha256": function.code_sha256 if version is None else version.code_sha256,
            "Version": "$LATEST" if version is None else version.number,
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": function.revision_id,
            "State": "Active",
            "LastUpdateStatus": function.update_status if version is None else "Successful",
            "PackageType": "Image",
            "Architectures": [function.architecture],
            "EphemeralStorage": {"Size": 512},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.name}"},
        }
        if version is None and function.update_reason:
            configuration["LastUpdateStatusReason"] = function.update_reason
        if version is None and function.update_reason_code:
            configuration["LastUpdateStatusReasonCode"] = function.update_reason_code
        return configuration

    def _get_function(self, params: Json) -> Reply:
        function = self._find(str(params["FunctionName"]))
        return Reply(
            {
                "Configuration": self._configuration(function),
                "Code": {
                    "RepositoryType": "ECR",
                    "ImageUri": function.image_uri,
                    "ResolvedImageUri": function.resolved_image_uri,
                },
                "Tags": dict(function.tags),
            }
        )

    def _get_function_configuration(self, params: Json) -> Reply:
        return Reply(self._configuration(self._find(str(params["FunctionName"]))))

    def _list_functions(self, params: Json) -> Reply:
        # Lambda caps a page at 50 whatever MaxItems asks for (the model allows up to 10,000).
        size = min(int(params.get("MaxItems") or _LIST_PAGE), _LIST_PAGE)
        page, following = self._dialect.page(
            "ListFunctions", self._region, sorted(self.functions), params | {"MaxItems": size}
        )
        reply: Json = {"Functions": [self._configuration(self.functions[name]) for name in page]}
        if following is not None:
            reply["NextMarker"] = following
        return Reply(reply)

    def _list_tags(self, params: Json) -> Reply:
        return Reply({"Tags": dict(self._find(str(params["Resource"])).tags)})

    # Tagging is not a change of the function's code or configuration: its RevisionId stays. Lambda
    # answers both with 204 and no body; the emulator answers 200 with an empty object (the gateway always
    # sends a body, and a 204 carrying one would desynchronise a kept-alive connection).
    def _tag_resource(self, params: Json) -> Reply:
        self._find(str(params["Resource"])).tags.update(
            {str(key): str(value) for key, value in params["Tags"].items()}
        )
        return Reply({})

    def _untag_resource(self, params: Json) -> Reply:
        function = self._find(str(params["Resource"]))
        for key in params["TagKeys"]:
            function.tags.pop(str(key), None)
        return Reply({})

    def _update_function_code(self, params: Json) -> Reply:
        function = self._find(str(params["FunctionName"]))
        image_uri = params.get("ImageUri")
        if not image_uri:
            raise ApiError("InvalidParameterValueException", "An image function's code must be an ImageUri")
        revision = params.get("RevisionId")
        if revision is not None and revision != function.revision_id:
            raise ApiError(
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id."
                " Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
                HTTPStatus.PRECONDITION_FAILED,
            )
        if function.update_status == "InProgress":
            raise ApiError(
                "ResourceConflictException",
                f"The operation cannot be performed at this time. An update is in progress for resource:"
                f" {function.arn}",
                HTTPStatus.CONFLICT,
            )
        media_type = self._media_type_of(str(image_uri))
        if media_type is None:
            raise ApiError(
                "InvalidParameterValueException",
                f"Source image {image_uri} does not exist. Provide a valid source image.",
            )
        if media_type in INDEX_MEDIA_TYPES:
            raise ApiError(
                "InvalidParameterValueException",
                f"The image manifest or layer media type for the source image {image_uri} is not supported.",
            )
        digest = self._resolve_digest(str(image_uri))
        function.image_uri = str(image_uri)
        function.resolved_image_uri = f"{_repository_of(str(image_uri))}@{digest}"
        function.update_status = "InProgress"
        function.update_reason = function.update_reason_code = None
        function.last_modified = _now()
        function.touch()
        return Reply(self._configuration(function))

    def _publish(self, function: Function) -> _Version:
        latest = function.versions[-1] if function.versions else None
        if latest is not None and latest.code_sha256 == function.code_sha256:
            # Nothing changed since the newest version: Lambda answers it instead of publishing another.
            return latest
        version = _Version(
            number=str(len(function.versions) + 1),
            code_sha256=function.code_sha256,
            image_uri=function.image_uri,
            resolved_image_uri=function.resolved_image_uri,
            last_modified=_now(),
        )
        function.versions.append(version)
        return version

    def _publish_version(self, params: Json) -> Reply:
        function = self._find(str(params["FunctionName"]))
        revision = params.get("RevisionId")
        if revision is not None and revision != function.revision_id:
            raise ApiError(
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id.",
                HTTPStatus.PRECONDITION_FAILED,
            )
        if params.get("CodeSha256") is not None and params["CodeSha256"] != function.code_sha256:
            raise ApiError(
                "InvalidParameterValueException",
                f"CodeSha256 ({params['CodeSha256']}) is different from current CodeSha256 in $LATEST"
                f" ({function.code_sha256}). Please try again with the CodeSha256 in $LATEST.",
            )
        if function.update_status == "InProgress":
            raise ApiError(
                "ResourceConflictException",
                f"The operation cannot be performed at this time. An update is in progress for resource:"
                f" {function.arn}",
                HTTPStatus.CONFLICT,
            )
        version = self._publish(function)
        return Reply(self._configuration(function, version))

    def _alias(self, params: Json) -> tuple[Function, _Alias]:
        function = self._find(str(params["FunctionName"]))
        alias = function.aliases.get(str(params["Name"]))
        if alias is None:
            raise ApiError(
                "ResourceNotFoundException",
                f"Cannot find alias arn: {function.arn}:{params['Name']}",
                HTTPStatus.NOT_FOUND,
            )
        return function, alias

    def _alias_configuration(self, function: Function, alias: _Alias) -> Json:
        return {
            "AliasArn": f"{function.arn}:{alias.name}",
            "Name": alias.name,
            "FunctionVersion": alias.version,
            "Description": "",
            "RevisionId": alias.revision_id,
        }

    def _get_alias(self, params: Json) -> Reply:
        function, alias = self._alias(params)
        return Reply(self._alias_configuration(function, alias))

    def _update_alias(self, params: Json) -> Reply:
        function, alias = self._alias(params)
        revision = params.get("RevisionId")
        if revision is not None and revision != alias.revision_id:
            raise ApiError(
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id.",
                HTTPStatus.PRECONDITION_FAILED,
            )
        wanted = params.get("FunctionVersion")
        if wanted is not None:
            if wanted not in {version.number for version in function.versions} | {"$LATEST"}:
                raise ApiError(
                    "ResourceNotFoundException",
                    f"Function not found: {function.arn}:{wanted}",
                    HTTPStatus.NOT_FOUND,
                )
            alias.version = str(wanted)
            alias.revision_id = str(uuid.uuid4())
        return Reply(self._alias_configuration(function, alias))

    # --- reading, for scenarios and tests ----------------------------------------------------------

    def alias_version(self, name: str, alias: str) -> _Version | None:
        function = self.function(name)
        target = function.aliases.get(alias)
        if target is None:
            return None
        return next((version for version in function.versions if version.number == target.version), None)
