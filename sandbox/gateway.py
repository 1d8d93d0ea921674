"""One AWS endpoint for the handlers: a byte pipe to moto that records calls and can inject faults.

Handlers get `AWS_ENDPOINT_URL=<gateway url>`. Every request is forwarded unchanged to moto and moto's
answer is returned unchanged, except:

- ECR `GetDownloadUrlForLayer`, which moto lacks: answered from the sandbox's `BlobStore`, with a
  download URL on this gateway (`GET /blobs/<registry>/<repository>/<digest>` serves the bytes);
- injected faults: after letting the first `after` matching calls through, the next `times` calls get
  either a well-formed error in the service's own protocol (`kind="error"`: boto3 raises the modeled
  error code and botocore's retry modes treat throttling as they would in AWS), or no answer at all
  (`kind="timeout"`: moto acts on the request, then the gateway closes the connection without a
  response, so the client sees what a read timeout leaves it knowing — the request may have taken
  effect — at once instead of after its read timeout: botocore raises `ConnectionClosedError`, an
  `HTTPClientError` like `ReadTimeoutError`, never a `ClientError`);
- operations an emulator owns (`emulators`, by signing name: the ECS emulator answers services,
  deployments and Express Mode, moto keeps task definitions): answered by the emulator in the
  service's JSON protocol, recorded like any other call;
- ECR calls naming another account's registry (`registryId`): allowed only when that repository's
  policy grants the action to the caller, as ECR decides cross-account reads; otherwise ECR's
  AccessDeniedException.

Every forwarded request belongs to the gateway's account in moto (`x-moto-account-id`), or to the
registry's account for an allowed cross-account ECR call.

Given `moto_app` (moto's dispatcher, when moto runs in this process), the gateway hands each request to
it directly instead of sending it over loopback HTTP: the same application answers, without a connection
and a server thread per call (moto's server closes every connection).

Each call is recorded with the service (from the SigV4 credential scope), the operation, its
parameters and whether it changes anything.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

import boto3
import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import ResponseParserError, create_parser
from moto.core.models import DEFAULT_ACCOUNT_ID
from pydantic import BaseModel, ConfigDict, Field

from pushpilot_sandbox.accounts import ACCOUNT_HEADER, in_account
from pushpilot_sandbox.ecr import BlobStore
from pushpilot_sandbox.httpserver import LoopbackServer, LoopbackService
from pushpilot_sandbox.moto_server import answer_in_process
from pushpilot_sandbox.repository_policy import Caller, decide, denial_message

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from mypy_boto3_ecr import ECRClient

logger = logging.getLogger(__name__)

# Operations whose names start with these read state and change nothing; every other one mutates.
READ_ONLY_PREFIXES = (
    "BatchGet",
    "Describe",
    "Filter",
    "Get",
    "Head",
    "List",
    "Lookup",
    "Query",
    "Receive",
    "Scan",
    "Search",
    "Test",
)

ECR_DOWNLOAD_URL_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetDownloadUrlForLayer"
BLOBS_PATH = "/blobs/"
SUPPORTED_FAULT_PROTOCOLS = frozenset({"json", "rest-json", "query", "rest-xml"})

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_URI_LABEL = re.compile(r"\{([^}]+)\}")
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# The few services whose SigV4 signing name is not their botocore model name.
_MODEL_FOR_SIGNING_NAME = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "apigateway"}


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_ONLY_PREFIXES)


class RecordedCall(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str | None
    region: str | None
    operation: str | None
    params: dict[str, Any] = Field(default_factory=dict)
    mutating: bool
    status: int
    fault: str | None = None
    answered: bool = True
    """False when the service acted but the gateway dropped the connection instead of answering."""


# --- botocore service models -----------------------------------------------------------------------


@cache
def _botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(signing_name: str) -> ServiceModel | None:
    try:
        return _botocore_session().get_service_model(_MODEL_FOR_SIGNING_NAME.get(signing_name, signing_name))
    except UnknownServiceError:
        return None


@dataclass(frozen=True)
class _RestRoute:
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    required_query: frozenset[str]
    specificity: int
    operation: OperationModel


def _route_for(operation: OperationModel) -> _RestRoute:
    request_uri = str(operation.http["requestUri"])
    path_template, _, query_template = request_uri.partition("?")
    required_query = frozenset(key.partition("=")[0] for key in query_template.split("&") if key)
    labels: list[str] = []
    regex = ""
    position = 0
    for label in _URI_LABEL.finditer(path_template):
        regex += re.escape(path_template[position : label.start()])
        name = label.group(1)
        greedy = name.endswith("+")
        labels.append(name.removesuffix("+"))
        regex += "(.+)" if greedy else "([^/]+)"
        position = label.end()
    regex += re.escape(path_template[position:].rstrip("/")) + "/?"
    literal_length = len(_URI_LABEL.sub("", path_template))
    return _RestRoute(
        method=str(operation.http["method"]),
        pattern=re.compile(regex),
        labels=tuple(labels),
        required_query=required_query,
        specificity=literal_length + 100 * len(required_query),
        operation=operation,
    )


@dataclass(frozen=True)
class _RestMatch:
    route: _RestRoute
    labels: dict[str, str]


@cache
def _rest_routes(signing_name: str) -> tuple[_RestRoute, ...]:
    model = service_model(signing_name)
    if model is None:
        return ()
    routes = [_route_for(model.operation_model(name)) for name in model.operation_names]
    return tuple(sorted(routes, key=lambda route: -route.specificity))


def _match_rest_route(signing_name: str, method: str, path: str, query: dict[str, str]) -> _RestMatch | None:
    for route in _rest_routes(signing_name):
        if route.method != method or not route.required_query <= query.keys():
            continue
        matched = route.pattern.fullmatch(path)
        if matched:
            return _RestMatch(
                route, dict(zip(route.labels, (unquote(value) for value in matched.groups()), strict=True))
            )
    return None


def _rest_params(
    protocol: str,
    match: _RestMatch,
    body: bytes,
    headers: dict[str, str],
    query: dict[str, str],
    *,
    repeated: Mapping[str, list[str]],
) -> dict[str, Any]:
    shape = match.route.operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    if body:
        try:
            parsed = create_parser(protocol).parse(
                {"body": body, "headers": headers, "status_code": 200}, shape
            )
        except (ResponseParserError, ValueError) as exc:
            logger.debug("could not parse %s body: %s", match.route.operation.name, exc)
        else:
            parsed.pop("ResponseMetadata", None)
            params.update(parsed)
    for member_name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", member_name)
        if location == "uri" and wire_name in match.labels:
            params[member_name] = match.labels[wire_name]
        elif location == "querystring" and wire_name in query:
            params[member_name] = _query_value(member, query[wire_name], repeated.get(wire_name, []))
    return params


def _query_value(member: Shape, value: str, every: list[str]) -> Any:
    """A query-string member as the operation's input has it: the string typed as its shape says (the
    emulators' model checks want `MaxItems` an integer), a list from every repetition of its key (Lambda's
    UntagResource sends `tagKeys` once per key)."""
    if member.type_name == "list":
        return every
    if member.type_name in {"integer", "long"}:
        try:
            return int(value)
        except ValueError:
            return value
    if member.type_name == "boolean":
        return value.lower() == "true"
    return value


# --- requests as the gateway sees them -------------------------------------------------------------


@dataclass(frozen=True)
class GatewayRequest:
    method: str
    target: str  # path and query string exactly as received
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))


@dataclass(frozen=True)
class _Identity:
    service: str | None
    region: str | None
    operation: str | None
    params: dict[str, Any]


def _identify(request: GatewayRequest) -> _Identity:
    scope = _CREDENTIAL_SCOPE.search(request.header("Authorization") or "")
    region, service = (scope.group(1), scope.group(2)) if scope else (None, None)
    target = request.header("X-Amz-Target")
    if target:
        return _Identity(service, region, target.rpartition(".")[2], _json_params(request.body))
    content_type = (request.header("Content-Type") or "").lower()
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = request.query | dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        action = form.pop("Action", None)
        form.pop("Version", None)
        if action:
            return _Identity(service, region, action, dict(form))
    model = service_model(service) if service else None
    if service and model is not None and model.resolved_protocol in {"rest-xml", "rest-json"}:
        query = request.query
        match = _match_rest_route(service, request.method, request.path, query)
        if match is not None:
            headers = {key.lower(): value for key, value in request.headers}
            repeated = parse_qs(urlsplit(request.target).query, keep_blank_values=True)
            params = _rest_params(
                model.resolved_protocol, match, request.body, headers, query, repeated=repeated
            )
            return _Identity(service, region, match.route.operation.name, params)
    rpc = _RPC_V2_PATH.match(request.path)
    if rpc is not None:
        # smithy-rpc-v2-cbor (CloudWatch): the operation is in the path; the CBOR body is not shown.
        return _Identity(service, region, rpc.group(1), {})
    return _Identity(service, region, None, {})


_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$")


def _json_params(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


# --- responses -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    reason: str | None = None


# Not sent: the connection is closed instead, as when an answer is lost after the service acted.
_DROPPED = GatewayResponse(0, (), b"", "dropped")


def _plain_text(status: int, text: str) -> GatewayResponse:
    return GatewayResponse(status, (("Content-Type", "text/plain"),), text.encode())


def _json_content_type(model: ServiceModel) -> str:
    return f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"


def _xml_namespace(model: ServiceModel) -> str | None:
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        uri = shape.serialization.get("xmlNamespace", {}).get("uri") if shape is not None else None
        if uri:
            return str(uri)
    return None


def error_response(model: ServiceModel, code: str, status: int, message: str) -> GatewayResponse:
    """An error in the service's own protocol, shaped the way botocore's parsers read AWS's errors."""
    request_id = str(uuid.uuid4())
    protocol = model.resolved_protocol
    if protocol in {"json", "rest-json"}:
        body = json.dumps({"__type": code, "message": message}).encode()
        content_type = _json_content_type(model) if protocol == "json" else "application/json"
        headers = [
            ("Content-Type", content_type),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
        ]
        if model.metadata.get("awsQueryCompatible") is not None:
            fault_type = "Sender" if status < 500 else "Receiver"
            headers.append(("x-amzn-query-error", f"{code};{fault_type}"))
        return GatewayResponse(status, tuple(headers), body)
    if protocol in {"query", "rest-xml"}:
        fault_type = "Sender" if status < 500 else "Receiver"
        namespace = _xml_namespace(model) if protocol == "rest-xml" else None
        opening = f'<ErrorResponse xmlns="{escape(namespace)}">' if namespace else "<ErrorResponse>"
        body = (
            f'<?xml version="1.0"?>\n{opening}<Error><Type>{fault_type}</Type><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return GatewayResponse(status, (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)), body)
    raise ValueError(f"no fault format for protocol {protocol!r}")


def _ecr_json(model: ServiceModel, document: dict[str, Any]) -> GatewayResponse:
    return GatewayResponse(
        200,
        (("Content-Type", _json_content_type(model)), ("x-amzn-RequestId", str(uuid.uuid4()))),
        json.dumps(document).encode(),
    )


# --- emulated services -----------------------------------------------------------------------------


class EmulatedAnswerLike(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def body(self) -> dict[str, Any]: ...


class EmulatedService(Protocol):
    """A service (or part of one) the sandbox answers itself instead of moto, in a JSON protocol."""

    def owns(self, operation: str, params: dict[str, Any]) -> bool: ...

    def answer(self, operation: str, body: bytes) -> EmulatedAnswerLike: ...


def _emulated_response(model: ServiceModel, answer: EmulatedAnswerLike) -> GatewayResponse:
    headers = [("Content-Type", _json_content_type(model)), ("x-amzn-RequestId", str(uuid.uuid4()))]
    if answer.status >= 400:
        headers.append(("x-amzn-ErrorType", str(answer.body.get("__type", ""))))
    return GatewayResponse(answer.status, tuple(headers), json.dumps(answer.body).encode())


# --- faults ----------------------------------------------------------------------------------------


type FaultKind = Literal["error", "timeout"]


@dataclass
class _Fault:
    model: ServiceModel
    service: str
    operation: str
    kind: FaultKind
    code: str
    status: int
    message: str
    remaining: int
    delay_seconds: float
    pass_through: int = 0
    """Matching calls still to let through before the fault applies."""


# --- the gateway -----------------------------------------------------------------------------------


class AwsGateway(LoopbackService):
    """Forward to moto at `moto_url`; answer what moto cannot; record every call."""

    def __init__(
        self,
        *,
        moto_url: str,
        blobs: BlobStore,
        account_id: str = DEFAULT_ACCOUNT_ID,
        caller: Callable[[], Caller | None] | None = None,
        moto_app: WSGIApplication | None = None,
        emulators: Mapping[str, EmulatedService] | None = None,
    ) -> None:
        """`caller` says who is calling right now (the running function's role), for cross-account checks.

        `moto_app` is the application the server at `moto_url` runs, when that server runs in this
        process: requests go to it directly. `emulators` (by signing name) answer the operations they
        own; the rest of their service still reaches moto.
        """
        self._emulators = dict(emulators or {})
        self._moto = urlsplit(moto_url)
        if self._moto.hostname is None or self._moto.port is None:
            raise ValueError(f"moto_url needs a host and port: {moto_url!r}")
        self._moto_url = moto_url
        self._moto_app = moto_app
        self._blobs = blobs
        self._account_id = account_id
        self._caller = caller or (lambda: None)
        self._lock = threading.Lock()
        self._calls: list[RecordedCall] = []
        self._faults: list[_Fault] = []
        self._moto_ecr_clients: dict[tuple[str, str], ECRClient] = {}
        handler = type("AwsGatewayHandler", (_GatewayHandler,), {"gateway": self})
        self._server = LoopbackServer(handler)

    # recording

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def _record(
        self, identity: _Identity, method: str, status: int, fault: str | None, *, answered: bool = True
    ) -> None:
        mutating = is_mutating(identity.operation) if identity.operation else method not in {"GET", "HEAD"}
        call = RecordedCall(
            service=identity.service,
            region=identity.region,
            operation=identity.operation,
            params=identity.params,
            mutating=mutating,
            status=status,
            fault=fault,
            answered=answered,
        )
        with self._lock:
            self._calls.append(call)

    # faults

    def inject_fault(
        self,
        service: str,
        operation: str,
        *,
        code: str = "",
        status: int = 400,
        message: str = "injected",
        times: int = 1,
        delay_seconds: float = 0.0,
        kind: FaultKind = "error",
        after: int = 0,
    ) -> None:
        """Let `after` calls of `service` (signing name) `operation` through, then fail the next `times`.

        `kind="error"` answers error `code` without touching moto. `kind="timeout"` forwards the call
        (moto acts on it) and then closes the connection without answering: the client gets botocore's
        `ConnectionClosedError` (an `HTTPClientError`, not a `ClientError`) and cannot know the outcome.

        botocore decides what is retried, as against AWS: its standard and adaptive modes treat
        Throttling, ThrottlingException, PriorRequestNotComplete (and a 429) as throttling and any
        500/502/503/504 as transient; legacy mode retries Route 53's Throttling and
        PriorRequestNotComplete through its per-service rules. Modeled errors such as
        ConditionalCheckFailedException are never retried.
        """
        model = service_model(service)
        if model is None:
            raise ValueError(f"unknown service {service!r}")
        if operation not in model.operation_names:
            raise ValueError(f"{service} has no operation {operation!r}")
        if model.resolved_protocol not in SUPPORTED_FAULT_PROTOCOLS:
            raise ValueError(f"no fault format for {service}'s protocol {model.resolved_protocol!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if after < 0:
            raise ValueError("after must be 0 or more")
        if kind == "error" and not code:
            raise ValueError("an error fault needs a code")
        fault = _Fault(
            model, service, operation, kind, code, status, message, times, delay_seconds, pass_through=after
        )
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, identity: _Identity) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.service == identity.service and fault.operation == identity.operation:
                    if fault.pass_through > 0:
                        fault.pass_through -= 1
                        return None
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # serving

    def handle(self, request: GatewayRequest) -> GatewayResponse:
        """One request in, one response out: a blob, an injected fault, an emulated call or moto's answer."""
        if request.method in {"GET", "HEAD"} and request.path.startswith(BLOBS_PATH):
            return self._serve_blob(request.path)
        identity = _identify(request)
        fault = self._take_fault(identity)
        if fault is not None and fault.kind == "error":
            if fault.delay_seconds:
                time.sleep(fault.delay_seconds)
            response = error_response(fault.model, fault.code, fault.status, fault.message)
            self._record(identity, request.method, response.status, fault.code)
            return response
        account = self._account_id
        if identity.service == "ecr":
            registry_id = str(identity.params.get("registryId") or self._account_id)
            if registry_id != self._account_id:
                denied = self._cross_account_denial(identity, registry_id)
                if denied is not None:
                    self._record(identity, request.method, denied.status, None)
                    return denied
                account = registry_id
        emulator = self._emulators.get(identity.service or "")
        if identity.service == "ecr" and request.header("X-Amz-Target") == ECR_DOWNLOAD_URL_TARGET:
            response = self._download_url_for_layer(identity)
        elif (
            emulator is not None and identity.operation and emulator.owns(identity.operation, identity.params)
        ):
            model = service_model(identity.service or "")
            if model is None:
                raise RuntimeError(f"botocore has no model for {identity.service}")
            # A REST service's members travel in the URI as well as the body: its emulator gets them all.
            body = (
                json.dumps(identity.params).encode()
                if model.resolved_protocol == "rest-json"
                else request.body
            )
            response = _emulated_response(model, emulator.answer(identity.operation, body))
        else:
            response = self._forward(request, account=account)
        if fault is not None:  # a timeout: the service acted, its answer is lost
            self._record(identity, request.method, response.status, "timeout", answered=False)
            return _DROPPED
        self._record(identity, request.method, response.status, None)
        return response

    def _cross_account_denial(self, identity: _Identity, registry_id: str) -> GatewayResponse | None:
        """ECR's answer to another account's read: None when the repository policy allows it."""
        repository = str(identity.params.get("repositoryName") or "")
        operation = identity.operation or ""
        region = identity.region or "us-east-1"
        ecr = self._moto_ecr(region, registry_id)
        try:
            policy = ecr.get_repository_policy(registryId=registry_id, repositoryName=repository)[
                "policyText"
            ]
        except ecr.exceptions.RepositoryPolicyNotFoundException:
            policy = None
        except ecr.exceptions.RepositoryNotFoundException:
            # moto answers for a repository that is not there, as ECR does.
            return None
        caller = self._caller() or Caller(account_id=self._account_id)
        action = f"ecr:{operation}"
        decision = decide(policy, action=action, caller=caller)
        if decision == "allowed":
            return None
        model = service_model("ecr")
        if model is None:
            raise RuntimeError("botocore has no ECR model")
        resource = f"arn:aws:ecr:{region}:{registry_id}:repository/{repository}"
        message = denial_message(decision, action=action, caller=caller, resource_arn=resource)
        return error_response(model, "AccessDeniedException", 400, message)

    def _download_url_for_layer(self, identity: _Identity) -> GatewayResponse:
        model = service_model("ecr")
        if model is None:
            raise RuntimeError("botocore has no ECR model")
        repository = str(identity.params.get("repositoryName", ""))
        digest = str(identity.params.get("layerDigest", ""))
        registry_id = str(identity.params.get("registryId") or self._account_id)
        if not self._repository_exists(registry_id, repository, identity.region):
            message = (
                f"The repository with name '{repository}' does not exist in the registry '{registry_id}'"
            )
            return error_response(model, "RepositoryNotFoundException", 400, message)
        if self._blobs.get(registry_id, repository, digest) is None:
            return error_response(
                model, "LayersNotFoundException", 400, f"The layer '{digest}' does not exist"
            )
        download_url = f"{self.url}{BLOBS_PATH}{quote(registry_id)}/{quote(repository)}/{quote(digest)}"
        return _ecr_json(model, {"downloadUrl": download_url, "layerDigest": digest})

    def _repository_exists(self, registry_id: str, repository: str, region: str | None) -> bool:
        ecr = self._moto_ecr(region or "us-east-1", registry_id)
        try:
            ecr.describe_repositories(registryId=registry_id, repositoryNames=[repository])
        except ecr.exceptions.RepositoryNotFoundException:
            return False
        return True

    def _moto_ecr(self, region: str, account_id: str) -> ECRClient:
        # Asks moto directly (not through the gateway): the check is not a call the handler made.
        with self._lock:
            if (region, account_id) not in self._moto_ecr_clients:
                client: ECRClient = boto3.session.Session().client(
                    "ecr",
                    region_name=region,
                    endpoint_url=self._moto_url,
                    aws_access_key_id="sandbox",
                    aws_secret_access_key="sandbox",  # noqa: S106 - moto accepts any credentials
                )
                self._moto_ecr_clients[region, account_id] = in_account(client, account_id)
            return self._moto_ecr_clients[region, account_id]

    def _serve_blob(self, path: str) -> GatewayResponse:
        registry_id, _, rest = path.removeprefix(BLOBS_PATH).partition("/")
        repository, _, digest = rest.rpartition("/")
        content = self._blobs.get(unquote(registry_id), unquote(repository), unquote(digest))
        if content is None:
            return _plain_text(404, "blob not found\n")
        return GatewayResponse(200, (("Content-Type", "application/octet-stream"),), content)

    def _forward(self, request: GatewayRequest, *, account: str) -> GatewayResponse:
        headers = [
            (name, value)
            for name, value in request.headers
            if name.lower() not in _HOP_BY_HOP and name.lower() != ACCOUNT_HEADER
        ]
        headers.append((ACCOUNT_HEADER, account))
        if self._moto_app is None:
            return self._send_to_moto(request, headers)
        answer = answer_in_process(
            self._moto_app, method=request.method, target=request.target, headers=headers, body=request.body
        )
        return GatewayResponse(
            answer.status,
            tuple((name, value) for name, value in answer.headers if name.lower() not in _HOP_BY_HOP),
            answer.body,
            answer.reason,
        )

    def _send_to_moto(self, request: GatewayRequest, headers: list[tuple[str, str]]) -> GatewayResponse:
        host, port = self._moto.hostname, self._moto.port
        if host is None or port is None:
            raise RuntimeError(self._moto_url)
        connection = http.client.HTTPConnection(host, port, timeout=60)
        try:
            connection.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders(request.body or None)
            upstream = connection.getresponse()
            body = upstream.read()
            answer_headers = tuple(
                (name, value) for name, value in upstream.getheaders() if name.lower() not in _HOP_BY_HOP
            )
            return GatewayResponse(upstream.status, answer_headers, body, upstream.reason)
        except (OSError, http.client.HTTPException) as exc:
            logger.warning("moto did not answer %s %s: %s", request.method, request.target, exc)
            return _plain_text(502, f"moto unreachable: {exc}\n")
        finally:
            connection.close()


class _GatewayHandler(BaseHTTPRequestHandler):
    gateway: ClassVar[AwsGateway]
    protocol_version = "HTTP/1.1"
    # Keep-alive with headers and body in separate writes stalls on Nagle's algorithm (~40 ms a call).
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            # The unread chunked body would be taken for the next request: drop the connection.
            self.close_connection = True
            self._send(_plain_text(411, "send a Content-Length\n"), head=False)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = GatewayRequest(self.command, self.path, tuple(self.headers.items()), body)
        response = self.gateway.handle(request)
        if response is _DROPPED:
            # No status line at all: the client reads end-of-stream where the answer should be.
            self.close_connection = True
            return
        self._send(response, head=self.command == "HEAD")

    def _send(self, response: GatewayResponse, *, head: bool) -> None:
        self.send_response_only(response.status, response.reason)
        has_length = False
        for name, value in response.headers:
            if name.lower() == "content-length":
                # A HEAD answer keeps the length of the body it would have had.
                has_length = head
                if not head:
                    continue
            self.send_header(name, value)
        if not has_length:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    # http.server dispatches on these names.
    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)
