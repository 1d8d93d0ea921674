"""What a deploy target declares about itself, as a value: the flows and the core read these and never a
target's name. Each target writes its declaration in its own folder (`targets/<kind>/declaration.py`);
the registry lists them, and every DeployTarget carries its own.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pushpilot.core.dns.models import DnsEndpoint
from pushpilot.core.targets import OutcomePolling
from pushpilot.core.verdicts import Platform


class TargetDeclaration(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    # How people call it: "App Runner".
    label: str
    # The image requirement: the platforms its hosts run, the first being the one a service needs when it
    # does not say; and whether it deploys an image index (its hosts pick their platform's child) or only
    # the single manifest of the service's platform.
    platforms: tuple[Platform, ...] = Field(min_length=1)
    accepts_index: bool = True
    # The outcome source: None when its events tell that a deployment ended; else how it is polled.
    outcome_polling: OutcomePolling | None = None
    # Its wording: why pushpilot starts a deployment itself (the plan's reason), and what to do about a
    # deployment stuck in progress (`{service}`: the service's name).
    deploy_wording: str
    stuck_advice: str
    # The stack parameter that bounds which of its services pushpilot may touch, if one does.
    reach_setting: str | None = None
    # Its DNS endpoint defaults, for a target whose services answer for custom domains.
    dns: DnsEndpoint | None = None

    @property
    def default_platform(self) -> Platform:
        return self.platforms[0]

    def stuck_advice_for(self, service_name: str) -> str:
        return self.stuck_advice.format(service=service_name)
