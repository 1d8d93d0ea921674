"""The ECS deployment state machine through an unmodified boto3 client: each outcome's states, the
service deployment that records it, the stopped tasks that explain it, and the aws.ecs events it emits
(documented shapes, in order)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from pushpilot_sandbox.ecs import EmulatorError, NoDeploymentInProgressError
from tests.sandbox.ecs_support import (
    ACCOUNT,
    REGION,
    Ecs,
    Running,
    digest_for,
    documented,
    fresh,
    image,
    running_ecs,
    timeline_of,
)

pytestmark = pytest.mark.sandbox

DEPLOYMENT = "ECS Deployment State Change"
TASK = "ECS Task State Change"
ACTION = "ECS Service Action"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/default/storefront"


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with running_ecs() as started:
        yield started


@pytest.fixture
def ecs(running: Running) -> Ecs:
    return fresh(running)


class Update:
    """A settled service and an update to a second task definition, events of the update cleared."""

    def __init__(self, ecs: Ecs, **service: Any) -> None:
        self.old = ecs.register("web", {"app": image("web", "v1")})
        self.new = ecs.register("web", {"app": image("web", "v2")})
        self.stable_id = ecs.settled_service("storefront", self.old, **service)["deployments"][0]["id"]
        answer = ecs.client.update_service(service="storefront", taskDefinition=self.new)["service"]
        self.answer = answer
        self.deployment_id = answer["deployments"][0]["id"]
        self.service_deployment = answer["currentServiceDeployment"]
        ecs.events.clear()


def _service_deployment(ecs: Ecs, arn: str) -> dict[str, Any]:
    (found,) = ecs.client.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    return dict(found)


def _stopped_tasks(ecs: Ecs, deployment_id: str) -> list[dict[str, Any]]:
    arns = ecs.client.list_tasks(startedBy=deployment_id, desiredStatus="STOPPED")["taskArns"]
    return list(ecs.client.describe_tasks(tasks=arns)["tasks"]) if arns else []


# --- starting a deployment ---------------------------------------------------------------------------


def test_update_service_starts_a_primary_deployment_and_demotes_the_old_one(ecs: Ecs) -> None:
    old = ecs.register("web", {"app": image("web", "v1")})
    new = ecs.register("web", {"app": image("web", "v2")})
    stable = ecs.settled_service("storefront", old)["deployments"][0]["id"]

    answer = ecs.client.update_service(service="storefront", taskDefinition=new)["service"]

    primary, active = answer["deployments"]
    assert re.fullmatch(r"ecs-svc/[0-9]{19}", primary["id"])
    assert (primary["status"], primary["taskDefinition"], primary["rolloutState"]) == (
        "PRIMARY",
        new,
        "IN_PROGRESS",
    )
    assert primary["rolloutStateReason"] == f"ECS deployment {primary['id']} in progress."
    assert (active["id"], active["status"], active["taskDefinition"]) == (stable, "ACTIVE", old)
    assert answer["taskDefinition"] == new
    assert re.fullmatch(
        rf"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/default/storefront/[A-Za-z0-9]{{22}}",
        answer["currentServiceDeployment"],
    )
    (event,) = [documented(raw) for raw in ecs.events]
    assert (event.detail_type, event.resource) == (DEPLOYMENT, SERVICE_ARN)
    assert (event.detail.eventName, event.detail.deploymentId) == (
        "SERVICE_DEPLOYMENT_IN_PROGRESS",
        primary["id"],
    )
    sd = _service_deployment(ecs, answer["currentServiceDeployment"])
    assert sd["status"] == "IN_PROGRESS"
    assert sd["serviceDeploymentArn"].rsplit("/", 1)[1] != primary["id"].split("/")[1]


def test_only_a_change_that_needs_new_tasks_starts_a_deployment(ecs: Ecs) -> None:
    definition = ecs.register("web")
    ecs.settled_service("storefront", definition)

    scaled = ecs.client.update_service(service="storefront", desiredCount=2)["service"]
    same = ecs.client.update_service(service="storefront", taskDefinition=definition)["service"]
    forced = ecs.client.update_service(service="storefront", forceNewDeployment=True)["service"]

    assert len(scaled["deployments"]) == len(same["deployments"]) == 1
    assert [d["status"] for d in forced["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert forced["deployments"][0]["taskDefinition"] == definition
    assert [documented(raw).detail.eventName for raw in ecs.events] == ["SERVICE_DEPLOYMENT_IN_PROGRESS"]


def test_each_deployment_resolves_its_images_to_the_digests_ecr_holds(ecs: Ecs) -> None:
    pinned = f"{image('web').rsplit(':', 1)[0]}@sha256:{'ab' * 32}"
    tagged = ecs.register("web", {"app": image("web", "v1"), "envoy": image("envoy", "v1.29")})
    by_digest = ecs.register("web", {"app": pinned, "envoy": image("envoy", "v1.29")})
    ecs.settled_service("storefront", tagged)

    answer = ecs.client.update_service(service="storefront", taskDefinition=by_digest)["service"]
    ecs.emulator.complete_deployment("storefront", "succeeded")

    revisions = ecs.client.describe_service_revisions(
        serviceRevisionArns=[rev["arn"] for rev in answer["currentServiceRevisions"]]
    )["serviceRevisions"]
    images = {rev["taskDefinition"]: rev["containerImages"] for rev in revisions}
    assert images[by_digest] == [
        {"containerName": "app", "image": pinned, "imageDigest": f"sha256:{'ab' * 32}"},
        {
            "containerName": "envoy",
            "image": image("envoy", "v1.29"),
            "imageDigest": digest_for(image("envoy", "v1.29")),
        },
    ]
    assert images[tagged][0]["imageDigest"] == digest_for(image("web", "v1"))
    running = ecs.client.describe_tasks(tasks=ecs.client.list_tasks(serviceName="storefront")["taskArns"])[
        "tasks"
    ]
    assert [c["imageDigest"] for task in running for c in task["containers"]] == [
        f"sha256:{'ab' * 32}",
        digest_for(image("envoy", "v1.29")),
    ]


# --- how a deployment ends ---------------------------------------------------------------------------


def test_a_successful_deployment_replaces_the_tasks_and_says_so(ecs: Ecs) -> None:
    update = Update(ecs)

    finished = ecs.emulator.complete_deployment("storefront", "succeeded")

    assert timeline_of(ecs.events) == [
        (TASK, "RUNNING"),
        (TASK, "STOPPED"),
        (DEPLOYMENT, "SERVICE_DEPLOYMENT_COMPLETED"),
        (ACTION, "SERVICE_STEADY_STATE"),
    ]
    started, stopped, completed, _ = (documented(raw) for raw in ecs.events)
    assert (started.detail.startedBy, started.detail.taskDefinitionArn) == (update.deployment_id, update.new)
    assert started.detail.containers[0].imageDigest == digest_for(image("web", "v2"))
    assert (stopped.detail.startedBy, stopped.detail.stopCode) == (
        update.stable_id,
        "ServiceSchedulerInitiated",
    )
    assert completed.detail.deploymentId == update.deployment_id
    assert completed.detail.reason == f"ECS deployment {update.deployment_id} completed."
    (deployment,) = ecs.describe("storefront")["deployments"]
    assert (deployment["id"], deployment["rolloutState"], deployment["runningCount"]) == (
        update.deployment_id,
        "COMPLETED",
        1,
    )
    sd = _service_deployment(ecs, update.service_deployment)
    assert (sd["status"], finished.status) == ("SUCCESSFUL", "SUCCESSFUL")
    assert sd["deploymentCircuitBreaker"] == {
        "status": "MONITORING_COMPLETE",
        "failureCount": 0,
        "threshold": 3,
    }
    assert "finishedAt" in sd


def test_a_circuit_breaker_without_rollback_fails_the_deployment(ecs: Ecs) -> None:
    update = Update(ecs, breaker=(True, False))

    ecs.emulator.complete_deployment("storefront", "failed")

    assert timeline_of(ecs.events) == [(TASK, "STOPPED")] * 3 + [(DEPLOYMENT, "SERVICE_DEPLOYMENT_FAILED")]
    failed = documented(ecs.events[-1])
    assert (failed.detail.eventType, failed.detail.deploymentId) == ("ERROR", update.deployment_id)
    assert failed.detail.reason == "ECS deployment circuit breaker: task failed to start."
    primary, active = ecs.describe("storefront")["deployments"]
    assert (primary["id"], primary["rolloutState"], primary["failedTasks"]) == (
        update.deployment_id,
        "FAILED",
        3,
    )
    assert (active["id"], active["runningCount"]) == (update.stable_id, 1)
    sd = _service_deployment(ecs, update.service_deployment)
    assert (sd["status"], sd["statusReason"]) == ("STOPPED", failed.detail.reason)
    assert sd["deploymentCircuitBreaker"] == {"status": "TRIGGERED", "failureCount": 3, "threshold": 3}
    tasks = _stopped_tasks(ecs, update.deployment_id)
    assert len(tasks) == 3
    assert {(t["stopCode"], t["stoppedReason"], t["containers"][0]["exitCode"]) for t in tasks} == {
        ("EssentialContainerExited", "Essential container in task exited", 1)
    }


def test_a_circuit_breaker_rollback_goes_back_to_the_last_stable_revision(ecs: Ecs) -> None:
    update = Update(ecs)
    reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"

    ecs.emulator.complete_deployment("storefront", "rolled_back", stopped_reason=reason)

    assert timeline_of(ecs.events) == [(TASK, "STOPPED")] * 3 + [
        (DEPLOYMENT, "SERVICE_DEPLOYMENT_FAILED"),
        (DEPLOYMENT, "SERVICE_DEPLOYMENT_IN_PROGRESS"),
        (DEPLOYMENT, "SERVICE_DEPLOYMENT_COMPLETED"),
        (ACTION, "SERVICE_STEADY_STATE"),
    ]
    seen = [documented(raw) for raw in ecs.events]
    stopped = seen[0].detail
    assert (stopped.startedBy, stopped.stopCode, stopped.stoppedReason) == (
        update.deployment_id,
        "TaskFailedToStart",
        reason,
    )
    assert (stopped.containers[0].reason, stopped.containers[0].exitCode) == (reason, None)
    rollback_id = seen[4].detail.deploymentId
    assert rollback_id not in {update.deployment_id, update.stable_id}
    assert (
        seen[4].detail.reason
        == f"ECS deployment circuit breaker: rolling back to deploymentId {update.stable_id}."
    )
    assert seen[5].detail.deploymentId == rollback_id
    service = ecs.describe("storefront")
    assert [d["id"] for d in service["deployments"]] == [rollback_id]  # ours is gone
    assert (service["taskDefinition"], service["deployments"][0]["taskDefinition"]) == (
        update.old,
        update.old,
    )
    sd = _service_deployment(ecs, update.service_deployment)
    assert sd["status"] == "ROLLBACK_SUCCESSFUL"
    assert sd["rollback"]["serviceRevisionArn"] == sd["sourceServiceRevisions"][0]["arn"]
    assert sd["rollback"]["reason"] == "ECS deployment circuit breaker: task failed to start."
    assert sd["deploymentCircuitBreaker"]["status"] == "TRIGGERED"


def test_alarms_roll_back_a_service_without_a_circuit_breaker(ecs: Ecs) -> None:
    update = Update(ecs, breaker=False, alarms=["storefront-5xx"])

    ecs.emulator.complete_deployment("storefront", "rolled_back")

    sd = _service_deployment(ecs, update.service_deployment)
    assert sd["status"] == "ROLLBACK_SUCCESSFUL"
    assert sd["alarms"] == {
        "status": "TRIGGERED",
        "alarmNames": ["storefront-5xx"],
        "triggeredAlarmNames": ["storefront-5xx"],
    }
    assert sd["deploymentCircuitBreaker"] == {"status": "DISABLED"}
    names = [documented(raw).detail.eventName for raw in ecs.events if raw["detail-type"] == DEPLOYMENT]
    assert names == [
        "SERVICE_DEPLOYMENT_FAILED",
        "SERVICE_DEPLOYMENT_IN_PROGRESS",
        "SERVICE_DEPLOYMENT_COMPLETED",
    ]


def test_a_stuck_deployment_never_ends_and_its_tasks_keep_stopping(ecs: Ecs) -> None:
    update = Update(ecs, breaker=False)
    group = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1"
    reason = f"Task failed ELB health checks in (target-group {group})"

    ecs.emulator.complete_deployment("storefront", "stuck", stopped_reason=reason)
    ecs.emulator.complete_deployment("storefront", "stuck", stopped_reason=reason)

    assert timeline_of(ecs.events) == [(TASK, "STOPPED"), (TASK, "STOPPED")]
    primary, _ = ecs.describe("storefront")["deployments"]
    assert (primary["rolloutState"], primary["failedTasks"]) == ("IN_PROGRESS", 2)
    assert _service_deployment(ecs, update.service_deployment)["status"] == "IN_PROGRESS"
    stopped = _stopped_tasks(ecs, update.deployment_id)
    # A failed health check is the scheduler stopping the task, not the container exiting.
    assert {(t["stoppedReason"], t["stopCode"]) for t in stopped} == {(reason, "ServiceSchedulerInitiated")}
    assert all("exitCode" not in c for t in stopped for c in t["containers"])
    ecs.emulator.complete_deployment("storefront", "succeeded")
    assert _service_deployment(ecs, update.service_deployment)["status"] == "SUCCESSFUL"


def test_a_newer_deployment_supersedes_one_in_progress_silently(ecs: Ecs) -> None:
    update = Update(ecs)
    newest = ecs.register("web", {"app": image("web", "v3")})

    answer = ecs.client.update_service(service="storefront", taskDefinition=newest)["service"]
    ecs.emulator.complete_deployment("storefront", "succeeded")

    assert [d["status"] for d in answer["deployments"]] == ["PRIMARY", "ACTIVE", "ACTIVE"]
    assert _service_deployment(ecs, update.service_deployment)["status"] == "STOPPED"
    names = [(raw["detail"].get("deploymentId"), raw["detail"].get("eventName")) for raw in ecs.events]
    newest_id = answer["deployments"][0]["id"]
    assert (update.deployment_id, "SERVICE_DEPLOYMENT_COMPLETED") not in names
    assert (newest_id, "SERVICE_DEPLOYMENT_COMPLETED") in names
    assert [d["id"] for d in ecs.describe("storefront")["deployments"]] == [newest_id]


@pytest.mark.parametrize(
    ("breaker", "outcome", "message"),
    [
        (False, "failed", "no deployment circuit breaker"),
        (True, "failed", "rolls back: its failure is outcome rolled_back"),
        (False, "rolled_back", "rolls nothing back"),
    ],
)
def test_an_outcome_the_service_cannot_have_is_refused(
    ecs: Ecs, breaker: bool, outcome: Any, message: str
) -> None:
    Update(ecs, breaker=breaker)

    with pytest.raises(EmulatorError, match=message):
        ecs.emulator.complete_deployment("storefront", outcome)
    assert ecs.describe("storefront")["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert ecs.events == []


def test_completing_needs_a_deployment_in_progress(ecs: Ecs) -> None:
    ecs.settled_service("storefront", ecs.register("web"))

    with pytest.raises(NoDeploymentInProgressError):
        ecs.emulator.complete_deployment("storefront", "succeeded")


# --- EC2 --------------------------------------------------------------------------------------------


def test_ec2_tasks_run_on_instances_of_the_architecture_the_service_asks_for(ecs: Ecs) -> None:
    ecs.client.create_cluster(clusterName="fleet")
    intel = ecs.emulator.register_container_instance("fleet", "x86_64")
    graviton = ecs.emulator.register_container_instance("fleet", "arm64")
    definition = ecs.register("worker", fargate=False, architecture=None)
    constraint = [{"type": "memberOf", "expression": "attribute:ecs.cpu-architecture == arm64"}]

    ecs.settled_service(
        "worker", definition, cluster="fleet", launch_type="EC2", placementConstraints=constraint
    )

    task_arns = ecs.client.list_tasks(cluster="fleet", serviceName="worker")["taskArns"]
    (task,) = ecs.client.describe_tasks(cluster="fleet", tasks=task_arns)["tasks"]
    assert task["launchType"] == "EC2"
    assert task["containerInstanceArn"] == graviton
    assert task["attributes"] == [{"name": "ecs.cpu-architecture", "value": "arm64"}]
    instances = ecs.client.describe_container_instances(
        cluster="fleet",
        containerInstances=ecs.client.list_container_instances(cluster="fleet")["containerInstanceArns"],
    )["containerInstances"]
    architectures = {
        i["containerInstanceArn"]: next(
            a["value"] for a in i["attributes"] if a["name"] == "ecs.cpu-architecture"
        )
        for i in instances
    }
    assert architectures == {intel: "x86_64", graviton: "arm64"}
    assert ecs.client.list_tasks(cluster="fleet", containerInstance=intel)["taskArns"] == []


def test_service_deployments_filter_by_status_and_creation_time(ecs: Ecs) -> None:
    update = Update(ecs)
    (first_created,) = [
        item["createdAt"]
        for item in ecs.client.list_service_deployments(service="storefront")["serviceDeployments"]
        if item["serviceDeploymentArn"] != update.service_deployment
    ]

    newer = ecs.client.list_service_deployments(
        service="storefront", createdAt={"after": first_created + timedelta(seconds=1)}
    )
    successful = ecs.client.list_service_deployments(service="storefront", status=["SUCCESSFUL"])
    before = ecs.client.list_service_deployments(service="storefront", createdAt={"before": first_created})

    assert [item["serviceDeploymentArn"] for item in newer["serviceDeployments"]] == [
        update.service_deployment
    ]
    assert [item["status"] for item in successful["serviceDeployments"]] == ["SUCCESSFUL"]
    assert [item["createdAt"] for item in before["serviceDeployments"]] == [first_created]


def test_a_rollback_can_be_seen_in_progress_and_then_complete(ecs: Ecs) -> None:
    update = Update(ecs)

    during = ecs.emulator.complete_deployment("storefront", "rolled_back", rollback="in_progress")
    # The rollback, ours (failed), and the stable one whose tasks still serve.
    primary, failed, stable = ecs.describe("storefront")["deployments"]
    ecs.emulator.complete_deployment("storefront", "succeeded")

    assert during.status == "ROLLBACK_IN_PROGRESS"
    assert (primary["rolloutState"], primary["taskDefinition"]) == ("IN_PROGRESS", update.old)
    assert (failed["id"], failed["rolloutState"]) == (update.deployment_id, "FAILED")
    assert stable["id"] == update.stable_id
    assert _service_deployment(ecs, update.service_deployment)["status"] == "ROLLBACK_SUCCESSFUL"
    assert [d["id"] for d in ecs.describe("storefront")["deployments"]] == [primary["id"]]
    completed = [
        raw["detail"]["deploymentId"]
        for raw in ecs.events
        if raw["detail"].get("eventName") == "SERVICE_DEPLOYMENT_COMPLETED"
    ]
    assert completed == [primary["id"]]


def test_a_rollback_that_fails_too_is_rollback_failed(ecs: Ecs) -> None:
    update = Update(ecs)

    ecs.emulator.complete_deployment("storefront", "rolled_back", rollback="failed")

    sd = _service_deployment(ecs, update.service_deployment)
    assert sd["status"] == "ROLLBACK_FAILED"
    rollback_id = ecs.describe("storefront")["deployments"][0]["id"]
    failed = [
        raw["detail"]["deploymentId"]
        for raw in ecs.events
        if raw["detail"].get("eventName") == "SERVICE_DEPLOYMENT_FAILED"
    ]
    assert failed == [update.deployment_id, rollback_id]
    with pytest.raises(NoDeploymentInProgressError):
        ecs.emulator.complete_deployment("storefront", "succeeded")


def test_only_an_outcome_that_rolls_back_takes_a_rollback_ending(ecs: Ecs) -> None:
    Update(ecs, breaker=(True, False))

    with pytest.raises(EmulatorError, match="rollback"):
        ecs.emulator.complete_deployment("storefront", "failed", rollback="failed")
