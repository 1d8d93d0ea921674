"""`pushpilot image check`: judge an image in ECR against a platform, exactly as the gate does.

Exit codes: 0 the image runs on the platform, 1 it does not, 2 it cannot be told (or the image cannot
be read at all). The AWS endpoint, region and credentials come from the standard AWS settings.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import Self, TextIO

from botocore.exceptions import NoCredentialsError, NoRegionError
from pydantic import BaseModel, ConfigDict

from pushpilot.core.errors import PushpilotError
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.targets import TargetService
from pushpilot.core.verdicts import Platform, Verdict, VerdictStatus
from pushpilot.ports import DeployTarget, Inspector
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM

EXIT_CODES = {VerdictStatus.PASS: 0, VerdictStatus.REJECT: 1, VerdictStatus.UNKNOWN: 2}
EXIT_ERROR = 2


# The names ECR accepts (its CreateRepository and image-tag rules, which the OCI distribution spec shares).
_REPOSITORY = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]+")


class ImageReference(BaseModel):
    """`[ACCOUNT.dkr.ecr.REGION.amazonaws.com/]REPOSITORY[:TAG][@DIGEST]`; no tag or digest: `latest`."""

    model_config = ConfigDict(frozen=True)

    repository: str
    tag: str | None = None
    digest: str | None = None
    registry_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> Self:
        rest = text.strip()
        registry_id: str | None = None
        first, slash, remainder = rest.partition("/")
        # Docker's rule: a first component with a dot or a port (or `localhost`) is a registry host.
        if slash and ("." in first or ":" in first or first == "localhost"):
            account, _, host_rest = first.partition(".")
            if not (account.isdigit() and host_rest.startswith("dkr.ecr.")):
                raise ValueError(f"not an ECR private registry: {first!r}")
            registry_id, rest = account, remainder
        digest: str | None = None
        if "@" in rest:
            rest, _, digest = rest.partition("@")
            if not digest:
                raise ValueError(f"empty digest in {text!r}")
        tag: str | None = None
        name, colon, maybe_tag = rest.rpartition(":")
        if colon and "/" not in maybe_tag:
            rest, tag = name, maybe_tag
            if not tag:
                raise ValueError(f"empty tag in {text!r}")
        if not rest:
            raise ValueError(f"no repository name in {text!r}")
        # Refused here, before any AWS call: ECR would only answer with a validation error.
        if not _REPOSITORY.fullmatch(rest) or not 2 <= len(rest) <= 256:
            raise ValueError(
                f"invalid repository name {rest!r}: ECR names are lower-case letters, digits and . _ - /"
                " (2 to 256 characters), e.g. web or team/web"
            )
        if tag is not None and not _TAG.fullmatch(tag):
            raise ValueError(
                f"invalid tag {tag!r}: letters, digits, _ . - (up to 128, not starting with . or -)"
            )
        if digest is not None and not _DIGEST.fullmatch(digest):
            raise ValueError(f"invalid digest {digest!r}: expected algorithm:hex, e.g. sha256:3f4a…")
        return cls(
            repository=rest, tag=tag or (None if digest else "latest"), digest=digest, registry_id=registry_id
        )

    def __str__(self) -> str:
        return (
            self.repository
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )


def _reference_argument(text: str) -> ImageReference:
    try:
        return ImageReference.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _platform_argument(text: str) -> Platform:
    try:
        return Platform.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    image = subparsers.add_parser("image", help="judge images stored in ECR")
    image_commands = image.add_subparsers(dest="image_command", required=True, metavar="COMMAND")
    check = image_commands.add_parser(
        "check",
        help="may this image run on the platform? (exit 0 yes, 1 no, 2 cannot tell)",
        description="Read the image's manifest (and config) from ECR and judge its platform.",
    )
    check.add_argument(
        "image",
        type=_reference_argument,
        metavar="REPOSITORY:TAG|REPOSITORY@DIGEST",
        help="the image; a full ECR URI also works, and a bare repository means :latest",
    )
    check.add_argument(
        "--platform",
        type=_platform_argument,
        default=APP_RUNNER_PLATFORM,
        help=f"the platform the target runs (default: {APP_RUNNER_PLATFORM}, App Runner's)",
    )
    check.add_argument("--registry-id", help="the account id of the registry, when it is not yours")
    check.add_argument(
        "--services",
        action="store_true",
        help="judge it for every service (App Runner, ECS, ECS Express) that runs it, each against the"
        " platform that service needs, instead of one --platform",
    )
    check.add_argument("--json", action="store_true", help="print the verdict as JSON")
    check.set_defaults(run=run_check)


def render_verdict(reference: ImageReference, verdict: Verdict) -> str:
    lines = [
        f"{verdict.status.value.upper()}  {reference}",
        f"  required:  {verdict.required}",
        f"  found:     {', '.join(str(platform) for platform in verdict.platforms) or 'no platform'}",
    ]
    if verdict.digest:
        lines.append(f"  digest:    {verdict.digest}")
    if verdict.media_type:
        lines.append(f"  manifest:  {verdict.media_type}")
    lines.append(f"  reason:    {verdict.reason}")
    if verdict.fix:
        lines.append(f"  fix:       {verdict.fix}")
    return "\n".join(lines)


def run_check(
    args: argparse.Namespace,
    *,
    inspector: Inspector | None = None,
    targets: Sequence[DeployTarget] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    reference: ImageReference = args.image
    registry_id: str | None = args.registry_id or reference.registry_id
    if args.registry_id and reference.registry_id and args.registry_id != reference.registry_id:
        return _fail(
            f"--registry-id {args.registry_id} contradicts the image URI's registry {reference.registry_id}",
            as_json=args.json,
            out=out,
            err=err,
        )
    try:
        if inspector is None:
            from pushpilot.adapters.ecr import ImageInspector

            inspector = ImageInspector()
        if getattr(args, "services", False):
            return _check_services(args, reference, registry_id, inspector, targets=targets, out=out)
        verdict = inspector.inspect(
            reference.repository,
            digest=reference.digest,
            tag=reference.tag,
            registry_id=registry_id,
            required=args.platform,
        )
    except PushpilotError as exc:
        return _fail(f"{type(exc).__name__}: {exc}", as_json=args.json, out=out, err=err)
    except (NoRegionError, NoCredentialsError) as exc:
        return _fail(f"AWS is not configured: {exc}", as_json=args.json, out=out, err=err)
    if args.json:
        print(json.dumps({"image": str(reference), **verdict.model_dump(mode="json")}, indent=2), file=out)
    else:
        print(render_verdict(reference, verdict), file=out)
    return EXIT_CODES[verdict.status]


def _fail(message: str, *, as_json: bool, out: TextIO, err: TextIO) -> int:
    print(f"error: {message}", file=err)
    if as_json:
        print(json.dumps({"error": message}), file=out)
    return EXIT_ERROR


def _runs(service: TargetService, reference: ImageReference) -> bool:
    if service.image_identifier is None:
        return False
    try:
        ref = ImageRef.parse(service.image_identifier)
    except ValueError:
        return False
    return (ref.repository, ref.tag, ref.digest) == (reference.repository, reference.tag, reference.digest)


def _default_targets() -> list[DeployTarget]:
    from pushpilot.entry.wiring import reach
    from pushpilot.targets.registry import build_targets

    return list(build_targets(reach()).values())


def _check_services(
    args: argparse.Namespace,
    reference: ImageReference,
    registry_id: str | None,
    inspector: Inspector,
    *,
    targets: Sequence[DeployTarget] | None,
    out: TextIO,
) -> int:
    """One verdict per platform the services that run the image need, each service told its own."""
    found: list[tuple[DeployTarget, TargetService]] = [
        (target, service)
        for target in (targets if targets is not None else _default_targets())
        for service in target.list_services()
        if _runs(service, reference)
    ]
    if not found:
        print(f"no service runs {reference}", file=out)
        return EXIT_ERROR
    verdicts: dict[str, Verdict] = {}
    rows: list[dict[str, str]] = []
    for target, service in sorted(found, key=lambda item: item[1].name):
        platform = service.required_platform
        key = str(platform) if platform else "unknown"
        if platform is not None and key not in verdicts:
            verdicts[key] = inspector.inspect(
                reference.repository,
                digest=reference.digest,
                tag=reference.tag,
                registry_id=registry_id,
                required=platform,
            )
        status = verdicts[key].status.value if key in verdicts else VerdictStatus.UNKNOWN.value
        rows.append({"service": service.name, "target": target.label, "needs": key, "status": status})
    if args.json:
        print(
            json.dumps(
                {
                    "image": str(reference),
                    "services": rows,
                    "verdicts": {key: verdict.model_dump(mode="json") for key, verdict in verdicts.items()},
                },
                indent=2,
            ),
            file=out,
        )
    else:
        for row in rows:
            print(
                f"{row['status'].upper():8} {row['service']} ({row['target']}) needs {row['needs']}", file=out
            )
        for verdict in verdicts.values():
            print(render_verdict(reference, verdict), file=out)
    statuses = {VerdictStatus(row["status"]) for row in rows}
    return max(EXIT_CODES[status] for status in statuses)
