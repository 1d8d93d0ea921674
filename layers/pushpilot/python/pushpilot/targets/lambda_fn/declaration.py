"""What AWS Lambda (functions packaged as container images) needs from the flows, declared: cheap to
import (no AWS SDK), read by the registry."""

from __future__ import annotations

from typing import Final

from pushpilot.core.declarations import TargetDeclaration
from pushpilot.core.targets import OutcomePolling
from pushpilot.core.verdicts import LINUX_AMD64, LINUX_ARM64
from pushpilot.targets.ecs.declaration import STUCK_ADVICE

KIND: Final = "lambda"

# A function's Architectures says which of these it needs (x86_64 when unset: linux/amd64).
PLATFORMS: Final = (LINUX_AMD64, LINUX_ARM64)

# An image update usually ends within seconds to a minute: look after 10 s, then every 20 s and 40 s at
# most, so the end is told within a minute; after 30 minutes the scheduled refresh takes over.
POLLING: Final = OutcomePolling(first_delay_seconds=10, max_delay_seconds=40, give_up_after_seconds=1800)

# Its functions are those whose name starts with this parameter's prefix (none when empty).
REACH_SETTING: Final = "LambdaFunctionPrefix"

DECLARATION: Final = TargetDeclaration(
    kind=KIND,
    label="AWS Lambda",
    platforms=PLATFORMS,
    # Lambda takes no image index, only the single manifest of the function's architecture; it emits no
    # event when an update ends, so its outcome is polled.
    accepts_index=False,
    outcome_polling=POLLING,
    deploy_wording="pushpilot starts the deployment",
    # The words every target has used so far; Lambda has no circuit breaker, so this is the next wording
    # of its own to write.
    stuck_advice=STUCK_ADVICE,
    reach_setting=REACH_SETTING,
)
