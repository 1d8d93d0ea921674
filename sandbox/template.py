"""Read a SAM template and resolve its conditions and intrinsic functions offline (pure: no I/O but the read).

Hand-written because no maintained library evaluates CloudFormation intrinsics without deploying: the
template's own rules, names and settings are what the sandbox runs, so nothing is restated elsewhere.
The YAML loader is a few lines on PyYAML rather than cfn-lint's decoder, which returns its own node
types with line marks and would make cfn-lint a runtime dependency of the sandbox.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict


class TemplateError(Exception):
    """The template cannot be read or resolved; the message names the place and the reason."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()
"""What `!Ref AWS::NoValue` resolves to at the top level; inside maps and lists the entry is removed."""


# --- loading ---------------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short tags (`!Ref`, `!Sub`, ...) as their long forms."""


# CloudFormation reads `AWSTemplateFormatVersion: 2010-09-09` as text, not as a date.
CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_FUNCTION_TAGS: Final = (
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "And",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
)


def _construct_any(loader: CfnLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise TemplateError(f"unsupported YAML node {node!r}")


def _function_constructor(name: str) -> Any:
    def construct(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
        return {f"Fn::{name}": _construct_any(loader, node)}

    return construct


def _construct_ref(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Ref": _construct_any(loader, node)}


def _construct_condition(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Condition": _construct_any(loader, node)}


def _construct_get_att(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct_any(loader, node)
    if isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {"Fn::GetAtt": value}


for _tag in _FUNCTION_TAGS:
    CfnLoader.add_constructor(f"!{_tag}", _function_constructor(_tag))
CfnLoader.add_constructor("!Ref", _construct_ref)
CfnLoader.add_constructor("!Condition", _construct_condition)
CfnLoader.add_constructor("!GetAtt", _construct_get_att)


def parse_template(text: str) -> dict[str, Any]:
    try:
        document = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    except yaml.YAMLError as exc:
        raise TemplateError(f"template is not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError("template has no Resources section")
    return document


def load_template(path: Path) -> dict[str, Any]:
    return parse_template(Path(path).read_text(encoding="utf-8"))


# --- values the resolver works from ----------------------------------------------------------------


class PhysicalResource(BaseModel):
    """What a deployed resource answers to: `Ref` gives `ref`, `Fn::GetAtt X.Attr` gives `attributes`."""

    model_config = ConfigDict(frozen=True)

    ref: str
    attributes: dict[str, str] = {}


class Pseudo(BaseModel):
    """The pseudo parameters of one stack."""

    model_config = ConfigDict(frozen=True)

    region: str
    account_id: str
    stack_name: str = "pushpilot"

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def url_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"

    def values(self) -> dict[str, Any]:
        stack_uuid = hashlib.sha256(f"{self.account_id}/{self.stack_name}".encode()).hexdigest()
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/"
                f"{stack_uuid[:8]}-{stack_uuid[8:12]}-{stack_uuid[12:16]}-{stack_uuid[16:20]}-{stack_uuid[20:32]}"
            ),
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::NotificationARNs": [],
        }


def physical_name(stack_name: str, logical_id: str, *, max_length: int = 64, suffix: str = "") -> str:
    """A generated name in CloudFormation's `stack-LogicalId-RANDOM` form, stable for the same inputs."""
    digest = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()[:12].upper()
    head = f"{stack_name}-{logical_id}"[: max_length - len(digest) - len(suffix) - 1]
    return f"{head}-{digest}{suffix}"


# --- resolution ------------------------------------------------------------------------------------

_CONDITION_FUNCTIONS: Final = frozenset({"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"})
_SUB_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    if len(value) != 1:
        return False
    (key,) = value
    if key == "Condition":
        # A one-key map named Condition is an intrinsic only when it names a condition.
        return isinstance(value[key], str)
    return key == "Ref" or key.startswith("Fn::")


def _as_text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"{where}: expected a string, got {value!r}")


def _comparable(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return _as_text(value, "")
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value


def as_bool(value: Any, where: str) -> bool:
    """CloudFormation booleans arrive as YAML booleans or as the strings `true`/`false`."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise TemplateError(f"{where}: expected true or false, got {value!r}")


class Resolver:
    """Evaluate conditions and intrinsic functions against parameters, pseudo parameters and resources."""

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
        pseudo: Pseudo,
        resources: Mapping[str, PhysicalResource],
    ) -> None:
        self._template = template
        self._given_parameters = dict(parameters)
        self._parameters = _parameter_values(template, parameters)
        self._pseudo = pseudo
        self._pseudo_values = pseudo.values()
        self._resources = dict(resources)
        self._conditions: dict[str, bool] = {}
        self._evaluating: list[str] = []

    @property
    def template(self) -> Mapping[str, Any]:
        return self._template

    @property
    def pseudo(self) -> Pseudo:
        return self._pseudo

    @property
    def parameters(self) -> Mapping[str, Any]:
        return dict(self._parameters)

    @property
    def resources(self) -> Mapping[str, PhysicalResource]:
        return dict(self._resources)

    def with_resources(self, extra: Mapping[str, PhysicalResource]) -> Resolver:
        return Resolver(self._template, self._given_parameters, self._pseudo, {**self._resources, **extra})

    # conditions

    def condition(self, name: str) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        definitions = self._template.get("Conditions") or {}
        if name not in definitions:
            raise TemplateError(f"unknown condition {name!r}")
        if name in self._evaluating:
            raise TemplateError(
                f"condition {name!r} depends on itself: {' -> '.join([*self._evaluating, name])}"
            )
        self._evaluating.append(name)
        try:
            value = self._truth(definitions[name], f"Conditions.{name}")
        finally:
            self._evaluating.pop()
        self._conditions[name] = value
        return value

    def includes(self, logical_id: str) -> bool:
        """Whether the resource exists in this stack: its `Condition`, if any, holds."""
        resource = self._template["Resources"].get(logical_id)
        if resource is None:
            raise TemplateError(f"unknown resource {logical_id!r}")
        name = resource.get("Condition")
        return name is None or self.condition(name)

    def _truth(self, value: Any, where: str) -> bool:
        if not isinstance(value, Mapping) or len(value) != 1:
            raise TemplateError(f"{where}: expected a condition function, got {value!r}")
        ((key, args),) = value.items()
        if key not in _CONDITION_FUNCTIONS:
            raise TemplateError(f"{where}: {key} is not a condition function")
        return bool(self._evaluate(key, args, where))

    # intrinsics

    def resolve(self, value: Any, where: str = "template") -> Any:
        """Resolve every intrinsic in `value`; `AWS::NoValue` entries vanish (top level gives NO_VALUE)."""
        if isinstance(value, Mapping):
            if _is_intrinsic(value):
                ((key, args),) = value.items()
                return self._evaluate(key, args, where)
            resolved_map = {}
            for key, item in value.items():
                resolved = self.resolve(item, f"{where}.{key}")
                if resolved is not NO_VALUE:
                    resolved_map[key] = resolved
            return resolved_map
        if isinstance(value, list):
            resolved_items = (self.resolve(item, f"{where}[{index}]") for index, item in enumerate(value))
            return [item for item in resolved_items if item is not NO_VALUE]
        return value

    def resolve_text(self, value: Any, where: str) -> str:
        return _as_text(self.resolve(value, where), where)

    def _evaluate(self, key: str, args: Any, where: str) -> Any:
        at = f"{where}.{key}"
        match key:
            case "Ref":
                return self._ref(self.resolve_text(args, at), at)
            case "Fn::GetAtt":
                return self._get_att(args, at)
            case "Fn::Sub":
                return self._sub(args, at)
            case "Fn::If":
                condition_name, when_true, when_false = self._arguments(args, 3, at)
                chosen = when_true if self.condition(condition_name) else when_false
                return self.resolve(chosen, at)
            case "Fn::Join":
                delimiter, items = self._arguments(args, 2, at)
                parts = self.resolve(items, at)
                if not isinstance(parts, list):
                    raise TemplateError(f"{at}: expected a list to join, got {parts!r}")
                return self.resolve_text(delimiter, at).join(_as_text(part, at) for part in parts)
            case "Fn::Split":
                delimiter, source = self._arguments(args, 2, at)
                return self.resolve_text(source, at).split(self.resolve_text(delimiter, at))
            case "Fn::Select":
                index, items = self._arguments(args, 2, at)
                values = self.resolve(items, at)
                position = int(self.resolve_text(index, at))
                if not isinstance(values, list) or not 0 <= position < len(values):
                    raise TemplateError(f"{at}: index {position} is outside {values!r}")
                return values[position]
            case "Fn::FindInMap":
                return self._find_in_map(args, at)
            case "Fn::Base64":
                return base64.b64encode(self.resolve_text(args, at).encode()).decode()
            case "Fn::GetAZs":
                return [f"{self._pseudo.region}{zone}" for zone in "abc"]
            case "Fn::ToJsonString":
                return json.dumps(self.resolve(args, at), separators=(",", ":"))
            case "Fn::Length":
                values = self.resolve(args, at)
                if not isinstance(values, list):
                    raise TemplateError(f"{at}: expected a list, got {values!r}")
                return len(values)
            case "Fn::Equals":
                left, right = self._arguments(args, 2, at)
                return _comparable(self.resolve(left, at)) == _comparable(self.resolve(right, at))
            case "Fn::Not":
                (operand,) = self._arguments(args, 1, at)
                return not self._truth(operand, at)
            case "Fn::And":
                return all(self._truth(operand, at) for operand in self._arguments(args, None, at))
            case "Fn::Or":
                return any(self._truth(operand, at) for operand in self._arguments(args, None, at))
            case "Condition":
                return self.condition(self.resolve_text(args, at))
            case _:
                raise TemplateError(f"{where}: intrinsic function {key} is not supported by the sandbox")

    @staticmethod
    def _arguments(args: Any, count: int | None, where: str) -> list[Any]:
        if not isinstance(args, list) or (count is not None and len(args) != count):
            expected = "a list" if count is None else f"a list of {count}"
            raise TemplateError(f"{where}: expected {expected} arguments, got {args!r}")
        return args

    def _ref(self, name: str, where: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._parameters:
            return self._parameters[name]
        if name in self._pseudo_values:
            return self._pseudo_values[name]
        return self._resource(name, where).ref

    def _resource(self, logical_id: str, where: str) -> PhysicalResource:
        if logical_id in self._resources:
            return self._resources[logical_id]
        declared = self._template["Resources"].get(logical_id)
        if declared is None:
            raise TemplateError(f"{where}: reference to unknown name {logical_id!r}")
        if not self.includes(logical_id):
            raise TemplateError(
                f"{where}: reference to {logical_id!r}, which condition {declared['Condition']!r} leaves out"
            )
        raise TemplateError(
            f"{where}: reference to {logical_id!r} ({declared.get('Type')}), "
            "which the sandbox has not created"
        )

    def _get_att(self, args: Any, where: str) -> str:
        if isinstance(args, str):
            logical_id, _, attribute = args.partition(".")
        else:
            logical_id, attribute_value = self._arguments(args, 2, where)
            attribute = self.resolve_text(attribute_value, where)
        resource = self._resource(logical_id, where)
        if attribute not in resource.attributes:
            raise TemplateError(
                f"{where}: {logical_id} has no attribute {attribute!r} in the sandbox "
                f"(known: {', '.join(sorted(resource.attributes)) or 'none'})"
            )
        return resource.attributes[attribute]

    def _sub(self, args: Any, where: str) -> str:
        if isinstance(args, str):
            text, variables = args, {}
        else:
            text_value, variable_map = self._arguments(args, 2, where)
            text = self.resolve_text(text_value, where)
            variables = self.resolve(variable_map, where)
            if not isinstance(variables, dict):
                raise TemplateError(f"{where}: expected a map of variables, got {variables!r}")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _as_text(variables[name], f"{where}.${{{name}}}")
            if "." in name and name not in self._pseudo_values:
                return self._get_att(name, f"{where}.${{{name}}}")
            return _as_text(self._ref(name, f"{where}.${{{name}}}"), f"{where}.${{{name}}}")

        return _SUB_VARIABLE.sub(substitute, text)

    def _find_in_map(self, args: Any, where: str) -> Any:
        if not isinstance(args, list) or len(args) not in {3, 4}:
            raise TemplateError(f"{where}: expected [MapName, TopLevelKey, SecondLevelKey], got {args!r}")
        map_name, top_key, second_key = (self.resolve_text(arg, where) for arg in args[:3])
        mapping = (self._template.get("Mappings") or {}).get(map_name)
        if mapping is None:
            raise TemplateError(f"{where}: unknown mapping {map_name!r}")
        found = (mapping.get(top_key) or {}).get(second_key)
        if found is not None:
            return found
        if len(args) == 4 and isinstance(args[3], Mapping) and "DefaultValue" in args[3]:
            return self.resolve(args[3]["DefaultValue"], where)
        raise TemplateError(f"{where}: mapping {map_name!r} has no entry {top_key!r}/{second_key!r}")


def _parameter_values(template: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, Any]:
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(f"parameters not declared by the template: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given:
            raw = given[name]
        elif "Default" in spec:
            raw = _as_text(spec["Default"], f"Parameters.{name}.Default")
        else:
            raise TemplateError(f"parameter {name} has no Default and no value was given")
        allowed = spec.get("AllowedValues")
        if allowed is not None and raw not in [_as_text(choice, name) for choice in allowed]:
            raise TemplateError(f"parameter {name}={raw!r} is not one of {allowed!r}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, raw):
            raise TemplateError(f"parameter {name}={raw!r} does not match {pattern!r}")
        kind = str(spec.get("Type", "String"))
        is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
        values[name] = [item.strip() for item in raw.split(",")] if is_list else raw
    return values


def references(value: Any) -> set[str]:
    """Names a value refers to through Ref, Fn::GetAtt and Fn::Sub (parameters and pseudo included)."""
    found: set[str] = set()
    for key, args in _intrinsics(value):
        if key == "Ref" and isinstance(args, str):
            found.add(args)
        elif key == "Fn::GetAtt":
            if isinstance(args, str):
                found.add(args.partition(".")[0])
            elif isinstance(args, list) and args and isinstance(args[0], str):
                found.add(args[0])
        elif key == "Fn::Sub":
            text = args if isinstance(args, str) else args[0] if isinstance(args, list) and args else ""
            local = (
                set(args[1])
                if isinstance(args, list) and len(args) == 2 and isinstance(args[1], dict)
                else set()
            )
            if isinstance(text, str):
                for match in _SUB_VARIABLE.finditer(text):
                    name = match.group(1).strip()
                    if not name.startswith("!") and name not in local:
                        found.add(name.partition(".")[0] if not name.startswith("AWS::") else name)
    return found


def _intrinsics(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        if _is_intrinsic(value):
            ((key, args),) = value.items()
            yield key, args
        for item in value.values():
            yield from _intrinsics(item)
    elif isinstance(value, list):
        for item in value:
            yield from _intrinsics(item)


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
