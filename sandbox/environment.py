"""The offline AWS account: moto behind a recording gateway, the App Runner emulator, real ECR
images, the template's own resources and rules, and a Slack sink — all on 127.0.0.1.

Handlers reach it only through endpoint settings (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_APPRUNNER,
SLACK_API_URL), exactly as they reach AWS.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import boto3

from pushpilot_sandbox.apprunner import AppRunnerEmulator
from pushpilot_sandbox.ecr import BlobStore, EcrSandbox
from pushpilot_sandbox.gateway import AwsGateway
from pushpilot_sandbox.logcapture import LogSink
from pushpilot_sandbox.moto_server import MotoHandle, start_moto
from pushpilot_sandbox.provision import provision
from pushpilot_sandbox.router import Delivery, EventRouter
from pushpilot_sandbox.slack_sink import SlackSink
from pushpilot_sandbox.template import PhysicalResource, load_template

if TYPE_CHECKING:
    from mypy_boto3_apprunner import AppRunnerClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_sqs import SQSClient

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = PROJECT_ROOT / "template.yaml"
SANDBOX_ACCOUNT = "123456789012"
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


class Sandbox:
    """Start with `with Sandbox(config) as sandbox:`; everything stops on exit."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.bus: deque[dict[str, Any]] = deque()
        self.logs = LogSink()
        self.blobs = BlobStore()
        self._moto: MotoHandle | None = None
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
        self.gateway = AwsGateway(moto_url=self.moto_url, blobs=self.blobs, account_id=account)
        self.gateway.start()
        self._started.append(self.gateway)
        self.ecr = EcrSandbox(
            ecr=self.direct_client("ecr"),
            blobs=self.blobs,
            emit=self.bus.append,
            account_id=account,
            region=region,
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
        )

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
        }

    def direct_client(self, service: str) -> Any:
        """A client straight to moto, for setup and inspection: its calls are not handler calls."""
        return boto3.client(
            service, region_name=self.config.region, endpoint_url=self.moto_url, **_CREDENTIALS
        )  # type: ignore[call-overload]

    def apprunner_client(self) -> AppRunnerClient:
        client: AppRunnerClient = boto3.client(
            "apprunner",
            region_name=self.config.region,
            endpoint_url=self.apprunner_url,
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
        return {"SlackMode": mode, "SlackSecretId": arn, "SlackChannel": "C0SANDBOX"}

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
        from pushpilot.images_ref import ImageRef

        try:
            ref = ImageRef.parse(image_identifier)
        except ValueError:
            return None
        if ref.digest:
            return ref.digest
        ecr: ECRClient = self.direct_client("ecr")
        try:
            images = ecr.describe_images(
                repositoryName=ref.repository, imageIds=[{"imageTag": ref.tag or "latest"}]
            )
        except ecr.exceptions.ClientError:
            return None
        details = images.get("imageDetails", [])
        return details[0].get("imageDigest") if details else None

    # --- running -----------------------------------------------------------------------------------

    def settle(self, *, max_rounds: int = 200) -> list[Delivery]:
        """Deliver every pending event and drain every queue until nothing moves."""
        delivered: list[Delivery] = []
        for _ in range(max_rounds):
            moved = False
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
            if not moved and not self.bus:
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
