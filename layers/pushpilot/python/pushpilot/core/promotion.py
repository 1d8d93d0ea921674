"""Release stages: a service that takes its releases from another one, once they proved themselves there.

    pushpilot:promote-from = <service>               a service of this stack's account, any target kind
                           | <account-id>:<service>  a service of another account, whose pushpilot's
                                                     Release Live events the forwarder brings here
    pushpilot:bake         = <duration>              how long the upstream release runs live first (30m)
    pushpilot:bake-alarms  = <alarm>[,<alarm>...]    CloudWatch alarms that hold the promotion in ALARM

A push never deploys to such a service: the upstream's Release Live starts a bake, and when the release
has been live upstream for the whole bake (still running there, no alarm in ALARM), its exact digest
deploys here. An alarm in ALARM holds the bake; its return to OK starts a fresh one. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

PROMOTE_FROM_TAG = "pushpilot:promote-from"
BAKE_TAG = "pushpilot:bake"
BAKE_ALARMS_TAG = "pushpilot:bake-alarms"
DEFAULT_BAKE = timedelta(minutes=30)

_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?:in)?)?(?:(?P<s>\d+)s)?$")
_ACCOUNT_SERVICE = re.compile(r"^(?P<account>\d{12}):(?P<service>[^:\s]+)$")
_LONGEST_BAKE = timedelta(days=14)


def parse_duration(text: str) -> timedelta:
    """`30m`, `1h`, `1h30m`, `90s`, or a bare number of minutes; ValueError naming what is wrong."""
    value = text.strip().lower()
    if value.isdigit():
        return timedelta(minutes=int(value))
    found = _DURATION.match(value)
    if not value or found is None or not any(found.groupdict().values()):
        raise ValueError(f"{BAKE_TAG} {text!r} is not a duration (e.g. 30m, 1h, 1h30m)")
    hours, minutes, seconds = (int(found.group(name) or 0) for name in ("h", "m", "s"))
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def minutes_text(span: timedelta) -> str:
    total = int(span.total_seconds() // 60)
    if total >= 120 and total % 60 == 0:
        return f"{total // 60} h"
    return f"{total} min"


class Upstream(BaseModel):
    """The service releases come from; `account` None: the stack's own account."""

    model_config = ConfigDict(frozen=True)

    service: str
    account: str | None = None

    def label(self) -> str:
        return f"{self.account}:{self.service}" if self.account else self.service

    def is_(self, service: str, account: str, *, local_account: str) -> bool:
        """Whether a release event about `service` in `account` comes from this upstream."""
        return service == self.service and account == (self.account or local_account)


class PromotionPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    upstream: Upstream
    bake: timedelta = DEFAULT_BAKE
    alarms: tuple[str, ...] = ()
    # What could not be read; the rest applies (a bad bake keeps the default, never promotes sooner).
    problems: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        alarms = f", held by {', '.join(self.alarms)}" if self.alarms else ""
        return f"promoted from {self.upstream.label()} after {minutes_text(self.bake)} live{alarms}"


def read_promotion(tags: Mapping[str, str]) -> PromotionPolicy | None:
    """The service's promotion policy; None when it takes pushes directly."""
    source = tags.get(PROMOTE_FROM_TAG, "").strip()
    if not source:
        return None
    problems: list[str] = []
    found = _ACCOUNT_SERVICE.match(source)
    upstream = (
        Upstream(service=found.group("service"), account=found.group("account"))
        if found
        else Upstream(service=source)
    )
    bake = DEFAULT_BAKE
    if BAKE_TAG in tags:
        try:
            bake = parse_duration(tags[BAKE_TAG])
        except ValueError as exc:
            problems.append(f"{exc}; baking {minutes_text(DEFAULT_BAKE)}")
        else:
            if bake > _LONGEST_BAKE:
                problems.append(f"{BAKE_TAG} {tags[BAKE_TAG]!r} is longer than 14 days; baking 14 days")
                bake = _LONGEST_BAKE
    alarms = tuple(name.strip() for name in tags.get(BAKE_ALARMS_TAG, "").split(",") if name.strip())
    return PromotionPolicy(upstream=upstream, bake=bake, alarms=alarms, problems=tuple(problems))


class BakeState(StrEnum):
    BAKING = "baking"
    # An alarm named in pushpilot:bake-alarms is in ALARM: the clock stops; OK again starts a fresh bake.
    HELD = "held"
    PROMOTED = "promoted"
    # Replaced by a newer upstream release, or the upstream no longer runs it.
    DROPPED = "dropped"


class Baking(BaseModel):
    """One upstream release waiting to be promoted to one downstream service (the table keeps one per
    downstream service: the newest upstream release)."""

    model_config = ConfigDict(frozen=True)

    service_arn: str
    service_name: str
    release_id: str
    repository: str
    registry: str
    digest: str
    tag: str | None = None
    upstream_service: str
    # Empty: the stack's own account; else the account `pushpilot:promote-from` names.
    upstream_account: str = ""
    upstream_arn: str | None = None
    # When the release went live upstream: newer upstream releases replace older ones.
    live_since: str
    # When the bake clock (re)started: the upstream's live time, or when the alarms were OK again.
    bake_started: str
    state: BakeState = BakeState.BAKING
    held_by: tuple[str, ...] = ()

    @property
    def image(self) -> str:
        return f"{self.registry}/{self.repository}@{self.digest}"

    def upstream_label(self, local_account: str = "") -> str:
        if self.upstream_account and self.upstream_account != local_account:
            return f"{self.upstream_account}:{self.upstream_service}"
        return self.upstream_service

    def due_at(self, bake: timedelta) -> datetime:
        return datetime.fromisoformat(self.bake_started) + bake

    def live_for(self, now: datetime) -> timedelta:
        return now - datetime.fromisoformat(self.live_since)


class StepKind(StrEnum):
    WAIT = "wait"
    HOLD = "hold"
    RESUME = "resume"
    PROMOTE = "promote"


class BakeStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: StepKind
    # Alarms in ALARM (HOLD), or time left (WAIT).
    alarms: tuple[str, ...] = ()
    left: timedelta = timedelta(0)


def next_step(baking: Baking, policy: PromotionPolicy, *, now: datetime, in_alarm: Sequence[str]) -> BakeStep:
    """What a bake does now: wait, be held by its alarms, start afresh after them, or promote."""
    if in_alarm:
        return BakeStep(
            kind=StepKind.WAIT if baking.state is BakeState.HELD else StepKind.HOLD, alarms=tuple(in_alarm)
        )
    if baking.state is BakeState.HELD:
        return BakeStep(kind=StepKind.RESUME, left=policy.bake)
    left = baking.due_at(policy.bake) - now
    if left > timedelta(0):
        return BakeStep(kind=StepKind.WAIT, left=left)
    return BakeStep(kind=StepKind.PROMOTE)


def bake_line(baking: Baking, policy: PromotionPolicy, *, now: datetime, local_account: str) -> str | None:
    """What bakes for a service and the time left, for `pushpilot releases`; None when nothing does."""
    if baking.state not in {BakeState.BAKING, BakeState.HELD}:
        return None
    short = baking.digest.partition(":")[2][:12]
    tag = f"{baking.tag} " if baking.tag else ""
    what = f"{tag}sha256:{short} from {baking.upstream_label(local_account)}"
    if baking.state is BakeState.HELD:
        return f"{what}, held: {', '.join(baking.held_by)} in ALARM"
    due = baking.due_at(policy.bake)
    left = due - now
    if left.total_seconds() <= 0:
        return f"{what}, due now (promoted by the next refresh)"
    return f"{what}, {minutes_text(left)} left (at {due.isoformat(timespec='seconds')})"
