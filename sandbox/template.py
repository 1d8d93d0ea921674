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
from typing import Any, Final

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
