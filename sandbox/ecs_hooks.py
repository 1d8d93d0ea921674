"""PAUSE lifecycle hooks for the ECS emulator (BLUE_GREEN, LINEAR and CANARY services).

A deployment of a service whose `deploymentConfiguration.strategy` is not ROLLING and whose
`lifecycleHooks` hold a PAUSE hook stops at the hook's first stage: the service deployment shows the
stage, and an `ECS Hook State Change` event (`HOOK_AWAITING_ACTION`) goes out. `ContinueServiceDeployment`
(validated against botocore's ECS model like every emulated call) with CONTINUE moves all production
traffic to the new revision and bakes it for `bakeTimeInMinutes` (stage BAKE_TIME; the deployment
completes at the first request after the bake), with ROLLBACK rolls it back to the last stable
revision. A hook nobody answers times out at its `timeoutInMinutes`: the next request the emulator gets
after that moment (a scenario's `refresh: {minutes_later: N}`) applies the hook's `timeoutAction` and
emits the hook's TIMED_OUT event.

No captured `ECS Hook State Change` event was found in public sources: the event carries the fields ECS
documents for a hook (`serviceDeploymentArn`, `hookId`, `lifecycleStage`, `targetType`, `status`,
`expiresAt`, `timeoutAction`), the way pushpilot's model reads them.

Kept apart from the emulator's chain (sandbox/ecs*.py): it attaches to an emulator (its handler table
and deployment start), and uses the emulator's own transitions for what a decision does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pushpilot_sandbox.ecs_state import EmulatedAnswer, _Failure
from pushpilot_sandbox.emulator import ApiError, Reply

if TYPE_CHECKING:
    from pushpilot_sandbox.ecs import EcsEmulator
    from pushpilot_sandbox.ecs_records import Deployment, Revision, Service, ServiceDeployment

Json = dict[str, Any]
_GRADUAL = frozenset({"BLUE_GREEN", "LINEAR", "CANARY"})


@dataclass
class _Pause:
    service_arn: str
    service_deployment_arn: str
    hook_id: str
    stage: str
    expires_at: datetime
    timeout_action: str
    status: str = "AWAITING_ACTION"


class PauseHooks:
    """Attach with `PauseHooks(emulator)`; `pauses` lists every pause, oldest first."""

    def __init__(self, emulator: EcsEmulator) -> None:
        self._ecs = emulator
        self.pauses: list[_Pause] = []
        # Deployments continued past their pause, baking: service deployment ARN → (service ARN, bake end).
        self.bakes: dict[str, tuple[str, datetime]] = {}
        handlers = emulator._handlers
        handlers["ContinueServiceDeployment"] = self._continue
        start = emulator._start_deployment

        def start_and_pause(record: Service, revision: Revision, emitted: list[Json]) -> Deployment:
            deployment = start(record, revision, emitted)
            self._pause(record, deployment, emitted)
            return deployment

        body = emulator._service_deployment_body

        def body_with_hooks(record: Service, sd: ServiceDeployment) -> Json:
            described = body(record, sd)
            details = [self._detail(pause) for pause in self.pauses if pause.service_deployment_arn == sd.arn]
            return {**described, "lifecycleHookDetails": details} if details else described

        answer = emulator.answer

        def answer_after_timeouts(operation: str, body: bytes) -> EmulatedAnswer:
            self._time_out()
            return answer(operation, body)

        setattr(emulator, "_start_deployment", start_and_pause)  # noqa: B010 - an instance's own method
        setattr(emulator, "answer", answer_after_timeouts)  # noqa: B010
        setattr(emulator, "_service_deployment_body", body_with_hooks)  # noqa: B010

    # --- pausing -----------------------------------------------------------------------------------

    def _pause(self, record: Service, deployment: Deployment, emitted: list[Json]) -> None:
        configuration = record.deployment_configuration
        if configuration.get("strategy") not in _GRADUAL or record.stable is None:
            # A rolling deployment has no hooks; a service's first deployment has nothing to hold back.
            return
        hook = next(
            (item for item in configuration.get("lifecycleHooks") or [] if item.get("targetType") == "PAUSE"),
            None,
        )
        if hook is None:
            return
        now = self._ecs._clock()
        timeout = hook.get("timeoutConfiguration") or {}
        pause = _Pause(
            service_arn=record.arn,
            service_deployment_arn=str(deployment.service_deployment_arn),
            hook_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{deployment.service_deployment_arn}#hook")),
            stage=str((hook.get("lifecycleStages") or ["POST_TEST_TRAFFIC_SHIFT"])[0]),
            expires_at=now + timedelta(minutes=int(timeout.get("timeoutInMinutes", 60))),
            timeout_action=str(timeout.get("action", "ROLLBACK")),
        )
        self.pauses.append(pause)
        sd = self._service_deployment(record, pause)
        sd.lifecycle_stage = pause.stage
        sd.updated_at = now
        # Production traffic on the new revision while it waits: none before production shifts; a canary's
        # or linear step's share once it has.
        sd.target_weight = _production_share(configuration, pause.stage)
        emitted.append(self._event(pause, "HOOK_AWAITING_ACTION", now))

    def _event(self, pause: _Pause, name: str, moment: datetime) -> Json:
        return {
            "version": "0",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pause.hook_id}#{name}")),
            "detail-type": "ECS Hook State Change",
            "source": "aws.ecs",
            "account": self._ecs.account_id,
            "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._ecs.region,
            "resources": [pause.service_deployment_arn],
            "detail": {
                "eventType": "INFO",
                "eventName": name,
                "serviceDeploymentArn": pause.service_deployment_arn,
                "hookId": pause.hook_id,
                "lifecycleStage": pause.stage,
                "targetType": "PAUSE",
                "status": pause.status,
                "expiresAt": pause.expires_at.isoformat(timespec="seconds"),
                "timeoutAction": pause.timeout_action,
                "updatedAt": moment.isoformat(timespec="milliseconds"),
            },
        }

    @staticmethod
    def _detail(pause: _Pause) -> Json:
        """The pause as DescribeServiceDeployments lists it (`lifecycleHookDetails`)."""
        return {
            "hookId": pause.hook_id,
            "targetType": "PAUSE",
            "status": pause.status,
            "expiresAt": pause.expires_at.timestamp(),
            "timeoutAction": pause.timeout_action,
        }

    def _service_deployment(self, record: Service, pause: _Pause) -> Any:
        return next(sd for sd in record.service_deployments if sd.arn == pause.service_deployment_arn)

    # --- answering ---------------------------------------------------------------------------------

    def _continue(self, params: Json) -> Any:
        pause = next(
            (
                item
                for item in self.pauses
                if item.service_deployment_arn == params["serviceDeploymentArn"]
                and item.hook_id == params["hookId"]
            ),
            None,
        )
        if pause is None:
            raise ApiError("InvalidParameterException", "The specified hook does not exist.")
        if pause.status != "AWAITING_ACTION":
            raise ApiError(
                "InvalidParameterException", f"The hook is {pause.status}, not awaiting an action."
            )
        emitted = self._decide(pause, str(params["action"]), status="SUCCEEDED")
        return Reply({"serviceDeploymentArn": pause.service_deployment_arn}, emitted)

    def _decide(self, pause: _Pause, action: str, *, status: str) -> list[Json]:
        """CONTINUE completes the deployment; ROLLBACK returns to the last stable revision."""
        pause.status = status
        record = self._ecs._find_service(pause.service_arn)
        deployment = record.primary
        if deployment is None:
            return []
        sd = self._service_deployment(record, pause)
        emitted: list[Json] = []
        if status == "TIMED_OUT":
            emitted.append(self._event(pause, "HOOK_TIMED_OUT", self._ecs._clock()))
        if action == "CONTINUE":
            bake = int(record.deployment_configuration.get("bakeTimeInMinutes") or 0)
            if bake <= 0:
                self._ecs._succeed(record, deployment, sd, emitted)
                return emitted
            # All production traffic on the new revision, the old one kept ready until the bake is over.
            now = self._ecs._clock()
            sd.lifecycle_stage = "BAKE_TIME"
            sd.target_weight = 100.0
            sd.updated_at = now
            self.bakes[sd.arn] = (record.arn, now + timedelta(minutes=bake))
        else:
            failure = _Failure.of(f"lifecycle hook {pause.stage}: rolled back", None)
            self._ecs._rollback(
                record,
                deployment,
                sd,
                failure,
                emitted,
                by_alarm=False,
                then="succeeded",
                by_hook=pause.stage,
            )
        return emitted

    def _time_out(self) -> None:
        """What the clock decided since the last request: hooks past their timeout, bakes that ended."""
        now = self._ecs._clock()
        emitted: list[Json] = []
        with self._ecs._lock:
            for pause in self.pauses:
                if pause.status == "AWAITING_ACTION" and now >= pause.expires_at:
                    emitted += self._decide(pause, pause.timeout_action, status="TIMED_OUT")
            for arn, (service_arn, until) in list(self.bakes.items()):
                if now < until:
                    continue
                del self.bakes[arn]
                record = self._ecs._find_service(service_arn)
                deployment = record.primary
                sd = next((item for item in record.service_deployments if item.arn == arn), None)
                if deployment is not None and sd is not None and sd.status == "IN_PROGRESS":
                    self._ecs._succeed(record, deployment, sd, emitted)
        self._ecs._deliver(emitted)


def _production_share(configuration: Json, stage: str) -> float:
    if stage in {"PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"}:
        if configuration.get("strategy") == "CANARY":
            return float((configuration.get("canaryConfiguration") or {}).get("canaryPercent", 5.0))
        if configuration.get("strategy") == "LINEAR":
            return float((configuration.get("linearConfiguration") or {}).get("stepPercent", 10.0))
        return 100.0
    return 0.0
