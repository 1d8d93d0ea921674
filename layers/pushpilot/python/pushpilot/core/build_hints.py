"""Known CodeBuild failures, as one table: the pattern that finds each in a log line, and its fix."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from pushpilot.core.message_limits import BUILD_LOG_LINE_WIDTH
from pushpilot.core.plain_text import clip


@dataclass(frozen=True, slots=True)
class Hint:
    """A known failure: `pattern` finds it in a log or phase-context line; `fix` is a str.format
    template over the pattern's named groups (every match's values, joined) plus `region`, `account`
    and `project`; `defaults` fills a group no line captured."""

    name: str
    pattern: re.Pattern[str]
    title: str
    fix: str
    defaults: Mapping[str, str] = field(default_factory=dict)


_ECR_PERMISSIONS_FIX = (
    "Grant the CodeBuild service role {role} the permission(s) {action}: attach the managed policy "
    "AmazonEC2ContainerRegistryPowerUser (aws iam attach-role-policy --role-name {role} --policy-arn "
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser), or add an inline statement that allows "
    '{action} on {resource} (ecr:GetAuthorizationToken only works with Resource "*").'
)

HINTS: tuple[Hint, ...] = (
    Hint(
        name="ecr-access-denied",
        pattern=re.compile(
            r"User: arn:aws[\w-]*:(?:sts|iam)::(?P<account>\d{12}):"
            r"(?:assumed-role/(?P<role>[\w+=,.@-]+)/\S+|\S+)"
            r" is not authorized to perform: (?P<action>ecr:[A-Za-z]+)"
            r"(?: on resource: (?P<resource>\S+))?"
        ),
        title="The build's role is not allowed {action}",
        fix=_ECR_PERMISSIONS_FIX,
        defaults={"role": "of this project", "resource": "the repository's ARN"},
    ),
    Hint(
        name="ecr-login-missing",
        pattern=re.compile(r"no basic auth credentials"),
        title="Docker is not logged in to ECR",
        fix=(
            "Log in to ECR in the buildspec's pre_build phase: aws ecr get-login-password --region {region} "
            "| docker login --username AWS --password-stdin {account}.dkr.ecr.{region}.amazonaws.com"
        ),
    ),
    Hint(
        name="ecr-repository-missing",
        pattern=re.compile(r"The repository with name '(?P<repository>[^']+)' does not exist"),
        title="ECR repository {repository} does not exist",
        fix=(
            "Create it before pushing: aws ecr create-repository --repository-name {repository} "
            "--region {region} (or fix the repository name in IMAGE_URI)."
        ),
    ),
    Hint(
        name="docker-hub-rate-limit",
        pattern=re.compile(
            r"(?:docker\.io/(?:library/)?(?P<image>[\w./-]+:[\w.-]+)\b.*?)?toomanyrequests", re.IGNORECASE
        ),
        title="Docker Hub's pull rate limit stopped the build",
        fix=(
            "Pull base images from ECR Public instead of Docker Hub (FROM public.ecr.aws/docker/library/"
            "{image}), or create an ECR pull-through cache rule for Docker Hub (aws ecr "
            "create-pull-through-cache-rule --ecr-repository-prefix docker-hub --upstream-registry-url "
            "registry-1.docker.io --credential-arn <secret named ecr-pullthroughcache/...>) and pull "
            "{account}.dkr.ecr.{region}.amazonaws.com/docker-hub/library/{image}."
        ),
        defaults={"image": "<image>:<tag>"},
    ),
    Hint(
        name="exec-format-error",
        pattern=re.compile(r"exec format error"),
        title="A binary was built for another CPU architecture",
        fix=(
            "Build for the platform the service's hosts run: for linux/amd64, docker buildx build "
            "--platform linux/amd64 (and FROM --platform=linux/amd64 for base images); for arm64, an "
            "arm64 build image (environment type ARM_CONTAINER)."
        ),
    ),
    Hint(
        name="docker-daemon-unavailable",
        pattern=re.compile(r"Cannot connect to the Docker daemon"),
        title="Docker is not running in the build container",
        fix=(
            "Turn on privileged mode in the environment of project {project}: building images needs the "
            "Docker daemon, which CodeBuild starts only in privileged mode."
        ),
    ),
    Hint(
        name="buildspec-missing",
        pattern=re.compile(
            r"YAML_FILE_ERROR:?\s*(?:Message:\s*)?stat \S*/(?P<buildspec>[^/\s]+?): no such file or directory"
        ),
        title="The source has no {buildspec}",
        fix=(
            "Commit {buildspec} at the root of the source, or set project {project}'s buildspec to its path "
            "relative to the source root (aws codebuild update-project --name {project} --source ...)."
        ),
    ),
    Hint(
        name="buildspec-invalid",
        pattern=re.compile(r"YAML_FILE_ERROR:?+\s*+(?:Message:\s*+)?+(?P<problem>(?!stat )\S.*)"),
        title="The buildspec is not valid",
        fix=(
            "Fix the buildspec: {problem}. It needs `version: 0.2` and a `phases` map at the top level, "
            "indented with spaces."
        ),
    ),
)


class HintMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    fix: str
    evidence: str


class _TemplateValues(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def match_hints(
    lines: Sequence[str],
    context: Mapping[str, str],
    hints: Sequence[Hint] = HINTS,
    *,
    redact: Callable[[str], str] = str,
) -> tuple[HintMatch, ...]:
    """Every hint some line shows, in table order; each fix names every value its matches captured.
    Lines are matched as written; `redact` masks what a match says (title, fix, the quoted line)."""
    found: list[HintMatch] = []
    for hint in hints:
        matches = [m for line in lines if (m := hint.pattern.search(line))]
        if not matches:
            continue
        captured: dict[str, list[str]] = {}
        for match in matches:
            for group, value in match.groupdict().items():
                if value and value not in captured.setdefault(group, []):
                    captured[group].append(value)
        values = _TemplateValues({**context, **hint.defaults})
        values.update(
            {group: ", ".join(found_values) for group, found_values in captured.items() if found_values}
        )
        found.append(
            HintMatch(
                name=hint.name,
                title=redact(hint.title.format_map(values)),
                fix=redact(hint.fix.format_map(values)),
                evidence=clip(redact(matches[0].string.strip()), BUILD_LOG_LINE_WIDTH),
            )
        )
    return tuple(found)
