"""`pushpilot image check`: arguments, output and exit codes, with an in-memory inspector."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pushpilot.core.errors import AccessDeniedError, NotFoundError, PushpilotError
from pushpilot.core.verdicts import Platform, Verdict, VerdictStatus, judge
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM
from pushpilot_cli.image_cmd import ImageReference, register

pytestmark = pytest.mark.unit

MANIFESTS = Path(__file__).parents[1] / "data" / "manifests"
FILES = sorted(MANIFESTS.glob("*.json"))
DIGEST = "sha256:" + "ab" * 32


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pushpilot")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["image", "check", *argv])


@dataclass
class FakeInspector:
    """Judges the test manifests for real, as the ECR adapter would; records each call."""

    manifest: str = "index.oci.amd64-arm64-attested.json"
    error: PushpilotError | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def inspect(
        self,
        repository: str,
        *,
        digest: str | None = None,
        tag: str | None = None,
        registry_id: str | None = None,
        required: Platform,
    ) -> Verdict:
        self.calls.append(
            {"repository": repository, "digest": digest, "tag": tag, "registry_id": registry_id}
        )
        if self.error is not None:
            raise self.error
        blobs = {
            "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest(): p.read_bytes()
            for p in MANIFESTS.iterdir()
        }
        verdict = judge(
            (MANIFESTS / self.manifest).read_bytes(),
            None,
            required=required,
            fetch_config=blobs.get,
            image_ref=f"{repository}:{tag}",
        )
        return verdict.model_copy(update={"digest": digest or DIGEST})


def run(args: argparse.Namespace, inspector: FakeInspector) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = args.run(args, inspector=inspector, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# --- image references ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("orders-api:v42", ImageReference(repository="orders-api", tag="v42")),
        ("shop/orders-api:v42", ImageReference(repository="shop/orders-api", tag="v42")),
        ("shop/orders-api", ImageReference(repository="shop/orders-api", tag="latest")),
        (f"shop/orders-api@{DIGEST}", ImageReference(repository="shop/orders-api", digest=DIGEST)),
        (f"orders-api:v42@{DIGEST}", ImageReference(repository="orders-api", tag="v42", digest=DIGEST)),
        (
            "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shop/orders-api:v42",
            ImageReference(repository="shop/orders-api", tag="v42", registry_id="210987654321"),
        ),
    ],
)
def test_image_reference_parsing(text: str, expected: ImageReference) -> None:
    assert ImageReference.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", ":v1", "orders-api:", "orders-api@", "docker.io/library/nginx:1", "ghcr.io/shop/api:v1"]
)
def test_image_reference_rejects_what_is_not_an_ecr_image(text: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        ImageReference.parse(text)


def test_arguments_and_defaults() -> None:
    args = parse("shop/orders-api:v42")

    assert args.image == ImageReference(repository="shop/orders-api", tag="v42")
    assert args.platform == APP_RUNNER_PLATFORM
    assert args.registry_id is None
    assert args.json is False


def test_platform_and_registry_options() -> None:
    args = parse("orders-api:v1", "--platform", "linux/arm64/v8", "--registry-id", "210987654321", "--json")

    assert args.platform == Platform(os="linux", architecture="arm64", variant="v8")
    assert args.registry_id == "210987654321"
    assert args.json is True


def test_bad_platform_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse("orders-api:v1", "--platform", "amd64")

    assert exited.value.code == 2
    assert "not a platform" in capsys.readouterr().err


# --- verdicts and exit codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "code", "status"),
    [
        ("index.oci.amd64-arm64-attested.json", 0, "PASS"),
        ("index.oci.arm64-attested.json", 1, "REJECT"),
        ("index.oci.attestations-only.json", 2, "UNKNOWN"),
    ],
)
def test_exit_code_follows_the_verdict(manifest: str, code: int, status: str) -> None:
    exit_code, out, err = run(parse("shop/orders-api:v42"), FakeInspector(manifest=manifest))

    assert exit_code == code
    assert out.startswith(f"{status}  shop/orders-api:v42")
    assert err == ""


def test_readable_rejection_names_platforms_reason_and_fix() -> None:
    inspector = FakeInspector(manifest="index.oci.arm64-attested.json")
    _, out, _ = run(parse("shop/orders-api:v42"), inspector)

    assert "required:  linux/amd64" in out
    assert "found:     linux/arm64/v8" in out
    assert f"digest:    {DIGEST}" in out
    assert (
        "fix:       docker buildx build --platform linux/amd64 --provenance=false -t shop/orders-api:v42"
        in out
    )
    assert inspector.calls == [
        {"repository": "shop/orders-api", "digest": None, "tag": "v42", "registry_id": None}
    ]


def test_json_output_is_the_verdict_as_data() -> None:
    exit_code, out, _ = run(
        parse("shop/orders-api:v42", "--json"), FakeInspector(manifest="index.oci.arm64-attested.json")
    )
    document = json.loads(out)

    assert exit_code == 1
    assert document["image"] == "shop/orders-api:v42"
    verdict = Verdict.model_validate({key: value for key, value in document.items() if key != "image"})
    assert verdict.status is VerdictStatus.REJECT
    assert verdict.platforms == (Platform(os="linux", architecture="arm64", variant="v8"),)


def test_required_platform_is_passed_through() -> None:
    exit_code, out, _ = run(
        parse("shop/orders-api:v42", "--platform", "linux/arm64"),
        FakeInspector(manifest="index.oci.arm64-attested.json"),
    )

    assert exit_code == 0
    assert "required:  linux/arm64" in out


def test_registry_from_the_uri_and_digest_reach_the_inspector() -> None:
    inspector = FakeInspector()
    run(parse(f"210987654321.dkr.ecr.eu-west-1.amazonaws.com/shop/orders-api@{DIGEST}"), inspector)

    assert inspector.calls == [
        {"repository": "shop/orders-api", "digest": DIGEST, "tag": None, "registry_id": "210987654321"}
    ]


def test_contradicting_registry_ids_are_refused_before_any_call() -> None:
    inspector = FakeInspector()
    exit_code, _, err = run(
        parse("210987654321.dkr.ecr.eu-west-1.amazonaws.com/orders-api:v1", "--registry-id", "123456789012"),
        inspector,
    )

    assert exit_code == 2
    assert "contradicts" in err
    assert inspector.calls == []


@pytest.mark.parametrize(
    "error",
    [
        NotFoundError("image shop/orders-api:v42 unavailable: ImageNotFound"),
        AccessDeniedError("the registry account 210987654321 must attach an ECR repository policy"),
    ],
)
def test_errors_exit_2_with_a_clear_message(error: PushpilotError) -> None:
    exit_code, out, err = run(parse("shop/orders-api:v42"), FakeInspector(error=error))

    assert exit_code == 2
    assert out == ""
    assert err == f"error: {type(error).__name__}: {error}\n"


def test_errors_in_json_mode_are_json_too() -> None:
    error = NotFoundError("image shop/orders-api:v42 unavailable: ImageNotFound")
    exit_code, out, _ = run(parse("shop/orders-api:v42", "--json"), FakeInspector(error=error))

    assert exit_code == 2
    assert json.loads(out) == {"error": f"NotFoundError: {error}"}


# --- every service that runs the image ----------------------------------------------------------------


def test_services_mode_judges_the_image_for_the_platform_each_service_needs() -> None:
    from pushpilot.core.verdicts import LINUX_ARM64
    from tests.fakes import FakeTarget, service_snapshot

    app_runner = FakeTarget([service_snapshot("storefront", "orders-api")])
    ecs = FakeTarget(
        [
            service_snapshot("graviton", "orders-api", kind="ecs", platform=LINUX_ARM64),
            service_snapshot("unrelated", "billing", kind="ecs", platform=LINUX_ARM64),
        ],
        kind="ecs",
        label="Amazon ECS",
    )
    inspector = FakeInspector(manifest="manifest.oci.linux-arm64.json")
    out, err = io.StringIO(), io.StringIO()
    args = parse("orders-api:latest", "--services")

    code = args.run(args, inspector=inspector, targets=[app_runner, ecs], out=out, err=err)

    lines = out.getvalue().splitlines()
    assert "PASS     graviton (Amazon ECS) needs linux/arm64" in lines
    assert "REJECT   storefront (App Runner) needs linux/amd64" in lines
    assert not any("unrelated" in line for line in lines)
    assert code == 1
    # One read per platform, not per service.
    assert len(inspector.calls) == 2


def test_services_mode_says_when_no_service_runs_the_image() -> None:
    from tests.fakes import FakeTarget

    out, err = io.StringIO(), io.StringIO()
    args = parse("orders-api:latest", "--services")

    code = args.run(args, inspector=FakeInspector(), targets=[FakeTarget()], out=out, err=err)

    assert code == 2
    assert out.getvalue().strip() == "no service runs orders-api:latest"
