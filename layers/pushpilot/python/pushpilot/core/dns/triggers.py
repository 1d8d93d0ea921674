"""What set a DNS reconcile off, whatever the source: App Runner's domain validation event, an ACM
certificate event, the schedule (no trigger), or a person at the command line."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class DnsTrigger(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    time: datetime
    # What the event is about; None: not said (re-read state decides).
    domain_name: str | None = None
    service_arn: str | None = None
    service_name: str | None = None
    certificate_arn: str | None = None
    # The event says a certificate validated (issued, or a domain became active).
    validated: bool = True
