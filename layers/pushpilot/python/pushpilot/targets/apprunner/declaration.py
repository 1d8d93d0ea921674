"""What App Runner needs from the flows, declared: cheap to import (no AWS SDK), read by the registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pushpilot.core.declarations import TargetDeclaration
from pushpilot.core.dns.models import DnsEndpoint
from pushpilot.core.verdicts import LINUX_AMD64

KIND: Final = "apprunner"
# App Runner runs only linux/amd64 (and so the CLI's default requirement).
APP_RUNNER_PLATFORM: Final = LINUX_AMD64

# Route 53 hosted zone ids of App Runner's regional endpoints, for ALIAS records. No API returns them:
# they come from the "AWS App Runner endpoints and quotas" page
# (https://docs.aws.amazon.com/general/latest/gr/apprunner.html), column "Route 53 Hosted Zone ID".
ALIAS_HOSTED_ZONE_IDS: Final[Mapping[str, str]] = {
    "us-east-2": "Z0224347AD7KVHMLOX31",
    "us-east-1": "Z01915732ZBZKC8D32TPT",
    "us-west-2": "Z02243383FTQ64HJ5772Q",
    "ap-south-1": "Z00855883LBHKTIC4ODF2",
    "ap-southeast-1": "Z09819469CZ3KQ8PWMCL",
    "ap-southeast-2": "Z03657752RA8799S0TI5I",
    "ap-northeast-1": "Z08491812XW6IPYLR6CCA",
    "eu-central-1": "Z0334911C2FDI2Q9M4FZ",
    "eu-west-1": "Z087551914Z2PCAU0QHMW",
    "eu-west-2": "Z098228427VC6B3IX76ON",
    "eu-west-3": "Z087117439MBKHYM69QS6",
}

# Its custom domains' endpoints: an ALIAS at an apex takes the region's zone; notices name its services
# alone.
DNS: Final = DnsEndpoint(service_kind="App Runner", alias_zone_ids=ALIAS_HOSTED_ZONE_IDS, bare_name=True)

DECLARATION: Final = TargetDeclaration(
    kind=KIND,
    label="App Runner",
    platforms=(APP_RUNNER_PLATFORM,),
    # Its hosts take an image index and run its linux/amd64 child; its events tell the outcome.
    accepts_index=True,
    # "Manual deployment mode" is App Runner's name for a service that does not deploy pushes by itself.
    deploy_wording="manual deployment mode: pushpilot starts the deployment",
    # The words every target used when this advice was written for ECS; App Runner has no circuit
    # breaker, so this is the next wording of its own to write.
    stuck_advice=(
        "{service} has no circuit breaker or alarm that would end a failing deployment. Look at its"
        " stopped tasks in the console; turn on the deployment circuit breaker with rollback so ECS ends"
        " such deployments by itself."
    ),
    dns=DNS,
)
