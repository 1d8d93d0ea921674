"""What ECS Express Mode needs from the flows, declared: cheap to import (no AWS SDK), read by the
registry."""

from __future__ import annotations

from typing import Final

from pushpilot.core.declarations import TargetDeclaration
from pushpilot.targets.ecs.declaration import PLATFORMS, REACH_SETTING, STUCK_ADVICE

KIND: Final = "ecs_express"

DECLARATION: Final = TargetDeclaration(
    kind=KIND,
    label="ECS Express Mode",
    # Its cpuArchitecture says which a service needs (linux/amd64 when unset).
    platforms=PLATFORMS,
    # Express services are ECS services: an image index is taken, their events tell the outcome.
    accepts_index=True,
    deploy_wording="pushpilot updates the Express Mode service to this image",
    stuck_advice=STUCK_ADVICE,
    reach_setting=REACH_SETTING,
)
