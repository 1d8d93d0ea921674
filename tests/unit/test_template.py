"""Reading a SAM template and resolving its intrinsics, without any AWS."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pushpilot_sandbox.sam_functions import FunctionSpec, implicit_resources, merge_globals, read_functions
from pushpilot_sandbox.template import (
    NO_VALUE,
    PhysicalResource,
    Pseudo,
    Resolver,
    TemplateError,
    load_template,
    parse_template,
    references,
)

pytestmark = pytest.mark.unit

PSEUDO = Pseudo(region="eu-west-1", account_id="111122223333", stack_name="demo")
TEST_TEMPLATE = Path(__file__).parents[1] / "data" / "router" / "template.yaml"
PROJECT_TEMPLATE = Path(__file__).parents[2] / "template.yaml"


def resolver_for(
    text: str,
    parameters: Mapping[str, str] | None = None,
    resources: Mapping[str, PhysicalResource] | None = None,
) -> Resolver:
    return Resolver(parse_template(text), parameters or {}, PSEUDO, resources or {})


MINIMAL = """
Parameters:
  Name: {Type: String, Default: web}
  Zones: {Type: CommaDelimitedList, Default: "a, b,c"}
  Size: {Type: Number, Default: 3}
Mappings:
  Sizes:
    small: {Memory: 128}
Conditions:
  IsWeb: !Equals [!Ref Name, web]
  IsNotWeb: !Not [!Condition IsWeb]
  Both: !And [!Condition IsWeb, !Equals [!Ref Size, 3]]
  Either: !Or [!Condition IsNotWeb, !Equals ["1", "2"]]
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Optional:
    Type: AWS::SQS::Queue
    Condition: IsNotWeb
"""
MINIMAL_RESOLVER = Resolver(parse_template(MINIMAL), {}, PSEUDO, {})
QUEUE = PhysicalResource(
    ref="https://sqs/q", attributes={"Arn": "arn:aws:sqs:eu-west-1:111122223333:q", "QueueName": "q"}
)


# --- loading ---------------------------------------------------------------------------------------


def test_short_tags_become_long_form() -> None:
    template = parse_template("""
AWSTemplateFormatVersion: 2010-09-09
Resources:
  Thing:
    Type: Custom::Thing
    Properties:
      A: !Ref Name
      B: !GetAtt Queue.Arn
      C: !Sub "${AWS::Region}-x"
      D: !If [Cond, !Select [0, !Split [",", "a,b"]], !Ref AWS::NoValue]
      E: !GetAtt [Queue, QueueName]
      F: !Condition Cond
      G: !Base64 text
""")

    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    properties = template["Resources"]["Thing"]["Properties"]
    assert properties == {
        "A": {"Ref": "Name"},
        "B": {"Fn::GetAtt": ["Queue", "Arn"]},
        "C": {"Fn::Sub": "${AWS::Region}-x"},
        "D": {
            "Fn::If": [
                "Cond",
                {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
                {"Ref": "AWS::NoValue"},
            ]
        },
        "E": {"Fn::GetAtt": ["Queue", "QueueName"]},
        "F": {"Condition": "Cond"},
        "G": {"Fn::Base64": "text"},
    }


@pytest.mark.parametrize("text", ["Resources: [", "Parameters: {}"])
def test_unreadable_or_resourceless_template_is_an_error(text: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(text)


# --- intrinsics ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "Name"}, "web"),
        ({"Ref": "Size"}, "3"),
        ({"Ref": "Zones"}, ["a", "b", "c"]),
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Ref": "AWS::AccountId"}, "111122223333"),
        ({"Ref": "AWS::StackName"}, "demo"),
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
        ({"Ref": "Queue"}, "https://sqs/q"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:eu-west-1:111122223333:q"),
        ({"Fn::Sub": "${Name}-${AWS::Region}-${Queue.QueueName}"}, "web-eu-west-1-q"),
        ({"Fn::Sub": "${!Literal}-${Name}"}, "${Literal}-web"),
        ({"Fn::Sub": ["${Greeting}, ${Name}", {"Greeting": "hello"}]}, "hello, web"),
        ({"Fn::Join": ["/", ["x", {"Ref": "Name"}, 3]]}, "x/web/3"),
        ({"Fn::Join": ["", {"Ref": "Zones"}]}, "abc"),
        ({"Fn::Select": ["1", {"Ref": "Zones"}]}, "b"),
        ({"Fn::Split": ["-", "a-b"]}, ["a", "b"]),
        ({"Fn::FindInMap": ["Sizes", "small", "Memory"]}, 128),
        ({"Fn::FindInMap": ["Sizes", "large", "Memory", {"DefaultValue": 64}]}, 64),
        ({"Fn::Base64": "hi"}, base64.b64encode(b"hi").decode()),
        ({"Fn::ToJsonString": {"a": [1]}}, '{"a":[1]}'),
        ({"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ({"Fn::If": ["IsWeb", "yes", "no"]}, "yes"),
        ({"Fn::If": ["IsNotWeb", "yes", "no"]}, "no"),
        ({"Fn::If": ["IsNotWeb", "yes", {"Ref": "AWS::NoValue"}]}, NO_VALUE),
    ],
)
def test_intrinsic_resolves(expression: dict[str, Any], expected: object) -> None:
    resolver = resolver_for(MINIMAL, resources={"Queue": QUEUE})

    assert resolver.resolve(expression) == expected


def test_no_value_removes_entries_from_maps_and_lists() -> None:
    resolver = resolver_for(MINIMAL)
    value = {
        "Keep": "x",
        "Drop": {"Fn::If": ["IsNotWeb", "y", {"Ref": "AWS::NoValue"}]},
        "List": ["a", {"Ref": "AWS::NoValue"}, "b"],
    }

    assert resolver.resolve(value) == {"Keep": "x", "List": ["a", "b"]}


@pytest.mark.parametrize(
    ("name", "parameters", "expected"),
    [
        ("IsWeb", {}, True),
        ("IsNotWeb", {}, False),
        ("Both", {}, True),
        ("Both", {"Size": "4"}, False),
        ("Either", {}, False),
        ("Either", {"Name": "api"}, True),
    ],
)
def test_conditions(name: str, parameters: dict[str, str], expected: bool) -> None:
    assert resolver_for(MINIMAL, parameters).condition(name) is expected


def test_resource_condition_decides_inclusion() -> None:
    resolver = resolver_for(MINIMAL)

    assert resolver.includes("Queue")
    assert not resolver.includes("Optional")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"Fn::ImportValue": "Shared"}, "Fn::ImportValue"),
        ({"Ref": "Missing"}, "Missing"),
        ({"Ref": "Queue"}, "not created"),
        ({"Ref": "Optional"}, "IsNotWeb"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "Queue"),
        ({"Fn::Select": ["5", ["a"]]}, "index 5"),
        ({"Fn::FindInMap": ["Sizes", "huge", "Memory"]}, "huge"),
        ({"Fn::If": ["NoSuchCondition", "a", "b"]}, "NoSuchCondition"),
    ],
)
def test_unresolvable_expression_names_the_problem(expression: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        resolver_for(MINIMAL).resolve(expression, "Resources.Thing.Properties.X")


def test_missing_attribute_lists_the_known_ones() -> None:
    with pytest.raises(TemplateError, match=r"no attribute 'Url'.*Arn, QueueName"):
        resolver_for(MINIMAL, resources={"Queue": QUEUE}).resolve({"Fn::GetAtt": ["Queue", "Url"]})


def test_condition_cycle_is_reported() -> None:
    text = """
Conditions:
  A: !Condition B
  B: !Not [!Condition A]
Resources: {}
"""
    with pytest.raises(TemplateError, match="A -> B -> A"):
        resolver_for(text).condition("A")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"Unknown": "x"}, "not declared"),
        ({"Name": "api", "Size": "big"}, "does not match"),
        ({"Name": "db"}, "not one of"),
    ],
)
def test_bad_parameters_are_refused(parameters: dict[str, str], message: str) -> None:
    text = """
Parameters:
  Name: {Type: String, Default: web, AllowedValues: [web, api]}
  Size: {Type: String, Default: "1", AllowedPattern: "[0-9]+"}
Resources: {}
"""
    with pytest.raises(TemplateError, match=message):
        resolver_for(text, parameters)


def test_parameter_without_default_must_be_given() -> None:
    with pytest.raises(TemplateError, match="Required"):
        resolver_for("Parameters: {Required: {Type: String}}\nResources: {}")


# No deadline: a pass/fail verdict must not depend on how busy the machine is.
@settings(deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="$"), max_size=40))
def test_sub_without_variables_is_identity(text: str) -> None:
    assert MINIMAL_RESOLVER.resolve({"Fn::Sub": text}) == text


@settings(deadline=None)
@given(st.lists(st.text(alphabet="abc-_", max_size=5), min_size=1, max_size=6))
def test_join_undoes_split(parts: list[str]) -> None:
    joined = ",".join(parts)

    assert MINIMAL_RESOLVER.resolve({"Fn::Join": [",", {"Fn::Split": [",", joined]}]}) == joined


def test_references_finds_ref_getatt_and_sub_names() -> None:
    value = {
        "A": {"Ref": "Table"},
        "B": [{"Fn::GetAtt": ["Dlq", "Arn"]}, {"Fn::GetAtt": "Topic.TopicName"}],
        "C": {"Fn::Sub": ["${Queue.Arn}/${Local}/${!Escaped}/${AWS::Region}", {"Local": "x"}]},
    }

    assert references(value) == {"Table", "Dlq", "Topic", "Queue", "AWS::Region"}


# --- SAM functions ---------------------------------------------------------------------------------


def test_globals_merge_maps_concatenate_lists_and_let_the_function_win() -> None:
    merged = merge_globals(
        {"Timeout": 3, "Layers": ["a"], "Environment": {"Variables": {"A": "1", "B": "1"}}},
        {"Timeout": 9, "Layers": ["b"], "Environment": {"Variables": {"B": "2"}}},
    )

    assert merged == {"Timeout": 9, "Layers": ["a", "b"], "Environment": {"Variables": {"A": "1", "B": "2"}}}


DATA_RESOURCE_TYPES = ("AWS::SQS::", "AWS::SNS::", "AWS::DynamoDB::", "AWS::SecretsManager::")


def functions_of(template_path: Path, parameters: Mapping[str, str] | None = None) -> dict[str, FunctionSpec]:
    template = load_template(template_path)
    fake = {
        logical_id: PhysicalResource(
            ref=f"ref-{logical_id}",
            attributes={
                "Arn": f"arn:aws:sqs:eu-west-1:111122223333:{logical_id}",
                "QueueName": logical_id,
                "TopicName": logical_id,
            },
        )
        for logical_id, resource in template["Resources"].items()
        if resource["Type"].startswith(
            ("AWS::SQS::", "AWS::SNS::", "AWS::DynamoDB::", "AWS::SecretsManager::")
        )
    }
    resolver = Resolver(template, parameters or {}, PSEUDO, fake)
    resolver = resolver.with_resources(implicit_resources(resolver))
    return {spec.logical_id: spec for spec in read_functions(resolver, template_dir=template_path.parent)}


def test_function_settings_come_from_globals_and_the_function() -> None:
    push = functions_of(TEST_TEMPLATE)["PushFunction"]

    assert push.environment["TABLE_NAME"] == "ref-Table"
    assert push.environment["SHARED"] == "own"
    assert push.environment["TIER"] == "silver"
    assert "SECRET_ARN" not in push.environment
    assert push.memory_mb == 256
    assert push.timeout_seconds == 10
    assert push.handler_file == TEST_TEMPLATE.parent / "functions" / "echo" / "app.py"
    assert push.handler_name == "handler"
    assert push.arn == f"arn:aws:lambda:eu-west-1:111122223333:function:{push.function_name}"


def test_rules_schedules_queues_and_invoke_config_are_read() -> None:
    functions = functions_of(TEST_TEMPLATE)

    push_rules = {rule.key: rule for rule in functions["PushFunction"].rules}
    assert push_rules["Push"].enabled
    assert push_rules["Push"].pattern["detail"]["repository-name"] == [{"exists": True}]
    assert not push_rules["Everything"].enabled
    (raw,) = functions["EchoFunction"].rules
    assert (raw.key, raw.enabled) == ("RawRule", False)
    flaky = functions["FlakyFunction"]
    assert [(schedule.key, schedule.input) for schedule in flaky.schedules] == [
        ("Tick", {"task": "tick"}),
        ("Plain", None),
    ]
    assert flaky.invoke_config.maximum_retry_attempts == 1
    assert flaky.invoke_config.on_failure is not None
    assert flaky.invoke_config.on_failure.arn.endswith(":FailureQueue")
    (source,) = functions["BatchFunction"].sqs_sources
    assert (source.batch_size, source.report_batch_item_failures) == (5, True)
    assert functions["BatchFunction"].invoke_config.maximum_retry_attempts == 2


def test_parameters_reach_patterns_and_conditions() -> None:
    functions = functions_of(TEST_TEMPLATE, {"RepoPrefix": "team-a/", "Stage": "prod", "SecretValue": "s"})

    push_rules = {rule.key: rule for rule in functions["PushFunction"].rules}
    assert push_rules["Push"].pattern["detail"]["repository-name"] == [{"prefix": "team-a/"}]
    assert functions["PushFunction"].environment["SECRET_ARN"] == "ref-Secret"
    assert functions["EchoFunction"].rules[0].enabled
    assert functions["EchoFunction"].memory_mb == 512


def test_unsupported_event_type_is_named() -> None:
    text = """
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/api/
      Handler: app.handler
      Events:
        Get: {Type: Api, Properties: {Path: /, Method: get}}
"""
    resolver = resolver_for(text)
    resolver = resolver.with_resources(implicit_resources(resolver))

    with pytest.raises(TemplateError, match=r"Events\.Get.*'Api'"):
        read_functions(resolver, template_dir=Path())


def test_project_template_build_phase_rule_follows_its_parameter() -> None:
    default = {rule.key: rule for rule in functions_of(PROJECT_TEMPLATE)["BuildEventsFunction"].rules}
    enabled = {
        rule.key: rule
        for rule in functions_of(PROJECT_TEMPLATE, {"BuildPhaseEvents": "true", "BuildProjects": "web,api"})[
            "BuildEventsFunction"
        ].rules
    }

    assert default["BuildState"].enabled
    assert not default["BuildPhase"].enabled
    assert default["BuildState"].pattern["detail"]["project-name"] == [{"exists": True}]
    assert enabled["BuildPhase"].enabled
    assert enabled["BuildState"].pattern["detail"]["project-name"] == ["web", "api"]


def test_project_template_functions_all_have_handlers() -> None:
    for spec in functions_of(PROJECT_TEMPLATE).values():
        assert spec.handler_file.is_file(), spec.logical_id
        assert spec.environment["TABLE_NAME"] == "ref-Table"
