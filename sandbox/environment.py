"""The offline AWS account: moto behind a recording gateway, the App Runner and ECS emulators, real ECR
images, the template's own resources and rules, and a Slack sink — all on 127.0.0.1.

Handlers reach it only through endpoint settings (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_APPRUNNER,
SLACK_API_URL, ECR_PUBLIC_REGISTRY_URL), exactly as they reach AWS.

The stack lives in one account (`SandboxConfig.account_id`); ECR repositories may live in others.
Each account has its own default bus: a push in a registry account reaches the stack only through the
forwarder template's rule installed there, and only if the stack's bus policy admits it.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

import boto3
from moto.events.models import EventPattern

from pushpilot_sandbox.accounts import in_account
from pushpilot_sandbox.acm import AcmValidator
from pushpilot_sandbox.apprunner import AppRunnerEmulator
from pushpilot_sandbox.ecr import BlobStore, EcrSandbox
from pushpilot_sandbox.ecs import EcsEmulator
from pushpilot_sandbox.ecs_task_definitions import MotoTaskDefinitions
from pushpilot_sandbox.forwarding import ForwardingRecord, bus_account, bus_policy_refusal
from pushpilot_sandbox.gateway import AwsGateway
from pushpilot_sandbox.lambda_functions import LambdaEmulator
from pushpilot_sandbox.load_balancers import BuiltLoadBalancer
from pushpilot_sandbox.logcapture import LogSink
from pushpilot_sandbox.moto_server import MotoHandle, start_moto
from pushpilot_sandbox.provision import provision
from pushpilot_sandbox.public_registry import PublicRegistry
from pushpilot_sandbox.release_event_bus import ReleaseEventBus
from pushpilot_sandbox.repository_policy import Caller
from pushpilot_sandbox.router import Delivery, EventRouter
from pushpilot_sandbox.sam_functions import (
    DEFAULT_BUS,
    BusPolicyStatement,
    BusRuleSpec,
    implicit_resources,
    read_bus_policies,
    read_bus_rules,
)
from pushpilot_sandbox.slack_sink import SlackSink
from pushpilot_sandbox.template import PhysicalResource, Pseudo, Resolver, load_template

if TYPE_CHECKING:
    from mypy_boto3_apprunner import AppRunnerClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_sqs import SQSClient

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = PROJECT_ROOT / "template.yaml"
FORWARDER_TEMPLATE = PROJECT_ROOT / "forwarder" / "template.yaml"
STACK_NAME = "pushpilot"
FORWARDER_STACK_NAME = "pushpilot-forwarder"
SANDBOX_ACCOUNT = "123456789012"
SANDBOX_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 - the sandbox's own, never a real app's
_CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}


@dataclass
class SandboxConfig:
    region: str = "us-east-1"
    account_id: str = SANDBOX_ACCOUNT
    parameters: Mapping[str, str] = field(default_factory=dict)
    template_path: Path = TEMPLATE
    slack_mode: str = "none"  # none | bot | webhook
    sns: bool = True
    # At-least-once delivery, on demand: every event is delivered this many times, optionally at once.
    copies_per_event: int = 1
    concurrent_copies: bool = False
    forwarder_template_path: Path = FORWARDER_TEMPLATE
    # The AWS Organization every sandbox account belongs to (aws:PrincipalOrgID), if any.
    organization_id: str | None = None


class _Forwarder:
    """The forwarder stack as installed in one registry account: its rules to other buses."""

    def __init__(self, rules: list[BusRuleSpec], resources: dict[str, PhysicalResource]) -> None:
        self.rules = rules
        self.resources = resources
        self.patterns = [EventPattern.load(json.dumps(rule.pattern)) for rule in rules]


class Sandbox:
    """Start with `with Sandbox(config) as sandbox:`; everything stops on exit."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.bus: deque[dict[str, Any]] = deque()
        """The stack account's default bus."""
        self.registry_buses: dict[str, deque[dict[str, Any]]] = {}
        """Other accounts' default buses, where their ECR events land first."""
        self.forwarding: list[ForwardingRecord] = []
        self._forwarders: dict[str, _Forwarder] = {}
        self.logs = LogSink()
        self.blobs = BlobStore()
        self._moto: MotoHandle | None = None
        # boto3 clients are thread-safe and costly to build: one per service and account.
        self._direct_clients: dict[tuple[str, str], Any] = {}
        self._started: list[Any] = []

    # --- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        region, account = self.config.region, self.config.account_id
        self._moto = start_moto()
        self._started.append(self._moto)
        # moto keeps one in-process backend for every server it runs: start each sandbox empty.
        self._moto.reset()
        self.moto_url = self._moto.url
        # ECS services, deployments and Express Mode: the gateway hands them to the emulator, task
        # definitions stay in moto (the emulator reads them there).
        self.ecs = EcsEmulator(
            task_definitions=MotoTaskDefinitions(account, region),
            account_id=account,
            region=region,
            emit=self.bus.append,
            resolve_digest=self._resolve_digest,
        )
        # pushpilot's own events land on the stack's bus, checked against their published schema.
        self.release_events = ReleaseEventBus(account_id=account, region=region, emit=self.bus.append)
        self.lambda_functions = LambdaEmulator(
            account_id=account,
            region=region,
            media_type_of=self._media_type_of,
            resolve_digest=self._resolve_digest,
        )
        from pushpilot_sandbox.ecs_hooks import PauseHooks

        # BLUE_GREEN, LINEAR and CANARY services stop at their PAUSE hooks.
        self.ecs_hooks = PauseHooks(self.ecs)
        self.gateway = AwsGateway(
            moto_url=self.moto_url,
            blobs=self.blobs,
            account_id=account,
            caller=self._current_caller,
            moto_app=self._moto.app,
            emulators={"ecs": self.ecs, "events": self.release_events, "lambda": self.lambda_functions},
        )
        self.gateway.start()
        self._started.append(self.gateway)
        self.public_registry = PublicRegistry()
        self.public_registry.start()
        self._started.append(self.public_registry)
        self.ecr = EcrSandbox(
            ecr=self.direct_client("ecr"),
            blobs=self.blobs,
            emit=self._put_on_own_bus,
            account_id=account,
            region=region,
            ecr_in=lambda other: self.direct_client("ecr", account=other),
        )
        self.apprunner = AppRunnerEmulator(
            account_id=account,
            region=region,
            emit=self.bus.append,
            route53=self.direct_client("route53"),
            resolve_digest=self._resolve_digest,
        )
        self.apprunner_url = self.apprunner.start()
        self._started.append(self.apprunner)
        # setup.load_balancers as built, by name (ECS services name the one they sit behind).
        self.load_balancers: dict[str, BuiltLoadBalancer] = {}
        self.acm = AcmValidator(
            account_id=account, region=region, route53=self.direct_client("route53"), emit=self.bus.append
        )
        self.slack = SlackSink()
        self.slack.start()
        self._started.append(self.slack)

        parameters = dict(self.config.parameters)
        secrets = self._slack_secret()
        parameters.update(secrets)
        template = load_template(self.config.template_path)
        self.resources: dict[str, PhysicalResource] = provision(
            template,
            parameters=parameters,
            endpoint_url=self.moto_url,
            region=region,
            account_id=account,
        )
        self.sns_capture_url = self._capture_topic() if self.config.sns else None
        self.router = EventRouter(
            template_path=self.config.template_path,
            parameters=parameters,
            resources=self.resources,
            base_env=self.handler_environment(),
            region=region,
            account_id=account,
            log_sink=self.logs,
            stack_name=STACK_NAME,
        )
        self.parameters = parameters
        resolver = Resolver(
            template, parameters, Pseudo(region=region, account_id=account, stack_name=STACK_NAME), {}
        )
        self.bus_policy: list[BusPolicyStatement] = [
            statement
            for statement in read_bus_policies(resolver.with_resources(implicit_resources(resolver)))
            if statement.event_bus == DEFAULT_BUS
        ]

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()

    # --- wiring ------------------------------------------------------------------------------------

    def handler_environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.gateway.url,
            "AWS_ENDPOINT_URL_APPRUNNER": self.apprunner_url,
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_REGION": self.config.region,
            "AWS_DEFAULT_REGION": self.config.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SLACK_API_URL": self.slack.api_url(),
            "ECR_PUBLIC_REGISTRY_URL": self.public_registry.url,
            # Ephemeral answers go to the Slack emulator's response URLs instead of hooks.slack.com.
            "SLACK_RESPONSE_URL_PREFIX": f"{self.slack.url}/actions/",
        }

    def direct_client(self, service: str, *, account: str | None = None) -> Any:
        """A client straight to moto, for setup and inspection: its calls are not handler calls.

        It acts in the stack's account unless `account` names another.
        """
        key = (service, account or self.config.account_id)
        if key not in self._direct_clients:
            client = boto3.client(
                service, region_name=self.config.region, endpoint_url=self.moto_url, **_CREDENTIALS
            )  # type: ignore[call-overload]
            if self._moto is not None:
                client = self._moto.serve_in_process(client)
            self._direct_clients[key] = in_account(client, key[1])
        return self._direct_clients[key]

    @property
    def service_bus_arn(self) -> str:
        region, account = self.config.region, self.config.account_id
        partition = Pseudo(region=region, account_id=account).partition
        return f"arn:{partition}:events:{region}:{account}:event-bus/default"

    def function_role_arn(self, function_logical_id: str) -> str:
        """The execution role ARN of one of the stack's functions (SAM's generated `<Function>Role`)."""
        role = self.router.resources.get(f"{function_logical_id}Role")
        if role is None:
            raise KeyError(f"the stack has no role for {function_logical_id}")
        return role.attributes["Arn"]

    def _current_caller(self) -> Caller | None:
        """Who is calling the gateway now: the function being invoked (the router sets Lambda's variables)."""
        function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if not function_name or not hasattr(self, "router"):
            return None
        for spec in self.router.functions():
            role = self.router.resources.get(f"{spec.logical_id}Role")
            if spec.function_name == function_name and role is not None:
                return Caller(
                    account_id=self.config.account_id, role_name=role.ref, session_name=function_name
                )
        return None

    def apprunner_client(self) -> AppRunnerClient:
        client: AppRunnerClient = boto3.client(
            "apprunner",
            region_name=self.config.region,
            endpoint_url=self.apprunner_url,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",  # noqa: S106 - the sandbox accepts any credentials
        )
        return client

    def ecs_client(self) -> ECSClient:
        """An ECS client through the gateway, as a handler's would be: its calls are recorded."""
        client: ECSClient = boto3.client(
            "ecs",
            region_name=self.config.region,
            endpoint_url=self.gateway.url,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",  # noqa: S106 - the sandbox accepts any credentials
        )
        return client

    def lambda_client(self) -> LambdaClient:
        """A Lambda client through the gateway, as a handler's would be: its calls are recorded."""
        client: LambdaClient = boto3.client(
            "lambda",
            region_name=self.config.region,
            endpoint_url=self.gateway.url,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",  # noqa: S106 - the sandbox accepts any credentials
        )
        return client

    def _slack_secret(self) -> dict[str, str]:
        mode = self.config.slack_mode
        if mode == "none":
            return {"SlackMode": "none"}
        value = (
            json.dumps({"token": "xoxb-sandbox-token", "channel": "C0SANDBOX"})
            if mode == "bot"
            else self.slack.webhook_url()
        )
        secrets = self.direct_client("secretsmanager")
        arn = secrets.create_secret(Name="pushpilot/slack", SecretString=value)["ARN"]
        # The Slack app's signing secret: the emulator signs its clicks with it (sandbox/slack_clicks.py).
        signing = secrets.create_secret(Name="pushpilot/slack-signing", SecretString=SANDBOX_SIGNING_SECRET)
        return {
            "SlackMode": mode,
            "SlackSecretId": arn,
            "SlackChannel": "C0SANDBOX",
            "SlackSigningSecretId": signing["ARN"],
        }

    def _capture_topic(self) -> str | None:
        """Subscribe a queue to the stack's topic so the sandbox can show what SNS delivered."""
        topic = self.resources.get("NotificationTopic")
        if topic is None:
            return None
        sqs: SQSClient = self.direct_client("sqs")
        queue_url = sqs.create_queue(QueueName="sandbox-sns-capture")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.direct_client("sns").subscribe(
            TopicArn=topic.ref, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"}
        )
        return queue_url

    def _resolve_digest(self, image_identifier: str) -> str | None:
        """Which digest a tag points at now: what App Runner would pull."""
        from pushpilot.core.image_ref import ImageRef

        try:
            ref = ImageRef.parse(image_identifier)
        except ValueError:
            return None
        if ref.digest:
            return ref.digest
        if ref.is_ecr_public:
            return self.public_registry.digest_of(ref.repository, ref.tag or "latest")
        ecr: ECRClient = self.direct_client("ecr", account=ref.registry_account)
        try:
            images = ecr.describe_images(
                repositoryName=ref.repository, imageIds=[{"imageTag": ref.tag or "latest"}]
            )
        except ecr.exceptions.ClientError:
            return None
        details = images.get("imageDetails", [])
        return details[0].get("imageDigest") if details else None

    def _media_type_of(self, image_identifier: str) -> str | None:
        """The media type of the manifest a tag or digest names now (what Lambda reads); None: no image."""
        from pushpilot.core.image_ref import ImageRef
        from pushpilot.core.verdicts import ACCEPTED_MEDIA_TYPES

        try:
            ref = ImageRef.parse(image_identifier)
        except ValueError:
            return None
        ecr: ECRClient = self.direct_client("ecr", account=ref.registry_account)
        image_id: Any = {"imageDigest": ref.digest} if ref.digest else {"imageTag": ref.tag or "latest"}
        try:
            found = ecr.batch_get_image(
                repositoryName=ref.repository,
                imageIds=[image_id],
                acceptedMediaTypes=list(ACCEPTED_MEDIA_TYPES),
            )
        except ecr.exceptions.ClientError:
            return None
        images = found.get("images", [])
        return images[0].get("imageManifestMediaType") if images else None

    # --- accounts and their buses ------------------------------------------------------------------

    def _put_on_own_bus(self, event: dict[str, Any]) -> None:
        """An AWS service's event lands on the default bus of the account it happened in."""
        account = str(event.get("account") or self.config.account_id)
        if account == self.config.account_id:
            self.bus.append(event)
        else:
            self.registry_buses.setdefault(account, deque()).append(event)

    def install_forwarder(self, account: str) -> None:
        """Deploy the forwarder template in `account`, pointed at the stack's bus, as its README says."""
        if account == self.config.account_id:
            raise ValueError("the forwarder belongs in a registry account, not in the stack's own")
        if account in self._forwarders or self._moto is None:
            return
        template = load_template(self.config.forwarder_template_path)
        declared = template.get("Parameters") or {}
        wanted = {
            "ServiceEventBusArn": self.service_bus_arn,
            "RepositoryPrefix": self._stack_parameter("RepositoryPrefix"),
        }
        parameters = {name: value for name, value in wanted.items() if name in declared and value is not None}
        region = self.config.region
        created = provision(
            template,
            parameters=parameters,
            endpoint_url=self.moto_url,
            region=region,
            account_id=account,
            stack_name=FORWARDER_STACK_NAME,
        )
        resolver = Resolver(
            template,
            parameters,
            Pseudo(region=region, account_id=account, stack_name=FORWARDER_STACK_NAME),
            {},
        )
        resolver = resolver.with_resources({**implicit_resources(resolver), **created})
        self._forwarders[account] = _Forwarder(read_bus_rules(resolver), created)

    def _stack_parameter(self, name: str) -> str | None:
        if name in self.parameters:
            return self.parameters[name]
        declared = (load_template(self.config.template_path).get("Parameters") or {}).get(name) or {}
        default = declared.get("Default")
        return None if default is None else str(default)

    def _forward_pending(self) -> bool:
        """Move events from registry accounts' buses through their forwarding rules; True if any moved."""
        moved = False
        for account, bus in self.registry_buses.items():
            while bus:
                moved = True
                self._forward(account, bus.popleft())
        return moved

    def _forward(self, account: str, event: dict[str, Any]) -> None:
        event_id = str(event.get("id", ""))
        repository = (event.get("detail") or {}).get("repository-name")
        forwarder = self._forwarders.get(account)
        matched = (
            [
                rule
                for rule, pattern in zip(forwarder.rules, forwarder.patterns, strict=True)
                if rule.enabled
                and rule.event_bus == DEFAULT_BUS
                and pattern.matches_event(cast("Any", event))
            ]
            if forwarder is not None
            else []
        )
        if not matched:
            reason = "no forwarding rule matches" if forwarder is not None else "no forwarder installed"
            self.forwarding.append(
                ForwardingRecord(
                    event_id=event_id,
                    source_account=account,
                    status="not-forwarded",
                    repository=repository,
                    reason=reason,
                )
            )
            return
        for rule in matched:
            record = ForwardingRecord(
                event_id=event_id,
                source_account=account,
                status="forwarded",
                target_account=bus_account(rule.target_bus_arn),
                target_bus_arn=rule.target_bus_arn,
                rule=rule.key,
                repository=repository,
            )
            if rule.target_bus_arn != self.service_bus_arn:
                refusal: str | None = f"{rule.target_bus_arn} is not a bus the sandbox runs"
            else:
                refusal = bus_policy_refusal(
                    self.bus_policy,
                    event=event,
                    sender_account=account,
                    bus_arn=self.service_bus_arn,
                    organization_id=self.config.organization_id,
                )
            if refusal is None:
                self.forwarding.append(record)
                self.bus.append(dict(event))
                continue
            self.forwarding.append(record.model_copy(update={"status": "refused", "reason": refusal}))
            if rule.dead_letter_arn is not None and forwarder is not None:
                self._forwarding_dead_letter(account, rule.dead_letter_arn, event, rule, refusal)

    def _forwarding_dead_letter(
        self, account: str, queue_arn: str, event: dict[str, Any], rule: BusRuleSpec, refusal: str
    ) -> None:
        """EventBridge's dead letter for a target it could not put to, in the registry account."""
        sqs: SQSClient = self.direct_client("sqs", account=account)
        queue_url = sqs.get_queue_url(QueueName=queue_arn.split(":")[5], QueueOwnerAWSAccountId=account)[
            "QueueUrl"
        ]
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                "RULE_ARN": {"DataType": "String", "StringValue": rule.arn},
                "TARGET_ARN": {"DataType": "String", "StringValue": rule.target_bus_arn},
                "ERROR_CODE": {"DataType": "String", "StringValue": "NO_PERMISSIONS"},
                "ERROR_MESSAGE": {"DataType": "String", "StringValue": refusal},
            },
        )

    def forwarding_dead_letters(self, account: str) -> list[dict[str, Any]]:
        """Events the forwarder in `account` could not put on the stack's bus (its dead-letter queue)."""
        forwarder = self._forwarders.get(account)
        queue = forwarder.resources.get("ForwardingDeadLetterQueue") if forwarder is not None else None
        if queue is None:
            return []
        sqs: SQSClient = self.direct_client("sqs", account=account)
        batch = sqs.receive_message(
            QueueUrl=queue.ref, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0
        )
        return [json.loads(item["Body"]) for item in batch.get("Messages", [])]

    # --- running -----------------------------------------------------------------------------------

    def settle(self, *, max_rounds: int = 200) -> list[Delivery]:
        """Deliver every pending event and drain every queue until nothing moves."""
        delivered: list[Delivery] = []
        for _ in range(max_rounds):
            moved = self._forward_pending()
            while self.bus:
                delivered.extend(self._deliver(self.bus.popleft()))
                moved = True
            drained = self.router.drain_queues()
            if drained:
                delivered.extend(drained)
                moved = True
            validation_events = self.apprunner.check_domain_validation()
            if validation_events:
                moved = True
            if self.acm.check():
                moved = True
            if not moved and not self.bus and not any(self.registry_buses.values()):
                break
        return delivered

    def _deliver(self, event: dict[str, Any]) -> list[Delivery]:
        copies = max(1, self.config.copies_per_event)
        if copies > 1 and self.config.concurrent_copies:
            return self.router.deliver_many([event] * copies, workers=copies)
        delivered: list[Delivery] = []
        for _ in range(copies):
            delivered.extend(self.router.deliver(event))
        return delivered

    def update_parameters(self, **values: str) -> None:
        """Update the stack's parameters (DnsZoneIds once the setup's zones exist, say)."""
        self.parameters = {**self.parameters, **values}
        self.router.update_parameters(self.parameters)

    def route53(self) -> Route53Client:
        client: Route53Client = self.direct_client("route53")
        return client

    def sns_messages(self) -> list[dict[str, Any]]:
        """Everything SNS delivered so far (drains the capture queue)."""
        if self.sns_capture_url is None:
            return []
        sqs: SQSClient = self.direct_client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.sns_capture_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            items = batch.get("Messages", [])
            if not items:
                return messages
            for item in items:
                messages.append(json.loads(item["Body"]))
                sqs.delete_message(QueueUrl=self.sns_capture_url, ReceiptHandle=item["ReceiptHandle"])

    def queue_messages(self, logical_id: str) -> list[dict[str, Any]]:
        """Peek at a queue of the stack (dead-letter queues for the report), without consuming."""
        resource = self.resources.get(logical_id)
        if resource is None:
            return []
        sqs: SQSClient = self.direct_client("sqs")
        found: dict[str, dict[str, Any]] = {}
        # Visibility 0 keeps the messages where they are, so later receives may repeat some: collect
        # by message id until a receive brings nothing new.
        for _ in range(100):
            batch = sqs.receive_message(
                QueueUrl=resource.ref, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0
            )
            fresh = [item for item in batch.get("Messages", []) if item["MessageId"] not in found]
            if not fresh:
                break
            for item in fresh:
                try:
                    found[item["MessageId"]] = json.loads(item["Body"])
                except json.JSONDecodeError:
                    found[item["MessageId"]] = {"body": item["Body"]}
        return list(found.values())
