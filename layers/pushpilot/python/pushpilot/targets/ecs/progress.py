"""Where a gradual ECS deployment (BLUE_GREEN, LINEAR, CANARY) stands, in words for its release thread:
the strategy's plan, the lifecycle stage, the share of production traffic on the new revision and the bake
time left. Pure: read from one `DescribeServiceDeployments` entry (botocore's `ServiceDeployment` shape);
the hook control fetches it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

GRADUAL: Final = frozenset({"BLUE_GREEN", "LINEAR", "CANARY"})

# ECS's defaults when a canary or linear configuration leaves them out (the canary-deployment and
# linear-deployment pages of the ECS developer guide).
_CANARY_DEFAULT: Final = (5.0, 10)
_LINEAR_DEFAULT: Final = (10.0, 6)

_STAGES: Final = {
    "RECONCILE_SERVICE": "starting",
    "PRE_SCALE_UP": "about to start the new revision's tasks",
    "SCALE_UP": "starting the new revision's tasks",
    "POST_SCALE_UP": "the new revision's tasks run, no traffic yet",
    "TEST_TRAFFIC_SHIFT": "test traffic moving to the new revision",
    "POST_TEST_TRAFFIC_SHIFT": "test traffic on the new revision, production still on the old one",
    "PRODUCTION_TRAFFIC_SHIFT": "production traffic moving to the new revision",
    "POST_PRODUCTION_TRAFFIC_SHIFT": "after the production traffic shift",
    "BAKE_TIME": "baking: both revisions run, the old one ready to take traffic back",
    "CLEAN_UP": "stopping the old revision",
}


def _number(value: Any) -> str:
    return f"{float(value):g}"


def plan_of(configuration: Mapping[str, Any]) -> str | None:
    """The strategy as people read it: `canary: 5 % for 10 min, then 100 %; bake 15 min`."""
    strategy = str(configuration.get("strategy") or "")
    if strategy not in GRADUAL:
        return None
    bake = configuration.get("bakeTimeInMinutes")
    baked = f"; bake {bake} min" if bake is not None else ""
    if strategy == "CANARY":
        canary = configuration.get("canaryConfiguration") or {}
        percent = canary.get("canaryPercent", _CANARY_DEFAULT[0])
        minutes = canary.get("canaryBakeTimeInMinutes", _CANARY_DEFAULT[1])
        return f"canary: {_number(percent)} % for {minutes} min, then 100 %{baked}"
    if strategy == "LINEAR":
        linear = configuration.get("linearConfiguration") or {}
        percent = linear.get("stepPercent", _LINEAR_DEFAULT[0])
        minutes = linear.get("stepBakeTimeInMinutes", _LINEAR_DEFAULT[1])
        return f"linear: {_number(percent)} % more every {minutes} min{baked}"
    return f"blue/green: test traffic first, then all production traffic at once{baked}"


def progress_of(deployment: Mapping[str, Any], *, now: datetime) -> str | None:
    """`canary: 5 % for 10 min, then 100 %; bake 15 min. Now: test traffic on the new revision, …; 5 % of
    production traffic on the new revision`, or None for a rolling deployment or one that ended."""
    configuration = deployment.get("deploymentConfiguration") or {}
    plan = plan_of(configuration)
    if plan is None or deployment.get("status", "IN_PROGRESS") not in {"PENDING", "IN_PROGRESS"}:
        # A rolling deployment has no stages to tell; one that ended is told by its outcome.
        return None
    stage = str(deployment.get("lifecycleStage") or "")
    said = [_STAGES.get(stage, stage.lower().replace("_", " ")) if stage else ""]
    target = deployment.get("targetServiceRevision") or {}
    weight = target.get("requestedProductionTrafficWeight")
    if weight is not None:
        said.append(f"{_number(weight)} % of production traffic on the new revision")
    bake = configuration.get("bakeTimeInMinutes")
    since = deployment.get("updatedAt")
    if stage == "BAKE_TIME" and bake is not None and isinstance(since, datetime):
        # ECS gives no stage start time: the entry's last update is when it entered the bake.
        left = int(bake) * 60 - (now - since.astimezone(UTC)).total_seconds()
        said.append(f"{max(0, round(left / 60))} min of bake left")
    now_said = ", ".join(part for part in said if part)
    return f"{plan}. Now: {now_said}" if now_said else plan
