"""The Lambda part of the scenario format (a contract: extend, never break):

    setup.lambda_functions:
      [{name: thumbs, image: "web:latest", architecture: arm64, tags: {...}, alias: live}]
    complete_deployment: {service: thumbs, outcome: succeeded | failed, reason: "Runtime.ExitError"}

Setup creates each function as a team did before pushpilot arrived (its code in place, its alias on version
1); no call of it is counted as a handler's. `complete_deployment` ends the function's update in progress,
then lets the waits of the outcome timer's looks pass: the delayed messages on the stack's timer queue
become visible at once (nothing in the product knows), so the look that finds the end runs, as it would
within the timer's longest wait in AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pushpilot_sandbox.lambda_functions import EmulatorError
from pushpilot_sandbox.steps import StepError, image_identifier, validation_summary

if TYPE_CHECKING:
    from pushpilot_sandbox.environment import Sandbox
    from pushpilot_sandbox.scenario import Setup
    from pushpilot_sandbox.timeline import Timeline

# Lambda's rule for function names (its API reference): letters, digits, hyphens and underscores, 1 to 64.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TIMER_QUEUE = "OutcomeTimerQueue"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LambdaFunctionSpec(_Strict):
    name: str
    image: str
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    tags: dict[str, str] = Field(default_factory=dict)
    alias: str | None = Field(default=None, description="An alias on version 1; with it, tag pushpilot:alias")

    @field_validator("name")
    @classmethod
    def _function_name(cls, value: str) -> str:
        if _NAME.fullmatch(value) is None:
            raise ValueError(f"Lambda function name {value!r} must be 1 to 64 letters, digits, - or _")
        return value


class CompleteUpdateArgs(_Strict):
    service: str
    outcome: Literal["succeeded", "failed"]
    reason: str | None = Field(default=None, description="Why the update failed (default Runtime.ExitError)")


def apply_lambda_setup(
    sandbox: Sandbox, setup: Setup, timeline: Timeline, declared_accounts: Mapping[str, str]
) -> None:
    names = [spec.name for spec in setup.lambda_functions]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise StepError(f"Lambda function names must be unique in a scenario: {', '.join(duplicated)}")
    for spec in setup.lambda_functions:
        repository = spec.image.partition(":")[0].partition("@")[0]
        uri = image_identifier(sandbox, spec.image, declared_accounts.get(repository))
        sandbox.lambda_functions.create(
            spec.name, image_uri=uri, architecture=spec.architecture, tags=spec.tags, alias=spec.alias
        )
        alias = f", alias {spec.alias} on version 1" if spec.alias else ""
        tagged = "".join(f", {key}={value}" for key, value in spec.tags.items())
        timeline.say(f"  ⌂ Lambda function {spec.name} runs {uri} ({spec.architecture}{alias}{tagged})")


def is_function(setup: Setup, name: str) -> bool:
    return any(spec.name == name for spec in setup.lambda_functions)


def complete_update_args(raw: Any) -> CompleteUpdateArgs:
    try:
        return CompleteUpdateArgs.model_validate({} if raw is None else raw)
    except ValidationError as exc:
        raise StepError(validation_summary(exc)) from exc


def complete_update(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    """Lambda ends the function's update in progress; the timer's next look then finds the end."""
    args = complete_update_args(raw)
    try:
        ended = sandbox.lambda_functions.complete_update(args.service, args.outcome, reason=args.reason)
    except EmulatorError as exc:
        raise StepError(str(exc)) from exc
    reason = f": {ended.reason}" if ended.reason else ""
    timeline.say(f"  ◼ Lambda update of {args.service} → {ended.status}{reason}")
    looks = let_timer_waits_pass(sandbox)
    timeline.say(f"  ⏲ the outcome timer's {looks} waiting look(s) come due")
    sandbox.settle()
    timeline.record()


def let_timer_waits_pass(sandbox: Sandbox) -> int:
    """Make every delayed message on the stack's timer queue visible now; how many there were.

    moto keeps each message's `delayed_until`; the sandbox runs moto in this process and ends the waits
    there rather than moving the clock, so every other timestamp of the story stays in order."""
    from moto.sqs.models import sqs_backends

    queue_resource = sandbox.resources.get(_TIMER_QUEUE)
    if queue_resource is None:
        return 0
    name = queue_resource.ref.rstrip("/").rpartition("/")[2]
    queue = sqs_backends[sandbox.config.account_id][sandbox.config.region].queues.get(name)
    if queue is None:
        return 0
    delayed = [message for message in queue._messages if message.delayed]
    for message in delayed:
        message.delayed_until = 0
    return len(delayed)
