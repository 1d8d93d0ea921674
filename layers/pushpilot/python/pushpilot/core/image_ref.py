"""Image identifiers as App Runner holds them, reduced to one comparable key.

App Runner stores `ImageIdentifier` as the user typed it (tag optional, meaning `latest`); ECR events
name only the repository, tag and account/region. Both become `registry/repository:tag` (or
`registry/repository@digest` for pinned services) so a push finds its services with one lookup.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

ECR_PUBLIC_HOST = "public.ecr.aws"


class ImageRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, identifier: str) -> ImageRef:
        registry, _, rest = identifier.partition("/")
        if not rest or ("." not in registry and ":" not in registry):
            raise ValueError(f"not a registry image identifier: {identifier!r}")
        digest: str | None = None
        tag: str | None = None
        if "@" in rest:
            rest, _, digest = rest.partition("@")
        else:
            name, sep, maybe_tag = rest.rpartition(":")
            if sep and "/" not in maybe_tag:
                rest, tag = name, maybe_tag
        return cls(
            registry=registry.lower(),
            repository=rest,
            tag=tag or (None if digest else "latest"),
            digest=digest,
        )

    @classmethod
    def for_ecr_push(cls, *, account: str, region: str, repository: str, tag: str) -> ImageRef:
        return cls(registry=ecr_registry_host(account, region), repository=repository, tag=tag)

    @property
    def key(self) -> str:
        suffix = f"@{self.digest}" if self.digest else f":{self.tag}"
        return f"{self.registry}/{self.repository}{suffix}"

    @property
    def is_ecr_public(self) -> bool:
        return self.registry == ECR_PUBLIC_HOST

    @property
    def registry_account(self) -> str | None:
        """The account id of a private ECR registry host, None for any other registry."""
        account, _, rest = self.registry.partition(".")
        return account if rest.startswith("dkr.ecr.") and account.isdigit() else None

    def __str__(self) -> str:
        return self.key


def ecr_registry_host(account: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}"
