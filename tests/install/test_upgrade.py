"""What a user's second and later days look like: `git pull` over a deployed checkout, and removing one of
two stacks that share SAM's artifact bucket."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
import warnings
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.install import pipeline
from tests.install.checks import parse_overrides
from tests.install.conftest import Install, deploy_settings

LOCAL_CONFIG = "samconfig.local.toml"
# What `make deploy` runs needs these tracked files (and nothing else: SAM is stood in for below).
TRACKED = ("Makefile", "samconfig.toml", ".gitignore", "scripts/find-python.sh")

# Stands in for the SAM CLI in `make deploy`: `build` does nothing; `deploy --guided` saves the answers
# where `sam deploy --guided` saves them (the file given with --config-file, else samconfig.toml), with
# the SAM CLI's own configuration writer, as its guided deploy does.
GUIDED_SAM = """
import sys
from samcli.lib.config.samconfig import SamConfig

args = sys.argv[1:]
if args[0] == "deploy":
    assert "--guided" in args, args
    name = args[args.index("--config-file") + 1] if "--config-file" in args else "samconfig.toml"
    config = SamConfig(config_dir=".", filename=name)
    config.put(["deploy"], "parameters", "stack_name", "pushpilot", env="default")
    config.put(["deploy"], "parameters", "s3_prefix", "pushpilot", env="default")
    config.put(
        ["deploy"], "parameters", "parameter_overrides", 'DryRun="false" SlackMode="none"', env="default"
    )
    config.flush()
"""
ANSWER = 'DryRun="false" SlackMode="none"'


def _saved_answer(checkout: Path) -> str:
    config = tomllib.loads((checkout / LOCAL_CONFIG).read_text(encoding="utf-8"))
    answer: str = config["default"]["deploy"]["parameters"]["parameter_overrides"]
    return answer


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - git, with the test's own arguments
        ["git", "-c", "user.name=pushpilot", "-c", "user.email=pushpilot@example.com", *args],  # noqa: S607
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
    )


def _make_deploy(checkout: Path, sam: Path) -> None:
    done = subprocess.run(  # noqa: S603 - make, with the project's Makefile
        ["make", "-o", ".venv-sam/.installed", "deploy", f"SAM={sam}", f"PYTHON={pipeline.SAM_PYTHON}"],  # noqa: S607
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An upstream repository holding the tracked files, a user's clone of it, and the SAM stand-in."""
    upstream = tmp_path / "upstream"
    for name in TRACKED:
        (upstream / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(pipeline.ROOT / name, upstream / name)
    _git(upstream, "init", "-q", "-b", "main")
    _git(upstream, "add", ".")
    _git(upstream, "commit", "-q", "-m", "release 1")
    user = tmp_path / "user"
    _git(tmp_path, "clone", "-q", str(upstream), str(user))
    sam = tmp_path / "sam"
    script = tmp_path / "guided_sam.py"
    script.write_text(GUIDED_SAM, encoding="utf-8")
    sam.write_text(f'#!/bin/sh\nexec "{pipeline.SAM_PYTHON}" "{script}" "$@"\n', encoding="utf-8")
    sam.chmod(0o755)
    return upstream, user, sam


def _release_2(upstream: Path) -> None:
    """The next release changes the shipped samconfig.toml (a new comment, a new default)."""
    samconfig = upstream / "samconfig.toml"
    samconfig.write_text(
        samconfig.read_text(encoding="utf-8").replace('NotifyKinds=\\"all\\"', 'NotifyKinds=\\"failures\\"'),
        encoding="utf-8",
    )
    _git(upstream, "commit", "-q", "-am", "release 2")


def test_git_pull_upgrades_a_deployed_checkout_and_keeps_the_answers(
    checkout: tuple[Path, Path, Path],
) -> None:
    upstream, user, sam = checkout
    _make_deploy(user, sam)

    assert _saved_answer(user) == ANSWER
    assert _git(user, "status", "--porcelain").stdout == ""
    _release_2(upstream)
    pulled = _git(user, "pull", "-q", "--ff-only", check=False)

    assert pulled.returncode == 0, pulled.stderr
    assert (user / "samconfig.toml").read_text(encoding="utf-8") == (upstream / "samconfig.toml").read_text(
        encoding="utf-8"
    )
    # The next deploy reads the saved answers; the copy is made once, never over them.
    _make_deploy(user, sam)
    assert _saved_answer(user) == ANSWER
    assert _git(user, "status", "--porcelain").stdout == ""


def test_answers_saved_in_the_tracked_file_would_stop_the_pull(checkout: tuple[Path, Path, Path]) -> None:
    """The control: the same pull fails when the answers go where `sam deploy --guided` puts them by
    default, which is why `make deploy` names the local file."""
    upstream, user, sam = checkout
    done = subprocess.run(  # noqa: S603 - the SAM stand-in above
        [str(sam), "deploy", "--guided"], cwd=user, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    _release_2(upstream)

    pulled = _git(user, "pull", "-q", "--ff-only", check=False)

    assert pulled.returncode != 0
    assert "samconfig.toml" in pulled.stderr


def _artifact_keys(expanded: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for resource in expanded["Resources"].values():
        properties = resource.get("Properties", {})
        location = properties.get("Code") or properties.get("Content")
        if resource["Type"] in {"AWS::Lambda::Function", "AWS::Lambda::LayerVersion"} and location:
            keys.add(location["S3Key"])
    return keys


def _exists(key: str) -> bool:
    found = boto3.client("s3").list_objects_v2(Bucket=pipeline.ARTIFACT_BUCKET, Prefix=key)
    return any(item["Key"] == key for item in found.get("Contents", []))


def test_sam_delete_of_one_stack_keeps_the_code_the_other_runs(install: Install, tmp_path: Path) -> None:
    prod = deploy_settings("prod")
    parameters = parse_overrides(prod["parameter_overrides"]) | {"SlackChannel": "C0123456789"}
    packaged = pipeline.package(
        pipeline.BUILD_DIR / "template.yaml", tmp_path, install.moto_url, s3_prefix=prod["s3_prefix"]
    )
    expanded = pipeline.expand(packaged, tmp_path / "prod.expanded.json", install.moto_url, parameters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # moto names each resource type it does not create
        pipeline.create_stack(prod["stack_name"], expanded, parameters)
    kept, deleted = _artifact_keys(install.main.expanded), _artifact_keys(expanded)
    assert kept
    assert deleted
    assert kept.isdisjoint(deleted)

    pipeline.run(
        [
            str(pipeline.SAM),
            "delete",
            "--stack-name",
            prod["stack_name"],
            "--region",
            pipeline.REGION,
            "--s3-bucket",
            pipeline.ARTIFACT_BUCKET,
            "--s3-prefix",
            prod["s3_prefix"],
            "--no-prompts",
        ],
        env=pipeline.aws_environment(install.moto_url),
        what="sam delete",
    )

    assert not [key for key in deleted if _exists(key)], "sam delete left the deleted stack's code"
    assert [key for key in kept if not _exists(key)] == [], "sam delete removed code the other stack runs"


def test_the_forwarder_renders_for_a_stackset_without_a_transform(install: Install, tmp_path: Path) -> None:
    """`make forwarder-stackset`'s script: plain CloudFormation, the same resources the forwarder stack
    was created with, and clean under cfn-lint's informational rules."""
    rendered = tmp_path / "forwarder.processed.json"
    pipeline.run(
        [
            str(pipeline.SAM_PYTHON),
            str(pipeline.ROOT / "scripts" / "render_forwarder.py"),
            str(pipeline.ROOT / "forwarder" / "template.yaml"),
            str(rendered),
            pipeline.REGION,
        ],
        env={},
        what="render_forwarder.py",
    )
    template = json.loads(rendered.read_text(encoding="utf-8"))

    assert "Transform" not in template
    assert not [r for r in template["Resources"].values() if r["Type"].startswith("AWS::Serverless::")]
    assert template["Resources"] == install.forwarder.expanded["Resources"]
    assert set(template["Parameters"]) == set(install.forwarder.expanded["Parameters"])
    pipeline.lint(rendered)
