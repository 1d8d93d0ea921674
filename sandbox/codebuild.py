"""CodeBuild in the sandbox: a finished build's log stream in CloudWatch Logs and its state-change event.

moto runs no builds and emits no CodeBuild events, so a `build` step writes what a real build leaves
behind: the log group `/aws/codebuild/<project>` with one stream per build (named by the build's UUID),
and a `CodeBuild Build State Change` event on the sandbox bus in the shape AWS publishes.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pushpilot_sandbox.steps import StepError, image_identifier

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_logs import CloudWatchLogsClient

    from pushpilot_sandbox.environment import Sandbox
    from pushpilot_sandbox.steps import BuildArgs

# The phases of a build in the order CodeBuild runs them.
PHASES = (
    "SUBMITTED",
    "QUEUED",
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
)
# Phases that run buildspec commands: their failure context names the command that failed.
_COMMANDS = {
    "INSTALL": "pip install --requirement requirements.txt",
    "PRE_BUILD": "aws ecr get-login-password | docker login --username AWS --password-stdin $REGISTRY",
    "BUILD": "docker push $IMAGE_URI",
    "POST_BUILD": 'printf \'[{"imageUri":"%s"}]\' $IMAGE_URI > imagedefinitions.json',
}
# After a failed BUILD, CodeBuild still runs POST_BUILD and UPLOAD_ARTIFACTS; after any earlier
# failure it goes straight to FINALIZING.
_AFTER_FAILED_BUILD = ("POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING")
_AFTER_EARLY_FAILURE = ("FINALIZING",)


def emit_build(sandbox: Sandbox, args: BuildArgs) -> dict[str, Any]:
    """Write the build's log stream to moto and append its state-change event to the bus."""
    region, account = sandbox.config.region, sandbox.config.account_id
    build_uuid = str(uuid.uuid4())
    build_id = f"arn:aws:codebuild:{region}:{account}:build/{args.project}:{build_uuid}"
    group = f"/aws/codebuild/{args.project}"
    build_number = _write_log_stream(sandbox.direct_client("logs"), group, build_uuid, args.log)
    now = datetime.now(UTC)
    started = now - timedelta(minutes=2)
    information: dict[str, Any] = {
        "artifact": {"location": ""},
        "environment": {
            "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
            "privileged-mode": True,
            "compute-type": "BUILD_GENERAL1_SMALL",
            "type": "LINUX_CONTAINER",
            "environment-variables": [
                {"name": variable.name, "type": variable.type, "value": variable.value}
                for variable in args.environment_variables
            ],
        },
        "timeout-in-minutes": 60,
        "build-complete": args.status != "IN_PROGRESS",
        "build-number": build_number,
        "initiator": f"codepipeline/{args.project}-pipeline",
        "build-start-time": _phase_time(started),
        "source": {
            "buildspec": "buildspec.yml",
            "location": f"https://git-codecommit.{region}.amazonaws.com/v1/repos/{args.project}",
            "type": "CODECOMMIT",
        },
        "source-version": args.source_version or (uuid.uuid4().hex + uuid.uuid4().hex)[:40],
        "queued-timeout-in-minutes": 480,
    }
    if args.status == "IN_PROGRESS":
        # A build that has just started has no phases yet, and its log group and stream are null.
        current_phase = "SUBMITTED"
        information["logs"] = {
            "group-name": None,
            "stream-name": None,
            "deep-link": f"https://console.aws.amazon.com/cloudwatch/home?region={region}#logEvent:group=null;stream=null",
        }
    else:
        information["logs"] = {
            "group-name": group,
            "stream-name": build_uuid,
            "deep-link": (
                f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
                f"#logEvent:group={group};stream={build_uuid}"
            ),
        }
        information["phases"] = _phases(args, started, now)
        current_phase = "COMPLETED"
    exported = _exported_variables(sandbox, args)
    if exported:
        information["exported-environment-variables"] = exported
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CodeBuild Build State Change",
        "source": "aws.codebuild",
        "account": account,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [build_id],
        "detail": {
            "build-status": args.status,
            "project-name": args.project,
            "build-id": build_id,
            "additional-information": information,
            "current-phase": current_phase,
            "current-phase-context": "[]",
            "version": "1",
        },
    }
    sandbox.bus.append(event)
    return event


def _write_log_stream(logs: CloudWatchLogsClient, group: str, stream: str, lines: list[str]) -> int:
    """Create the build's stream and return its build number (one stream per build of the project)."""
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    if lines:
        # Timestamps are now: CloudWatch Logs (and moto) drop events older than its retention window.
        base = int(datetime.now(UTC).timestamp() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": base + offset, "message": line} for offset, line in enumerate(lines)],
        )
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    return len(streams)


def _phases(args: BuildArgs, started: datetime, ended: datetime) -> list[dict[str, Any]]:
    outcomes: list[tuple[str, str, list[str]]]
    if args.status == "SUCCEEDED":
        outcomes = [(phase, "SUCCEEDED", []) for phase in PHASES]
    else:
        failed = args.failed_phase or "BUILD"
        if failed not in PHASES:
            raise StepError(f"build: failed_phase must be one of {', '.join(PHASES)}, not {failed}")
        position = PHASES.index(failed)
        after = _AFTER_FAILED_BUILD if failed == "BUILD" else _AFTER_EARLY_FAILURE
        status = "FAILED" if args.status == "FAILED" else "STOPPED"
        outcomes = [
            *((phase, "SUCCEEDED", []) for phase in PHASES[:position]),
            (failed, status, [_failure_context(failed, args.log)]),
            *((phase, "SUCCEEDED", []) for phase in after if PHASES.index(phase) > position),
        ]
    step = (ended - started) / (len(outcomes) + 1)
    phases: list[dict[str, Any]] = []
    for number, (phase, status, context) in enumerate(outcomes):
        begin, end = started + step * number, started + step * (number + 1)
        phases.append(
            {
                "phase-context": context,
                "start-time": _phase_time(begin),
                "end-time": _phase_time(end),
                "duration-in-seconds": int((end - begin).total_seconds()),
                "phase-type": phase,
                "phase-status": status,
            }
        )
    phases.append({"start-time": _phase_time(ended), "phase-type": "COMPLETED"})
    return phases


def _failure_context(phase: str, log: list[str]) -> str:
    command = _COMMANDS.get(phase)
    if command is not None:
        return f"COMMAND_EXECUTION_ERROR: Error while executing command: {command}. Reason: exit status 1"
    # Outside buildspec commands CodeBuild puts the error itself in the phase context.
    return log[-1] if log else f"CLIENT_ERROR: phase {phase} did not complete"


def _exported_variables(sandbox: Sandbox, args: BuildArgs) -> list[dict[str, str]]:
    image_uri = image_identifier(sandbox, args.image_uri) if args.image_uri else None
    image_digest = args.image_digest
    if args.push is not None:
        repository, _, tag = args.push.partition(":")
        pushed_digest = _current_digest(sandbox.direct_client("ecr"), repository, tag or "latest")
        image_uri = image_uri or image_identifier(sandbox, f"{repository}:{tag or 'latest'}")
        image_digest = image_digest or pushed_digest
    exported = []
    if image_uri:
        exported.append({"name": "IMAGE_URI", "value": image_uri})
    if image_digest:
        exported.append({"name": "IMAGE_DIGEST", "value": image_digest})
    return exported


def _current_digest(ecr: ECRClient, repository: str, tag: str) -> str:
    try:
        response = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ClientError as exc:
        raise StepError(f"build: push {repository}:{tag} first, ECR has no such image ({exc})") from exc
    details = response.get("imageDetails", [])
    if not details or "imageDigest" not in details[0]:
        raise StepError(f"build: push {repository}:{tag} first, ECR has no such image")
    return details[0]["imageDigest"]


def _phase_time(moment: datetime) -> str:
    """CodeBuild's event time format, `May 4, 2026 9:12:03 AM` (no strftime code drops the zero-pad)."""
    hour = moment.hour % 12 or 12
    return f"{moment:%b} {moment.day}, {moment.year} {hour}:{moment:%M:%S %p}"
