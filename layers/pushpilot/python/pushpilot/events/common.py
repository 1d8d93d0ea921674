"""Pieces every EventBridge event model shares."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

NonEmpty = Annotated[str, Field(min_length=1)]


class EventDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class EventBridgeEnvelope(BaseModel):
    """The EventBridge event envelope, the fields and types of Powertools' `EventBridgeModel`.

    Ours because importing that one model imports the whole Powertools parser package (its parser,
    envelopes and types: 13 modules, ≈ 7 ms of CPU on every cold start, about 2% of a handler's) for
    a plain pydantic model with ten fields; no handler here uses the parser itself. Subclasses narrow
    `source`, `detail_type` and `detail`.
    """

    model_config = ConfigDict(populate_by_name=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: Any
    replay_name: str | None = Field(default=None, alias="replay-name")
