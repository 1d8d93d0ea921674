"""Push images into moto's ECR the way a registry client does, and emit the events ECR would.

moto stores manifests but keeps no blob bytes and emits no events, so this module keeps the blobs
(`BlobStore`, served by the gateway's `GetDownloadUrlForLayer`) and builds one `ECR Image Action`
event per stored manifest: untagged children first, the tagged manifest last. Repositories may live in
other accounts than the sandbox's own; a push there emits its events with that account, as ECR does on
that account's default bus.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from pushpilot_sandbox.oci import ImageSet, StoredManifest, sha256_digest

# Every manifest kind the sandbox stores, so BatchGetImage returns each as it was put.
_ANY_MANIFEST = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

BlobKey = tuple[str, str, str]


class BlobStore:
    """Blob bytes by (registry id, repository, digest); safe to share between server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[BlobKey, bytes] = {}

    def put(self, registry_id: str, repository: str, content: bytes) -> str:
        digest = sha256_digest(content)
        with self._lock:
            self._blobs[registry_id, repository, digest] = content
        return digest

    def get(self, registry_id: str, repository: str, digest: str) -> bytes | None:
        with self._lock:
            return self._blobs.get((registry_id, repository, digest))

    def clear(self) -> None:
        with self._lock:
            self._blobs.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._blobs)


class PushResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    registry_id: str
    repository: str
    tag: str | None
    digest: str
    child_digests: tuple[str, ...]
    events: tuple[dict[str, Any], ...]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def pull_policy(role_arn: str, *more_roles: str) -> str:
    """The repository policy a registry account attaches so pushpilot's function roles may read images
    (the push function's, and the reconcile function's, which promotes releases)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PushpilotReadsPushedImages",
                    "Effect": "Allow",
                    "Principal": {"AWS": [role_arn, *more_roles] if more_roles else role_arn},
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                }
            ],
        }
    )


class EcrSandbox:
    """Registry-side behaviour moto lacks. `ecr` talks to moto directly: setup is not a handler call.

    `ecr_in` gives a direct client for another account (`ecr` serves `account_id`).
    """

    def __init__(
        self,
        *,
        ecr: ECRClient,
        blobs: BlobStore,
        emit: Callable[[dict[str, Any]], None],
        account_id: str,
        region: str,
        clock: Callable[[], datetime] = _utc_now,
        ecr_in: Callable[[str], ECRClient] | None = None,
    ) -> None:
        self._ecr = ecr
        self._ecr_in = ecr_in
        self._repositories: set[tuple[str, str]] = set()
        self._blobs = blobs
        self._emit = emit
        self._account_id = account_id
        self._region = region
        self._clock = clock

    def client(self, account: str | None = None) -> ECRClient:
        if account is None or account == self._account_id:
            return self._ecr
        if self._ecr_in is None:
            raise ValueError(f"this registry serves account {self._account_id} only, not {account}")
        return self._ecr_in(account)

    def create_repository(self, name: str, *, account: str | None = None) -> None:
        ecr = self.client(account)
        self._repositories.add((account or self._account_id, name))
        try:
            ecr.create_repository(repositoryName=name)
        except ecr.exceptions.RepositoryAlreadyExistsException:
            return

    def accounts_with(self, name: str) -> list[str]:
        """The accounts this sandbox created a repository `name` in."""
        return sorted(account for account, repository in self._repositories if repository == name)

    def set_repository_policy(self, name: str, policy_text: str, *, account: str | None = None) -> None:
        self.client(account).set_repository_policy(repositoryName=name, policyText=policy_text)

    def push(
        self, repository: str, tag: str | None, image: ImageSet, *, account: str | None = None
    ) -> PushResult:
        """Store blobs, put children untagged, then the top manifest with `tag`; one event per put.

        Re-pushing the same top manifest under a tag it already has raises moto's (and ECR's)
        ImageAlreadyExistsException, as `PutImage` does.
        """
        ecr = self.client(account)
        described = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
        registry_id = described.get("registryId", account or self._account_id)
        for content in image.blobs.values():
            self._blobs.put(registry_id, repository, content)

        events = [self._put(ecr, registry_id, repository, child, tag=None) for child in image.children]
        events.append(self._put(ecr, registry_id, repository, image.top, tag=tag))
        return PushResult(
            registry_id=registry_id,
            repository=repository,
            tag=tag,
            digest=image.top.digest,
            child_digests=tuple(child.digest for child in image.children),
            events=tuple(events),
        )

    def _put(
        self, ecr: ECRClient, registry_id: str, repository: str, manifest: StoredManifest, *, tag: str | None
    ) -> dict[str, Any]:
        moved_from = self._tagged(ecr, registry_id, repository, tag) if tag is not None else None
        # moto derives its own digest from layer digests (which collides across images): pass the real one.
        ecr.put_image(
            registryId=registry_id,
            repositoryName=repository,
            imageManifest=manifest.content.decode(),
            imageManifestMediaType=manifest.media_type,
            imageDigest=manifest.digest,
            **({"imageTag": tag} if tag is not None else {}),
        )
        if moved_from is not None and moved_from["imageId"].get("imageDigest") != manifest.digest:
            self._keep_untagged(ecr, registry_id, repository, moved_from)
        event = self._image_action_event(registry_id, repository, manifest, tag)
        self._emit(event)
        return event

    @staticmethod
    def _tagged(ecr: ECRClient, registry_id: str, repository: str, tag: str) -> dict[str, Any] | None:
        """The image `tag` names now, manifest and all, or None."""
        found = ecr.batch_get_image(
            registryId=registry_id,
            repositoryName=repository,
            imageIds=[{"imageTag": tag}],
            acceptedMediaTypes=list(_ANY_MANIFEST),
        ).get("images", [])
        return dict(found[0]) if found else None

    @staticmethod
    def _keep_untagged(ecr: ECRClient, registry_id: str, repository: str, image: dict[str, Any]) -> None:
        """ECR keeps an image whose tag moved on, untagged, until a lifecycle policy expires it; moto
        deletes it when it loses its last tag. Put it back untagged (no event: ECR sends none when a tag
        moves off an image), so a rollback to it works as it would in AWS."""
        digest = image["imageId"]["imageDigest"]
        still_there = ecr.batch_get_image(
            registryId=registry_id,
            repositoryName=repository,
            imageIds=[{"imageDigest": digest}],
            acceptedMediaTypes=list(_ANY_MANIFEST),
        ).get("images", [])
        if still_there:
            return
        ecr.put_image(
            registryId=registry_id,
            repositoryName=repository,
            imageManifest=image["imageManifest"],
            imageManifestMediaType=image.get("imageManifestMediaType", ""),
            imageDigest=digest,
        )

    def _image_action_event(
        self, account: str, repository: str, manifest: StoredManifest, tag: str | None
    ) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "result": "SUCCESS",
            "repository-name": repository,
            "image-digest": manifest.digest,
            "action-type": "PUSH",
        }
        if tag is not None:
            detail["image-tag"] = tag
        # Listed for ECR Image Action in the EventBridge schema behind the CDK's ECRImageActionProps.
        detail["manifest-media-type"] = manifest.media_type
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "ECR Image Action",
            "source": "aws.ecr",
            "account": account,
            "time": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._region,
            "resources": [],
            "detail": detail,
        }
