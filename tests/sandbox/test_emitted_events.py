"""Every event the sandbox's emulators and stand-ins emit has the shape of the real-shaped samples in events/:
the same fields, spelled the same, with the same JSON types.

Scenarios that between them make every emitter speak (App Runner, ECS and Express, ECR, CodeBuild, ACM)
run with the sandbox's bus recorded; events a scenario's `event` step reads from a file are left out (they
are the scenario's, not an emulator's). Each recorded event must fit one sample of its detail-type: no
member the sample lacks (a misspelling, a shape AWS does not send), none of a different type, and every
member of the sample present but those listed below with the reason AWS leaves them out. pushpilot's own
events (`source: pushpilot`) are held to their published schema instead.
"""

from __future__ import annotations

import copy
import io
import json
from collections import deque
from pathlib import Path
from typing import Any, override

import pytest

from pushpilot_sandbox import scenario as scenario_module
from pushpilot_sandbox import steps
from pushpilot_sandbox.environment import Sandbox
from pushpilot_sandbox.release_event_bus import SchemaViolationError, check_release_event

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).parents[2]
EVENTS = ROOT / "events"
SCENARIOS = ROOT / "scenarios"

# Between them these make every emitter speak: the demo (ECR pushes tagged and untagged, CodeBuild,
# App Runner deployments and a custom domain, ACM) and the Express rollback (ECS deployments, tasks
# started and stopped, steady state).
EMITTING_SCENARIOS = ("demo", "ecs-express-rollback")
EMITTED_DETAIL_TYPES = frozenset(
    {
        "ECR Image Action",
        "CodeBuild Build State Change",
        "AppRunner Service Operation Status Change",
        "AppRunner Service Status Change",
        "AppRunner Custom Domain Validation Status Update",
        "ACM Certificate Available",
        "ECS Deployment State Change",
        "ECS Service Action",
        "ECS Task State Change",
    }
)
# No sample of this detail-type is published anywhere (AWS's pages list the type and show no body):
# nothing real to hold the emulator's to.
UNSAMPLED = frozenset({"AppRunner Custom Domain Validation Status Update"})
# Members of a sample an event may leave out, by detail-type, and why.
OPTIONAL: dict[str, frozenset[str]] = {
    # An untagged child manifest of a multi-arch push has an event of its own, with no tag.
    "ECR Image Action": frozenset({"detail.image-tag"}),
    # A container whose image was never pulled (its task failed to start) has no digest.
    "ECS Task State Change": frozenset({"detail.containers[].imageDigest"}),
    # The stand-in's builds report no build status to a source provider and export no variables.
    "CodeBuild Build State Change": frozenset(
        {
            "detail.additional-information.source.report-build-status",
            "detail.additional-information.exported-environment-variables",
        }
    ),
}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def shape_problems(
    sample: Any, emitted: Any, optional: frozenset[str] = frozenset(), path: str = ""
) -> list[str]:
    """How `emitted` departs from `sample`'s members, spellings and types (values are not compared)."""
    where = path or "(event)"
    if _kind(sample) != _kind(emitted):
        return [f"{where}: {_kind(emitted)} where the sample has {_kind(sample)}"]
    if isinstance(sample, dict):
        problems = [
            f"{path}.{key}".lstrip(".") + ": not in the sample" for key in emitted if key not in sample
        ]
        for key, value in sample.items():
            inner = f"{path}.{key}".lstrip(".")
            if key in emitted:
                problems += shape_problems(value, emitted[key], optional, inner)
            elif inner not in optional:
                problems.append(f"{inner}: missing")
        return problems
    if isinstance(sample, list) and sample:
        problems = []
        for item in emitted:
            # An item fits when it fits one of the sample's items (phases differ: the last has no end).
            fits = [shape_problems(choice, item, optional, f"{path}[]") for choice in sample]
            problems += [] if any(not found for found in fits) else min(fits, key=len)
        return problems
    return []


def _samples() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path in sorted(EVENTS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if "detail-type" in document:
            found.setdefault(document["detail-type"], []).append((path.name, document))
    return found


class _RecordingBus(deque[dict[str, Any]]):
    """The sandbox's bus, keeping a copy of every event an emitter puts on it."""

    def __init__(self, record: list[dict[str, Any]], injecting: list[bool]) -> None:
        super().__init__()
        self._record = record
        self._injecting = injecting

    @override
    def append(self, event: dict[str, Any]) -> None:
        if not self._injecting[0]:
            # On the wire an event is JSON: datetimes and the like as the bus would serialise them.
            self._record.append(json.loads(json.dumps(copy.deepcopy(event), default=str)))
        super().append(event)


def _emitted(name: str, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    record: list[dict[str, Any]] = []
    injecting = [False]

    class RecordingSandbox(Sandbox):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.bus = _RecordingBus(record, injecting)

    read_from_file = steps.ACTIONS["event"]

    def event_step(*args: Any) -> None:
        injecting[0] = True
        try:
            read_from_file(*args)
        finally:
            injecting[0] = False

    monkeypatch.setattr(scenario_module, "Sandbox", RecordingSandbox)
    monkeypatch.setitem(steps.ACTIONS, "event", event_step)
    scenario_module.run_scenario(SCENARIOS / f"{name}.yaml", out=io.StringIO())
    return record


@pytest.fixture(scope="module")
def samples() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    return _samples()


def test_every_event_the_emitters_emit_fits_a_sample_of_its_detail_type(
    monkeypatch: pytest.MonkeyPatch, samples: dict[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    # One test runs both scenarios: a scenario is the expensive part, and the coverage check needs both.
    emitted = [event for name in EMITTING_SCENARIOS for event in _emitted(name, monkeypatch)]
    # The check is only as wide as what the scenarios emit: every detail-type, together.
    assert {event.get("detail-type") for event in emitted} >= EMITTED_DETAIL_TYPES
    problems: list[str] = []
    for event in emitted:
        detail_type = event.get("detail-type", "")
        if detail_type in UNSAMPLED:
            continue
        if event.get("source") == "pushpilot":
            # pushpilot's own events (the demo's promotion) follow the schema it publishes, not a sample.
            try:
                check_release_event(event)
            except SchemaViolationError as exc:
                problems.append(str(exc))
            continue
        candidates = samples.get(detail_type)
        if not candidates:
            problems.append(f"{event.get('source')} {detail_type!r}: no sample in events/")
            continue
        optional = OPTIONAL.get(detail_type, frozenset())
        fits = {name: shape_problems(sample, event, optional) for name, sample in candidates}
        if all(fits.values()):
            closest = min(fits, key=lambda name: len(fits[name]))
            problems.append(f"{detail_type} (closest sample {closest}): {'; '.join(fits[closest])}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_every_detail_type_but_the_unpublished_has_a_sample(
    samples: dict[str, list[tuple[str, dict[str, Any]]]],
) -> None:
    assert sorted(EMITTED_DETAIL_TYPES - UNSAMPLED - set(samples)) == []


@pytest.mark.parametrize(
    ("emitted_event", "expected"),
    [
        ({"a": 1, "b": {"c": "x"}}, []),
        ({"a": 1, "b": {"c": "x"}, "d": 2}, ["d: not in the sample"]),
        ({"a": "1", "b": {"c": "x"}}, ["a: string where the sample has number"]),
        ({"a": 1, "b": {}}, ["b.c: missing"]),
        ({"a": 1, "b": {"C": "x"}}, ["b.C: not in the sample", "b.c: missing"]),
    ],
)
def test_the_shape_check_catches_spellings_types_and_missing_members(
    emitted_event: dict[str, Any], expected: list[str]
) -> None:
    assert shape_problems({"a": 1, "b": {"c": "x"}}, emitted_event) == expected
