"""Scenarios: a YAML story run against the sandbox, told as a timeline and saved as a JSON report.

The format is a contract (see README, "Write your own scenario"): extend it, never break it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO

import yaml
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pushpilot_sandbox.apprunner import EmulatorError
from pushpilot_sandbox.apprunner_model import service_name_problem
from pushpilot_sandbox.ecs import EmulatorError as EcsEmulatorError
from pushpilot_sandbox.ecs_scenario import EcsServiceSpec, ExpressServiceSpec
from pushpilot_sandbox.environment import SANDBOX_ACCOUNT, TEMPLATE, Sandbox, SandboxConfig
from pushpilot_sandbox.lambda_scenario import LambdaFunctionSpec
from pushpilot_sandbox.load_balancers import LoadBalancerSpec
from pushpilot_sandbox.template import load_template


class ScenarioError(Exception):
    """The scenario file is wrong, or a step cannot run: one line saying which step, which field, why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordSpec(_Strict):
    name: str
    type: str
    values: list[str]
    ttl: int = 300


class ZoneSpec(_Strict):
    name: str
    records: list[RecordSpec] = Field(default_factory=list)


AccountId = Annotated[str, Field(pattern=r"^[0-9]{12}$")]


class ServiceSpec(_Strict):
    name: str
    image: str
    auto_deploy: bool = False
    account: AccountId | None = Field(
        default=None, description="The account the service (and so the stack) runs in; one for all services"
    )
    tags: dict[str, str] = Field(
        default_factory=dict, description="The service's tags (release policies: pushpilot:follow, ...)"
    )

    @field_validator("name")
    @classmethod
    def _app_runner_accepts(cls, name: str) -> str:
        problem = service_name_problem(name)
        if problem is not None:
            raise ValueError(problem)
        return name


class RepositorySpec(_Strict):
    name: str
    account: AccountId | None = Field(default=None, description="The registry account (default: the stack's)")
    pull_policy: bool = Field(
        default=True,
        description="In another account: attach the repository policy that lets pushpilot read images",
    )
    forwarder: bool = Field(
        default=True, description="In another account: install the forwarder template there"
    )


class PublicImageSpec(_Strict):
    """An image already on the public registry before the services are created."""

    repository: str
    tag: str = "latest"
    platforms: list[str] | None = None
    layout: str | None = None
    seed: str | None = None


class NotificationsSpec(_Strict):
    slack: Literal["bot", "webhook", "none"] = "none"
    sns: bool = True


class DeliverySpec(_Strict):
    """At-least-once delivery on demand: every event delivered `copies` times, optionally at once."""

    copies: int = Field(default=1, ge=1, le=10)
    concurrent: bool = False


class Setup(_Strict):
    repositories: list[RepositorySpec | str] = Field(default_factory=list)
    public_images: list[PublicImageSpec] = Field(default_factory=list)
    services: list[ServiceSpec] = Field(default_factory=list)
    ecs_services: list[EcsServiceSpec] = Field(default_factory=list)
    express_services: list[ExpressServiceSpec] = Field(default_factory=list)
    lambda_functions: list[LambdaFunctionSpec] = Field(default_factory=list)
    hosted_zones: list[ZoneSpec] = Field(default_factory=list)
    load_balancers: list[LoadBalancerSpec] = Field(default_factory=list)
    notifications: NotificationsSpec = Field(default_factory=NotificationsSpec)
    parameters: dict[str, str] = Field(default_factory=dict)
    delivery: DeliverySpec = Field(default_factory=DeliverySpec)

    @property
    def repository_specs(self) -> list[RepositorySpec]:
        return [RepositorySpec(name=item) if isinstance(item, str) else item for item in self.repositories]


class Scenario(_Strict):
    name: str | None = None
    region: str = "us-east-1"
    setup: Setup = Field(default_factory=Setup)
    steps: list[dict[str, Any]]

    @model_validator(mode="after")
    def _one_action_per_step(self) -> Scenario:
        for number, step in enumerate(self.steps, start=1):
            actions = [key for key in step if key != "title"]
            if len(actions) != 1:
                raise ValueError(f"step {number} must have exactly one action, found {actions or 'none'}")
        return self


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file, every step included, before any of it runs."""
    from pushpilot_sandbox.steps import StepError, check_step, validation_summary

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        # PyYAML's report spans lines (a caret under the column): the scenario's error is one line.
        raise ScenarioError(f"scenario {path} is not YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(document, dict):
        raise ScenarioError(f"scenario {path} must be a mapping with `steps` (and `setup`, `name`, `region`)")
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as exc:
        raise ScenarioError(validation_summary(exc)) from exc
    for number, step in enumerate(scenario.steps, start=1):
        action = step_action(step)
        try:
            check_step(action, step[action], base_dir=path.parent, setup=scenario.setup)
        except StepError as exc:
            raise ScenarioError(step_message(number, action, exc)) from exc
    return scenario


def step_action(step: dict[str, Any]) -> str:
    return next(key for key in step if key != "title")


def step_message(number: int, action: str, exc: Exception) -> str:
    """`step 3 (push): repository 'nope' is not in setup.repositories`."""
    text = str(exc).removeprefix(f"{action}: ")
    return f"step {number} ({action}): {text}"


Printer = Callable[[str], None]


def stack_account(setup: Setup) -> str:
    """The account the stack runs in: the one its services name (the sandbox's own when none does)."""
    named = sorted({service.account for service in setup.services if service.account})
    if len(named) > 1:
        raise ScenarioError(
            f"services name several accounts ({', '.join(named)}): pushpilot runs in one account and "
            "deploys only that account's App Runner services; give every service the same account"
        )
    return named[0] if named else SANDBOX_ACCOUNT


def sandbox_config(
    setup: Setup, *, region: str = "us-east-1", template_path: Path = TEMPLATE
) -> SandboxConfig:
    """The sandbox a setup needs: the stack in its account, admitting events from its registry accounts."""
    account = stack_account(setup)
    parameters = dict(setup.parameters)
    registry_accounts = sorted(
        {spec.account for spec in setup.repository_specs if spec.account and spec.account != account}
    )
    declared = load_template(template_path).get("Parameters") or {}
    if registry_accounts and "EventSourceAccounts" in declared and "EventSourceAccounts" not in parameters:
        parameters["EventSourceAccounts"] = ",".join(registry_accounts)
    return SandboxConfig(
        region=region,
        account_id=account,
        parameters=parameters,
        template_path=template_path,
        slack_mode=setup.notifications.slack,
        sns=setup.notifications.sns,
        copies_per_event=setup.delivery.copies,
        concurrent_copies=setup.delivery.concurrent,
    )


class ScenarioRunner:
    def __init__(self, scenario: Scenario, *, base_dir: Path, out: TextIO) -> None:
        self.scenario = scenario
        self.base_dir = base_dir
        self._out = out
        self.errors: list[dict[str, Any]] = []

    def say(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def run(self) -> dict[str, Any]:
        setup = self.scenario.setup
        config = sandbox_config(setup, region=self.scenario.region)
        from pushpilot_sandbox import steps as step_actions
        from pushpilot_sandbox.timeline import Timeline

        with Sandbox(config) as sandbox:
            timeline = Timeline(sandbox, self.say)
            self.say(f"▶ scenario {self.scenario.name or ''}".rstrip() + f" — region {self.scenario.region}")
            try:
                step_actions.apply_setup(sandbox, setup, timeline, self.base_dir)
            except (step_actions.StepError, EmulatorError, EcsEmulatorError) as exc:
                raise ScenarioError(f"setup: {exc}") from exc
            if not any(step_action(step) == "refresh" for step in self.scenario.steps):
                # No refresh step: a fresh install. The setup's services ran before the stack existed,
                # and what CloudFormation runs as it creates the stack runs now.
                step_actions.install_stack(sandbox, timeline)
            # What each step sent (the Slack messages it posted, the calls and notifications it made), so
            # the `--html` page heads each thread with the step that started it.
            steps: list[dict[str, Any]] = []
            for number, step in enumerate(self.scenario.steps, start=1):
                action = step_action(step)
                title = step.get("title") or action.replace("_", " ")
                self.say(f"\n── step {number}: {title}")
                posted_before = {message["ts"] for message in sandbox.slack.messages()}
                calls_before, notes_before = len(timeline.calls), len(timeline.notifications)
                handler = step_actions.ACTIONS.get(action)
                if handler is None:
                    raise ScenarioError(
                        step_message(
                            number,
                            action,
                            ValueError(
                                f"'{action}' is not supported yet"
                                f" (supported: {', '.join(sorted(step_actions.ACTIONS))})"
                            ),
                        )
                    )
                try:
                    handler(sandbox, step[action], self.base_dir, timeline)
                except (step_actions.StepError, EmulatorError) as exc:
                    raise ScenarioError(step_message(number, action, exc)) from exc
                except ClientError as exc:
                    # A call the step itself makes (associating a domain twice, say): AWS's own refusal.
                    error = exc.response.get("Error", {})
                    refusal = ValueError(
                        f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
                    )
                    raise ScenarioError(step_message(number, action, refusal)) from exc
                steps.append(
                    {
                        "number": number,
                        "title": title,
                        "slack_ts": [
                            message["ts"]
                            for message in sandbox.slack.messages()
                            if message["ts"] not in posted_before
                        ],
                        "calls": [calls_before, len(timeline.calls)],
                        "notifications": [notes_before, len(timeline.notifications)],
                    }
                )
            report = timeline.report()
            report["steps"] = steps
            # Slack messages as they stand at the end (headlines after their last update), for the page
            # `--html` draws.
            report["slack_messages"] = sandbox.slack.messages()
            return report


def run_scenario(path: Path, *, out: TextIO, report_path: Path | None = None) -> dict[str, Any]:
    scenario = load_scenario(path)
    report = ScenarioRunner(scenario, base_dir=path.parent, out=out).run()
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(
            json.dumps(report, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
    return report
