"""CodeBuild adapter: the facts a succeeded build's event may lack (its image exports, its commit).

`batch_get_builds` returns the whole build, environment variables included; only the resolved source
version, the build number and the exported `IMAGE_URI` / `IMAGE_DIGEST` are read from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error
from pushpilot.core.build_report import IMAGE_EXPORT_NAMES, BuildFacts

if TYPE_CHECKING:
    from mypy_boto3_codebuild.client import CodeBuildClient


class BuildLookup:
    def __init__(self, client: CodeBuildClient | None = None) -> None:
        self._client: CodeBuildClient = client or clients.client("codebuild")

    def build_facts(self, build_id: str) -> BuildFacts | None:
        """None when CodeBuild no longer knows the build."""
        try:
            response = self._client.batch_get_builds(ids=[build_id])
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, service="codebuild", action="BatchGetBuilds", target=build_id) from exc
        build = next(iter(response.get("builds", [])), None)
        if build is None:
            return None
        exports = {
            variable["name"]: variable.get("value", "")
            for variable in build.get("exportedEnvironmentVariables", [])
            if variable.get("name") in IMAGE_EXPORT_NAMES
        }
        return BuildFacts(
            resolved_source_version=build.get("resolvedSourceVersion") or None,
            build_number=build.get("buildNumber"),
            image_uri=exports.get("IMAGE_URI") or None,
            image_digest=exports.get("IMAGE_DIGEST") or None,
        )
