"""Artifact size: each function and the pushpilot layer, zipped as SAM uploads them (deflate)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

LAYER_ID = "PushpilotLayer"
_SKIPPED_PARTS = frozenset({"__pycache__"})


@dataclass(frozen=True)
class ArtifactSize:
    name: str
    zipped_bytes: int | None  # None: not built
    source: str


def zipped_size(root: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not _SKIPPED_PARTS & set(path.relative_to(root).parts):
                archive.write(path, path.relative_to(root).as_posix())
    return len(buffer.getvalue())


def from_build(build_dir: Path, function_ids: list[str], project_root: Path) -> list[ArtifactSize]:
    """Sizes from `.aws-sam/build`; an artifact missing there is reported as not built.

    The layer has no build method, so `sam build` leaves it out and `sam deploy` zips its ContentUri
    (`layers/pushpilot/`) as it is: that directory is what is measured for it.
    """
    layer = project_root / "layers" / "pushpilot"
    sizes = [ArtifactSize(name=LAYER_ID, zipped_bytes=zipped_size(layer), source=f"{layer} (packaged as is)")]
    for logical_id in function_ids:
        directory = build_dir / logical_id
        built = directory.is_dir()
        sizes.append(
            ArtifactSize(
                name=logical_id,
                zipped_bytes=zipped_size(directory) if built else None,
                source=str(directory) if built else f"not built: {directory} is missing",
            )
        )
    return sizes


def from_sources(project_root: Path) -> list[ArtifactSize]:
    """Without a build: the source directories SAM would package (the layer has no dependencies to add)."""
    layer = project_root / "layers" / "pushpilot"
    sizes = [
        ArtifactSize(name=LAYER_ID, zipped_bytes=zipped_size(layer), source=f"source {layer} (not built)")
    ]
    sizes.extend(
        ArtifactSize(
            name=app.parent.name,
            zipped_bytes=zipped_size(app.parent),
            source=f"source {app.parent} (not built)",
        )
        for app in sorted((project_root / "functions").glob("*/app.py"))
    )
    return sizes
