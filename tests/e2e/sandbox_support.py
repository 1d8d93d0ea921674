"""Drive the sandbox step by step from a test, the way a scenario file does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pushpilot_sandbox import steps
from pushpilot_sandbox.environment import Sandbox, SandboxConfig
from pushpilot_sandbox.scenario import Setup, load_scenario, sandbox_config, step_action
from pushpilot_sandbox.timeline import Timeline


class Story:
    """A running sandbox with its timeline; each method is one scenario step."""

    def __init__(self, sandbox: Sandbox, base_dir: Path) -> None:
        self.sandbox = sandbox
        self.base_dir = base_dir
        self.lines: list[str] = []
        self.timeline = Timeline(sandbox, self.lines.append)

    def step(self, action: str, args: Any) -> None:
        steps.ACTIONS[action](self.sandbox, args, self.base_dir, self.timeline)

    def report(self) -> dict[str, Any]:
        return self.timeline.report()

    def deployments(self, service: str) -> list[Any]:
        return [
            op for op in self.sandbox.apprunner.service(service).operations if op.type == "START_DEPLOYMENT"
        ]

    def handler_calls(self, service: str, operation: str) -> list[dict[str, Any]]:
        return [
            call
            for call in self.report()["calls"]
            if call["service"] == service and call["operation"] == operation
        ]

    def notices(self, channel: str = "sns") -> list[dict[str, Any]]:
        return [note for note in self.timeline.notifications if note["channel"] == channel]

    def notice_kinds(self) -> list[str]:
        return sns_kinds(self.timeline.notifications)


def sns_kinds(notifications: list[dict[str, Any]]) -> list[str]:
    """The notice kinds SNS carried, in order (a scenario report's `notifications`, or a timeline's)."""
    return [
        note["payload"]["metadata"]["eventType"]
        for note in notifications
        if note["channel"] == "sns" and isinstance(note["payload"], dict) and "metadata" in note["payload"]
    ]


@contextmanager
def story(setup: dict[str, Any], base_dir: Path, **config: Any) -> Iterator[Story]:
    parsed = Setup.model_validate(setup)
    sandbox_config = SandboxConfig(
        parameters=parsed.parameters,
        slack_mode=parsed.notifications.slack,
        sns=parsed.notifications.sns,
        **config,
    )
    with Sandbox(sandbox_config) as sandbox:
        running = Story(sandbox, base_dir)
        steps.apply_setup(sandbox, parsed, running.timeline)
        yield running


@contextmanager
def played(path: Path) -> Iterator[Story]:
    """Play a scenario file step by step, as `pushpilot simulate` does, keeping the sandbox at hand."""
    scenario = load_scenario(path)
    with Sandbox(sandbox_config(scenario.setup, region=scenario.region)) as sandbox:
        run = Story(sandbox, path.parent)
        steps.apply_setup(sandbox, scenario.setup, run.timeline, path.parent)
        for step in scenario.steps:
            action = step_action(step)
            run.step(action, step[action])
        run.timeline.record()
        yield run
