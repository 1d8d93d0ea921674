"""pushpilot's own release events, as a subscriber receives them (promotion is one): parsed whole.

The detail is schema version 1 (core/release_events.py); a later version a subscriber does not know is
malformed here rather than half-read.
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import ConfigDict, Field

from pushpilot.core.release_events import ReleaseEventDetail


class PushpilotReleaseDetail(ReleaseEventDetail):
    # Fields a later minor addition brings are ignored; the version pins what is read.
    model_config = ConfigDict(frozen=True, extra="ignore")

    version: Literal["1"] = "1"


class PushpilotReleaseEvent(EventBridgeModel):
    source: Literal["pushpilot"]
    detail_type: Literal["Release Live", "Release Rolled Back", "Release Failed"] = Field(alias="detail-type")
    detail: PushpilotReleaseDetail
