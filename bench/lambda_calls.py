"""AWS calls per push for Lambda functions (container images), and per look at an update's outcome.

pushpilot: N functions whose names start with the prefix, one of them running the pushed `web:latest`;
the index is seeded by one ReconcileFunction refresh (the scheduled cost: ListFunctions pages and one
GetFunction per function, never paid per push). Then a two-platform index is pushed and the
ImagePushFunction's calls are counted from the gateway's records: the ECR read, the index Query, and
GetFunction + UpdateFunctionCode for the one function. Then the update ends and the outcome timer's look
is counted: GetFunction (and, with an alias, PublishVersion + GetAlias + UpdateAlias).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pushpilot_sandbox.environment import Sandbox, SandboxConfig
from pushpilot_sandbox.lambda_scenario import let_timer_waits_pass
from pushpilot_sandbox.oci import synthesize_image
from pushpilot_sandbox.steps import image_identifier

PUSHED_REPOSITORY = "web"
PREFIX = "thumbs-"


class SetupError(RuntimeError):
    """The sandbox did not reach the state the measurement needs."""


@dataclass(frozen=True)
class LambdaCallCount:
    functions: int
    push_discovery_and_deploy: int
    push_total: int
    look_lambda: int
    refresh_lambda: int
    by_operation: dict[str, int]


def measure_one(functions: int) -> LambdaCallCount:
    with Sandbox(SandboxConfig(sns=False, parameters={"LambdaFunctionPrefix": PREFIX})) as sandbox:
        sandbox.ecr.create_repository(PUSHED_REPOSITORY)
        pushed = image_identifier(sandbox, f"{PUSHED_REPOSITORY}:latest")
        for number in range(functions):
            name = f"{PREFIX}{number:04d}"
            image = pushed if number == 0 else image_identifier(sandbox, f"other-{number:04d}:latest")
            alias = "live" if number == 0 else None
            sandbox.lambda_functions.create(
                name,
                image_uri=image,
                architecture="arm64",
                tags={"pushpilot:alias": "live"} if alias else {},
                alias=alias,
            )
        before = len(sandbox.gateway.calls)
        refresh = sandbox.router.invoke_schedule("ReconcileFunction", "Refresh")
        seeded = (refresh.outcome or {}).get("detail", {}).get("services")
        if seeded != functions:
            raise SetupError(f"the refresh indexed {seeded} functions, expected {functions}: {refresh}")
        refresh_lambda = sum(1 for call in sandbox.gateway.calls[before:] if call.service == "lambda")
        sandbox.settle()

        sandbox.ecr.push(
            PUSHED_REPOSITORY, "latest", synthesize_image(["linux/amd64", "linux/arm64"], seed="lambda-calls")
        )
        events = list(sandbox.bus)
        sandbox.bus.clear()
        before = len(sandbox.gateway.calls)
        for event in events:
            for delivery in sandbox.router.deliver(event):
                if not delivery.succeeded:
                    raise SetupError(f"the push handler failed: {delivery}")
        handler_calls = sandbox.gateway.calls[before:]
        sandbox.settle()
        by_operation: Counter[str] = Counter(f"{call.service}.{call.operation}" for call in handler_calls)
        if by_operation["lambda.UpdateFunctionCode"] != 1:
            raise SetupError(f"expected one update, got {dict(by_operation)}")

        sandbox.lambda_functions.complete_update(f"{PREFIX}0000", "succeeded")
        let_timer_waits_pass(sandbox)
        before = len(sandbox.gateway.calls)
        sandbox.settle()
        look = [call for call in sandbox.gateway.calls[before:] if call.service == "lambda"]
        if not any(call.operation == "UpdateAlias" for call in look):
            raise SetupError(f"the look did not move the alias: {[call.operation for call in look]}")
        return LambdaCallCount(
            functions=functions,
            push_discovery_and_deploy=sum(
                1
                for call in handler_calls
                if call.service in {"ecr", "lambda"}
                or (call.service, call.operation) == ("dynamodb", "Query")
            ),
            push_total=len(handler_calls),
            look_lambda=len(look),
            refresh_lambda=refresh_lambda,
            by_operation=dict(by_operation),
        )


def measure(counts: tuple[int, ...]) -> list[LambdaCallCount]:
    return [measure_one(count) for count in counts]
