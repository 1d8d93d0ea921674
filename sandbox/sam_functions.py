"""What the sandbox runs from a SAM template, read through the template's `Resolver`: the functions with
their handlers, settings and event sources (rules, schedules, queues), their asynchronous invoke settings
and destinations, the resources SAM adds implicitly, and the event-bus rules and policies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from pushpilot_sandbox.template import (
    NO_VALUE,
    PhysicalResource,
    Pseudo,
    Resolver,
    TemplateError,
    _as_text,
    _is_intrinsic,
    as_bool,
    physical_name,
)

# --- SAM functions and what triggers them ----------------------------------------------------------

SERVERLESS_FUNCTION: Final = "AWS::Serverless::Function"
LAMBDA_FUNCTION: Final = "AWS::Lambda::Function"
DEFAULT_BUS: Final = "default"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class RuleSpec(_Frozen):
    """An EventBridge rule with a pattern that targets a function."""

    key: str
    """The SAM event's name, or the logical id of an AWS::Events::Rule."""
    name: str
    arn: str
    pattern: dict[str, Any]
    enabled: bool
    event_bus: str = DEFAULT_BUS
    input: Any = None
    input_path: str | None = None


class ScheduleSpec(_Frozen):
    key: str
    """The SAM event's name, or the logical id of an AWS::Events::Rule."""
    name: str
    arn: str
    expression: str
    enabled: bool
    input: Any = None


class SqsSourceSpec(_Frozen):
    name: str
    queue_arn: str
    batch_size: int = 10
    report_batch_item_failures: bool = False
    enabled: bool = True


class DestinationSpec(_Frozen):
    type: Literal["SQS", "SNS"]
    arn: str


class InvokeConfig(_Frozen):
    """Asynchronous invocation settings; Lambda retries a failed async invoke twice unless told otherwise."""

    maximum_retry_attempts: int = 2
    maximum_event_age_seconds: int | None = None
    on_failure: DestinationSpec | None = None
    on_success: DestinationSpec | None = None


class FunctionSpec(_Frozen):
    logical_id: str
    function_name: str
    arn: str
    code_dir: Path
    handler: str
    runtime: str | None
    environment: dict[str, str]
    memory_mb: int
    timeout_seconds: int
    rules: tuple[RuleSpec, ...] = ()
    schedules: tuple[ScheduleSpec, ...] = ()
    sqs_sources: tuple[SqsSourceSpec, ...] = ()
    invoke_config: InvokeConfig = InvokeConfig()
    dead_letter_queue: DestinationSpec | None = None

    @property
    def handler_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir.joinpath(*module.split(".")).with_suffix(".py")

    @property
    def handler_name(self) -> str:
        return self.handler.rpartition(".")[2]


def merge_globals(global_properties: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals merge: maps merge key by key, lists concatenate, the function's own scalars win."""
    merged: dict[str, Any] = dict(global_properties)
    for key, value in own.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping) and not _is_intrinsic(value):
            merged[key] = merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = [*current, *value]
        else:
            merged[key] = value
    return merged


def function_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    resource = template["Resources"][logical_id]
    own = resource.get("Properties") or {}
    if resource.get("Type") != SERVERLESS_FUNCTION:
        return dict(own)
    global_function = ((template.get("Globals") or {}).get("Function")) or {}
    return merge_globals(global_function, own)


def function_resources(resolver: Resolver) -> dict[str, PhysicalResource]:
    """The name and ARN every included function would get, so `!Ref Fn` and `!GetAtt Fn.Arn` resolve."""
    pseudo = resolver.pseudo
    found: dict[str, PhysicalResource] = {}
    for logical_id, resource in resolver.template["Resources"].items():
        if resource.get("Type") not in {SERVERLESS_FUNCTION, LAMBDA_FUNCTION} or not resolver.includes(
            logical_id
        ):
            continue
        properties = function_properties(resolver.template, logical_id)
        if "FunctionName" in properties:
            name = resolver.resolve_text(properties["FunctionName"], f"Resources.{logical_id}.FunctionName")
        else:
            name = physical_name(pseudo.stack_name, logical_id)
        arn = f"arn:{pseudo.partition}:lambda:{pseudo.region}:{pseudo.account_id}:function:{name}"
        found[logical_id] = PhysicalResource(ref=name, attributes={"Arn": arn})
    return found


def read_functions(resolver: Resolver, *, template_dir: Path) -> list[FunctionSpec]:
    """Every included function with its resolved settings and triggers.

    The resolver must already know the functions (`function_resources`) so targets given as
    `!GetAtt Fn.Arn` resolve.
    """
    template = resolver.template
    specs: dict[str, FunctionSpec] = {}
    by_arn: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != SERVERLESS_FUNCTION or not resolver.includes(logical_id):
            continue
        spec = _read_function(resolver, logical_id, template_dir)
        specs[logical_id] = spec
        by_arn[spec.arn] = logical_id
        by_name[spec.function_name] = logical_id

    for logical_id, resource in template["Resources"].items():
        kind = resource.get("Type")
        if kind not in _RAW_ATTACHMENTS or not resolver.includes(logical_id):
            continue
        if kind == "AWS::Events::Rule":
            _attach_raw_rule(resolver, logical_id, specs, by_arn)
        elif kind == "AWS::Lambda::EventSourceMapping":
            _attach_raw_event_source_mapping(resolver, logical_id, specs, by_name, by_arn)
        else:
            _attach_raw_invoke_config(resolver, logical_id, specs, by_name, by_arn)
    return list(specs.values())


def _read_function(resolver: Resolver, logical_id: str, template_dir: Path) -> FunctionSpec:
    where = f"Resources.{logical_id}.Properties"
    properties = function_properties(resolver.template, logical_id)
    physical = resolver.resources[logical_id]
    if "InlineCode" in properties:
        raise TemplateError(f"{where}.InlineCode: the sandbox runs handlers from CodeUri only")
    code_uri = resolver.resolve(properties.get("CodeUri"), f"{where}.CodeUri")
    if not isinstance(code_uri, str):
        raise TemplateError(f"{where}.CodeUri: expected a local directory, got {code_uri!r}")
    handler = resolver.resolve_text(properties.get("Handler"), f"{where}.Handler")
    if "." not in handler:
        raise TemplateError(f"{where}.Handler: expected module.function, got {handler!r}")
    variables = resolver.resolve(
        (properties.get("Environment") or {}).get("Variables") or {}, f"{where}.Environment"
    )
    environment = {
        name: _as_text(value, f"{where}.Environment.Variables.{name}") for name, value in variables.items()
    }
    runtime = properties.get("Runtime")

    rules: list[RuleSpec] = []
    schedules: list[ScheduleSpec] = []
    sqs_sources: list[SqsSourceSpec] = []
    for event_name, event in (properties.get("Events") or {}).items():
        event_where = f"{where}.Events.{event_name}"
        event_kind = event.get("Type")
        event_properties = event.get("Properties") or {}
        if event_kind in {"EventBridgeRule", "CloudWatchEvent"}:
            rules.append(_sam_rule(resolver, logical_id, event_name, event_properties, event_where))
        elif event_kind in {"Schedule", "ScheduleV2"}:
            schedules.append(
                _sam_schedule(
                    resolver,
                    event_properties,
                    function_id=logical_id,
                    event_name=event_name,
                    kind=event_kind,
                    where=event_where,
                )
            )
        elif event_kind == "SQS":
            sqs_sources.append(_sam_sqs(resolver, event_name, event_properties, event_where))
        else:
            raise TemplateError(f"{event_where}: event type {event_kind!r} is not supported by the sandbox")

    return FunctionSpec(
        logical_id=logical_id,
        function_name=physical.ref,
        arn=physical.attributes["Arn"],
        code_dir=(template_dir / code_uri).resolve(),
        handler=handler,
        runtime=resolver.resolve_text(runtime, f"{where}.Runtime") if runtime is not None else None,
        environment=environment,
        memory_mb=int(resolver.resolve_text(properties.get("MemorySize", 128), f"{where}.MemorySize")),
        timeout_seconds=int(resolver.resolve_text(properties.get("Timeout", 3), f"{where}.Timeout")),
        rules=tuple(rules),
        schedules=tuple(schedules),
        sqs_sources=tuple(sqs_sources),
        invoke_config=_invoke_config(
            resolver, properties.get("EventInvokeConfig"), f"{where}.EventInvokeConfig"
        ),
        dead_letter_queue=_legacy_dead_letter_queue(resolver, properties.get("DeadLetterQueue"), where),
    )


def _enabled(resolver: Resolver, properties: Mapping[str, Any], where: str) -> bool:
    if "Enabled" in properties:
        return as_bool(resolver.resolve(properties["Enabled"], f"{where}.Enabled"), f"{where}.Enabled")
    if "State" in properties:
        return resolver.resolve_text(properties["State"], f"{where}.State").upper().startswith("ENABLED")
    return True


def _rule_arn(resolver: Resolver, name: str, event_bus: str) -> str:
    pseudo = resolver.pseudo
    bus_part = "" if event_bus == DEFAULT_BUS else f"{event_bus}/"
    return f"arn:{pseudo.partition}:events:{pseudo.region}:{pseudo.account_id}:rule/{bus_part}{name}"


def _event_bus(resolver: Resolver, properties: Mapping[str, Any], where: str) -> str:
    bus = resolver.resolve_text(properties.get("EventBusName", DEFAULT_BUS), f"{where}.EventBusName")
    # A bus may be named by its ARN; rules on the default bus name it either way.
    return bus.rsplit("/", 1)[-1] if bus.startswith("arn:") else bus


def _pattern(value: Any, where: str) -> dict[str, Any]:
    pattern = json.loads(value) if isinstance(value, str) else value
    if not isinstance(pattern, dict) or not pattern:
        raise TemplateError(f"{where}: expected an event pattern object, got {value!r}")
    return pattern


def _target_input(resolver: Resolver, properties: Mapping[str, Any], where: str) -> tuple[Any, str | None]:
    if "InputTransformer" in properties:
        raise TemplateError(f"{where}.InputTransformer: not supported by the sandbox")
    constant = None
    if "Input" in properties:
        text = resolver.resolve_text(properties["Input"], f"{where}.Input")
        try:
            constant = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateError(f"{where}.Input: not valid JSON: {exc}") from exc
    input_path = properties.get("InputPath")
    return constant, resolver.resolve_text(
        input_path, f"{where}.InputPath"
    ) if input_path is not None else None


def _sam_rule(
    resolver: Resolver, function_id: str, event_name: str, properties: Mapping[str, Any], where: str
) -> RuleSpec:
    if "Pattern" not in properties:
        raise TemplateError(f"{where}.Pattern: an EventBridgeRule needs a pattern")
    bus = _event_bus(resolver, properties, where)
    name = (
        resolver.resolve_text(properties["RuleName"], f"{where}.RuleName")
        if "RuleName" in properties
        else physical_name(resolver.pseudo.stack_name, f"{function_id}{event_name}")
    )
    constant, input_path = _target_input(resolver, properties, where)
    return RuleSpec(
        key=event_name,
        name=name,
        arn=_rule_arn(resolver, name, bus),
        pattern=_pattern(resolver.resolve(properties["Pattern"], f"{where}.Pattern"), f"{where}.Pattern"),
        enabled=_enabled(resolver, properties, where),
        event_bus=bus,
        input=constant,
        input_path=input_path,
    )


def _sam_schedule(
    resolver: Resolver,
    properties: Mapping[str, Any],
    *,
    function_id: str,
    event_name: str,
    kind: str,
    where: str,
) -> ScheduleSpec:
    expression_key = "Schedule" if kind == "Schedule" else "ScheduleExpression"
    if expression_key not in properties:
        raise TemplateError(f"{where}.{expression_key}: a {kind} event needs an expression")
    name = (
        resolver.resolve_text(properties["Name"], f"{where}.Name")
        if "Name" in properties
        else physical_name(resolver.pseudo.stack_name, f"{function_id}{event_name}")
    )
    pseudo = resolver.pseudo
    arn = (
        _rule_arn(resolver, name, DEFAULT_BUS)
        if kind == "Schedule"
        else f"arn:{pseudo.partition}:scheduler:{pseudo.region}:{pseudo.account_id}:schedule/default/{name}"
    )
    constant, _ = _target_input(resolver, properties, where)
    return ScheduleSpec(
        key=event_name,
        name=name,
        arn=arn,
        expression=resolver.resolve_text(properties[expression_key], f"{where}.{expression_key}"),
        enabled=_enabled(resolver, properties, where),
        input=constant,
    )


def _sam_sqs(resolver: Resolver, event_name: str, properties: Mapping[str, Any], where: str) -> SqsSourceSpec:
    if "FilterCriteria" in properties:
        raise TemplateError(f"{where}.FilterCriteria: not supported by the sandbox")
    response_types = resolver.resolve(properties.get("FunctionResponseTypes") or [], where)
    return SqsSourceSpec(
        name=event_name,
        queue_arn=resolver.resolve_text(properties.get("Queue"), f"{where}.Queue"),
        batch_size=int(resolver.resolve_text(properties.get("BatchSize", 10), f"{where}.BatchSize")),
        report_batch_item_failures="ReportBatchItemFailures" in response_types,
        enabled=_enabled(resolver, properties, where),
    )


def _destination(resolver: Resolver, value: Any, where: str) -> DestinationSpec | None:
    if value is None:
        return None
    kind = resolver.resolve_text(value.get("Type"), f"{where}.Type") if "Type" in value else None
    if "Destination" not in value:
        raise TemplateError(f"{where}.Destination: name the queue or topic so the sandbox can provision it")
    arn = resolver.resolve_text(value["Destination"], f"{where}.Destination")
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    kind = kind or service.upper()
    if kind not in {"SQS", "SNS"}:
        raise TemplateError(f"{where}: destination type {kind!r} is not supported by the sandbox")
    return DestinationSpec(type="SQS" if kind == "SQS" else "SNS", arn=arn)


def _invoke_config(resolver: Resolver, value: Any, where: str) -> InvokeConfig:
    if not value:
        return InvokeConfig()
    destinations = value.get("DestinationConfig") or {}
    age = value.get("MaximumEventAgeInSeconds")
    return InvokeConfig(
        maximum_retry_attempts=int(
            resolver.resolve_text(value.get("MaximumRetryAttempts", 2), f"{where}.MaximumRetryAttempts")
        ),
        maximum_event_age_seconds=(
            int(resolver.resolve_text(age, f"{where}.MaximumEventAgeInSeconds")) if age is not None else None
        ),
        on_failure=_destination(
            resolver, destinations.get("OnFailure"), f"{where}.DestinationConfig.OnFailure"
        ),
        on_success=_destination(
            resolver, destinations.get("OnSuccess"), f"{where}.DestinationConfig.OnSuccess"
        ),
    )


def _legacy_dead_letter_queue(resolver: Resolver, value: Any, where: str) -> DestinationSpec | None:
    if value is None:
        return None
    resolved = resolver.resolve(value, f"{where}.DeadLetterQueue")
    if resolved is NO_VALUE:
        return None
    kind = _as_text(resolved.get("Type"), f"{where}.DeadLetterQueue.Type")
    if kind not in {"SQS", "SNS"}:
        raise TemplateError(f"{where}.DeadLetterQueue.Type: expected SQS or SNS, got {kind!r}")
    return DestinationSpec(
        type="SQS" if kind == "SQS" else "SNS", arn=_as_text(resolved.get("TargetArn"), where)
    )


def _attach_raw_rule(
    resolver: Resolver, logical_id: str, specs: dict[str, FunctionSpec], by_arn: Mapping[str, str]
) -> None:
    where = f"Resources.{logical_id}.Properties"
    properties = resolver.template["Resources"][logical_id].get("Properties") or {}
    bus = _event_bus(resolver, properties, where)
    name = (
        resolver.resolve_text(properties["Name"], f"{where}.Name")
        if "Name" in properties
        else physical_name(resolver.pseudo.stack_name, logical_id)
    )
    enabled = _enabled(resolver, properties, where)
    for index, target in enumerate(properties.get("Targets") or []):
        target_where = f"{where}.Targets[{index}]"
        function_id = by_arn.get(resolver.resolve_text(target.get("Arn"), f"{target_where}.Arn"))
        if function_id is None:
            continue
        spec = specs[function_id]
        constant, input_path = _target_input(resolver, target, target_where)
        if "EventPattern" in properties:
            rule = RuleSpec(
                key=logical_id,
                name=name,
                arn=_rule_arn(resolver, name, bus),
                pattern=_pattern(
                    resolver.resolve(properties["EventPattern"], f"{where}.EventPattern"), where
                ),
                enabled=enabled,
                event_bus=bus,
                input=constant,
                input_path=input_path,
            )
            specs[function_id] = spec.model_copy(update={"rules": (*spec.rules, rule)})
        elif "ScheduleExpression" in properties:
            schedule = ScheduleSpec(
                key=logical_id,
                name=name,
                arn=_rule_arn(resolver, name, DEFAULT_BUS),
                expression=resolver.resolve_text(
                    properties["ScheduleExpression"], f"{where}.ScheduleExpression"
                ),
                enabled=enabled,
                input=constant,
            )
            specs[function_id] = spec.model_copy(update={"schedules": (*spec.schedules, schedule)})
        else:
            raise TemplateError(f"{where}: a rule needs an EventPattern or a ScheduleExpression")


_RAW_ATTACHMENTS: Final = frozenset(
    {"AWS::Events::Rule", "AWS::Lambda::EventInvokeConfig", "AWS::Lambda::EventSourceMapping"}
)


def _attach_raw_event_source_mapping(
    resolver: Resolver,
    logical_id: str,
    specs: dict[str, FunctionSpec],
    by_name: Mapping[str, str],
    by_arn: Mapping[str, str],
) -> None:
    """An SQS source written as its own resource (so no managed policy grants every queue), read as the
    SAM `SQS` event it stands for."""
    where = f"Resources.{logical_id}.Properties"
    properties = resolver.template["Resources"][logical_id].get("Properties") or {}
    function = resolver.resolve_text(properties.get("FunctionName"), f"{where}.FunctionName")
    function_id = by_name.get(function) or by_arn.get(function)
    if function_id is None:
        return
    source = resolver.resolve_text(properties.get("EventSourceArn"), f"{where}.EventSourceArn")
    if ":sqs:" not in source:
        raise TemplateError(
            f"{where}.EventSourceArn: the sandbox runs SQS event sources only, got {source!r}"
        )
    event = {key: value for key, value in properties.items() if key not in {"FunctionName", "EventSourceArn"}}
    spec = specs[function_id]
    found = _sam_sqs(resolver, logical_id, {**event, "Queue": source}, where)
    specs[function_id] = spec.model_copy(update={"sqs_sources": (*spec.sqs_sources, found)})


def _attach_raw_invoke_config(
    resolver: Resolver,
    logical_id: str,
    specs: dict[str, FunctionSpec],
    by_name: Mapping[str, str],
    by_arn: Mapping[str, str],
) -> None:
    where = f"Resources.{logical_id}.Properties"
    properties = resolver.template["Resources"][logical_id].get("Properties") or {}
    function = resolver.resolve_text(properties.get("FunctionName"), f"{where}.FunctionName")
    function_id = by_name.get(function) or by_arn.get(function)
    if function_id is None:
        return
    spec = specs[function_id]
    specs[function_id] = spec.model_copy(
        update={"invoke_config": _invoke_config(resolver, properties, where)}
    )


# --- roles, rules to other buses, bus policies -----------------------------------------------------

IAM_ROLE: Final = "AWS::IAM::Role"
EVENTS_RULE: Final = "AWS::Events::Rule"
EVENT_BUS_POLICY: Final = "AWS::Events::EventBusPolicy"


def role_arn(pseudo: Pseudo, name: str) -> str:
    return f"arn:{pseudo.partition}:iam::{pseudo.account_id}:role/{name}"


def implicit_resources(resolver: Resolver) -> dict[str, PhysicalResource]:
    """What the sandbox knows without creating anything: functions, their roles, roles and rules.

    SAM gives a function without a `Role` one named `<Function>Role`, so `!GetAtt <Function>Role.Arn`
    resolves like CloudFormation resolves it once SAM has expanded the template.
    """
    pseudo = resolver.pseudo
    found = function_resources(resolver)
    for logical_id, resource in resolver.template["Resources"].items():
        if not resolver.includes(logical_id):
            continue
        kind = resource.get("Type")
        properties = resource.get("Properties") or {}
        if kind == SERVERLESS_FUNCTION and "Role" not in function_properties(resolver.template, logical_id):
            role_id = f"{logical_id}Role"
            name = physical_name(pseudo.stack_name, role_id)
            found[role_id] = PhysicalResource(ref=name, attributes={"Arn": role_arn(pseudo, name)})
        elif kind == IAM_ROLE:
            name = (
                resolver.resolve_text(properties["RoleName"], f"Resources.{logical_id}.RoleName")
                if "RoleName" in properties
                else physical_name(pseudo.stack_name, logical_id)
            )
            found[logical_id] = PhysicalResource(ref=name, attributes={"Arn": role_arn(pseudo, name)})
        elif kind == EVENTS_RULE:
            where = f"Resources.{logical_id}.Properties"
            name = (
                resolver.resolve_text(properties["Name"], f"{where}.Name")
                if "Name" in properties
                else physical_name(pseudo.stack_name, logical_id)
            )
            arn = _rule_arn(resolver, name, _event_bus(resolver, properties, where))
            found[logical_id] = PhysicalResource(ref=name, attributes={"Arn": arn})
    return found


class BusRuleSpec(_Frozen):
    """An EventBridge rule whose target is another event bus (forwarding, typically to another account)."""

    key: str
    name: str
    arn: str
    pattern: dict[str, Any]
    enabled: bool
    event_bus: str
    target_bus_arn: str
    role_arn: str | None = None
    dead_letter_arn: str | None = None


def _is_event_bus_arn(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) == 6 and parts[2] == "events" and parts[5].startswith("event-bus/")


def read_bus_rules(resolver: Resolver) -> list[BusRuleSpec]:
    """Every included rule target that is an event bus: one spec per (rule, bus target)."""
    found: list[BusRuleSpec] = []
    for logical_id, resource in resolver.template["Resources"].items():
        if resource.get("Type") != EVENTS_RULE or not resolver.includes(logical_id):
            continue
        where = f"Resources.{logical_id}.Properties"
        properties = resource.get("Properties") or {}
        if "EventPattern" not in properties:
            continue
        bus = _event_bus(resolver, properties, where)
        name = (
            resolver.resolve_text(properties["Name"], f"{where}.Name")
            if "Name" in properties
            else physical_name(resolver.pseudo.stack_name, logical_id)
        )
        for index, target in enumerate(properties.get("Targets") or []):
            target_where = f"{where}.Targets[{index}]"
            arn = resolver.resolve_text(target.get("Arn"), f"{target_where}.Arn")
            if not _is_event_bus_arn(arn):
                continue
            role = target.get("RoleArn")
            dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
            found.append(
                BusRuleSpec(
                    key=logical_id,
                    name=name,
                    arn=_rule_arn(resolver, name, bus),
                    pattern=_pattern(
                        resolver.resolve(properties["EventPattern"], f"{where}.EventPattern"), where
                    ),
                    enabled=_enabled(resolver, properties, where),
                    event_bus=bus,
                    target_bus_arn=arn,
                    role_arn=resolver.resolve_text(role, f"{target_where}.RoleArn")
                    if role is not None
                    else None,
                    dead_letter_arn=(
                        resolver.resolve_text(dead_letter, f"{target_where}.DeadLetterConfig.Arn")
                        if dead_letter is not None
                        else None
                    ),
                )
            )
    return found


class BusPolicyStatement(_Frozen):
    """One statement of an event bus's resource policy, resolved."""

    key: str
    event_bus: str
    effect: Literal["Allow", "Deny"]
    principals: tuple[str, ...]
    """AWS principals: account ids, root or role ARNs, or `*`."""
    actions: tuple[str, ...]
    conditions: dict[str, dict[str, tuple[str, ...]]] = {}
    """operator → condition key → allowed values."""


def _texts(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(_as_text(item, where) for item in value)
    return (_as_text(value, where),)


def read_bus_policies(resolver: Resolver) -> list[BusPolicyStatement]:
    """The included `AWS::Events::EventBusPolicy` resources, in the `Statement` or the legacy form."""
    found: list[BusPolicyStatement] = []
    for logical_id, resource in resolver.template["Resources"].items():
        if resource.get("Type") != EVENT_BUS_POLICY or not resolver.includes(logical_id):
            continue
        where = f"Resources.{logical_id}.Properties"
        properties = resolver.resolve(resource.get("Properties") or {}, where)
        bus = _event_bus(resolver, properties, where)
        if "Statement" in properties:
            statement = properties["Statement"]
            principal = statement.get("Principal", {})
            principals = _texts(principal.get("AWS", []) if isinstance(principal, dict) else principal, where)
            conditions = {
                operator: {key: _texts(values, where) for key, values in keys.items()}
                for operator, keys in (statement.get("Condition") or {}).items()
            }
            found.append(
                BusPolicyStatement(
                    key=logical_id,
                    event_bus=bus,
                    effect="Deny" if statement.get("Effect") == "Deny" else "Allow",
                    principals=principals,
                    actions=_texts(statement.get("Action", "events:PutEvents"), where),
                    conditions=conditions,
                )
            )
        else:
            legacy = properties.get("Condition")
            conditions = (
                {
                    str(legacy.get("Type", "StringEquals")): {
                        str(legacy["Key"]): _texts(legacy["Value"], where)
                    }
                }
                if isinstance(legacy, dict) and "Key" in legacy
                else {}
            )
            found.append(
                BusPolicyStatement(
                    key=logical_id,
                    event_bus=bus,
                    effect="Allow",
                    principals=_texts(properties.get("Principal", []), where),
                    actions=_texts(properties.get("Action", "events:PutEvents"), where),
                    conditions=conditions,
                )
            )
    return found
