"""The install check's assertions: each compares what was created (or, where moto creates nothing, the
expanded template CloudFormation would receive) with the README's promises, and raises
InstallCheckError naming the difference."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.install import promises
from tests.install.created import Created
from tests.install.pipeline import ACCOUNT_ID, ROOT, InstallCheckError, Stack, resolver

LAMBDA_PYTHON = ROOT / ".venv-lambda" / "bin" / "python"
POWERTOOLS_LAYER = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64"


def _fail_unless(condition: bool, message: str) -> None:
    if not condition:
        raise InstallCheckError(message)


def _arn_of_queue(created: Created, logical_id: str) -> str:
    return created.queues[logical_id]["QueueArn"]


# --- created resources ------------------------------------------------------------------------------


def check_rules(created: Created) -> None:
    """Every promised rule exists with its pattern or schedule, targets its function, retries and
    dead-letters; no function has a rule that was not promised."""
    dead_letters = _arn_of_queue(created, "EventDeliveryDeadLetterQueue")
    promised_ids = {f"{fn}{event}" for fn, events in promises.RULES.items() for event in events}
    targeted = {
        rule.logical_id
        for rule in created.rules.values()
        if any(target["Arn"] in {f.arn for f in created.functions.values()} for target in rule.targets)
    }
    _fail_unless(
        targeted <= promised_ids, f"rules the README does not promise: {sorted(targeted - promised_ids)}"
    )
    for function_id, events in promises.RULES.items():
        function = created.functions[function_id]
        for event_name, promise in events.items():
            rule = created.rules.get(f"{function_id}{event_name}")
            where = f"{function_id} rule {event_name}"
            _fail_unless(rule is not None, f"{where}: not created")
            assert rule is not None
            _fail_unless(
                rule.pattern == promise.get("pattern"),
                f"{where}: pattern {rule.pattern} != {promise.get('pattern')}",
            )
            _fail_unless(
                rule.schedule == promise.get("schedule"),
                f"{where}: schedule {rule.schedule} != {promise.get('schedule')}",
            )
            _fail_unless(rule.state == promise.get("state", "ENABLED"), f"{where}: state {rule.state}")
            _fail_unless(len(rule.targets) == 1, f"{where}: {len(rule.targets)} targets")
            [target] = rule.targets
            _fail_unless(
                target["Arn"] == function.arn, f"{where}: targets {target['Arn']}, not {function.arn}"
            )
            _fail_unless(
                target.get("RetryPolicy") == promises.TARGET_RETRY,
                f"{where}: retry policy {target.get('RetryPolicy')}",
            )
            _fail_unless(
                target.get("DeadLetterConfig", {}).get("Arn") == dead_letters,
                f"{where}: dead-letter queue {target.get('DeadLetterConfig')} != {dead_letters}",
            )
            if "input" in promise:
                _fail_unless(
                    json.loads(target.get("Input", "null")) == promise["input"],
                    f"{where}: input {target.get('Input')}",
                )


def check_environment(created: Created) -> None:
    """Each function gets exactly the promised variables, the resource ones naming this stack's resources."""
    stack = created.stack
    resources = {
        "TABLE_NAME": stack.physical["Table"],
        "NOTICE_QUEUE_URL": stack.physical["NoticeQueue"],
        "TOPIC_ARN": stack.physical["NotificationTopic"],
    }
    for function_id, names in promises.ENVIRONMENT.items():
        environment = created.functions[function_id].environment
        missing, extra = names - environment.keys(), environment.keys() - names
        _fail_unless(
            not missing and not extra,
            f"{function_id} environment: missing {sorted(missing)}, unexpected {sorted(extra)}",
        )
        for name, value in resources.items():
            if name in environment:
                _fail_unless(
                    environment[name] == value,
                    f"{function_id} {name}={environment[name]!r}, expected {value!r}",
                )


def check_handlers(created: Created) -> None:
    for function_id in promises.FUNCTIONS:
        handler = created.functions[function_id].handler
        _fail_unless(handler == "app.handler", f"{function_id}: handler {handler!r}")


def check_queues(created: Created) -> None:
    """The notice queue redrives to its dead-letter queue and outlasts six function timeouts."""
    notice = created.queues["NoticeQueue"]
    redrive = json.loads(notice.get("RedrivePolicy", "{}"))
    _fail_unless(
        redrive.get("deadLetterTargetArn") == _arn_of_queue(created, "NoticeDeadLetterQueue"),
        f"notice queue redrive: {redrive}",
    )
    _fail_unless(int(redrive.get("maxReceiveCount", 0)) == 5, f"notice queue maxReceiveCount: {redrive}")
    notify = created.functions["NotifyFunction"]
    visibility = int(notice["VisibilityTimeout"])
    _fail_unless(
        visibility >= 6 * notify.timeout, f"notice queue visibility {visibility}s < 6 x {notify.timeout}s"
    )
    [mapping] = [m for m in created.event_source_mappings if m["FunctionArn"] == notify.arn]
    _fail_unless(mapping["EventSourceArn"] == notice["QueueArn"], f"notify reads {mapping['EventSourceArn']}")
    _fail_unless(
        mapping.get("FunctionResponseTypes") == ["ReportBatchItemFailures"],
        "notify must report batch item failures",
    )
    for queue in promises.DEAD_LETTER_QUEUES:
        _fail_unless(
            int(created.queues[queue]["MessageRetentionPeriod"]) == 1209600, f"{queue}: not kept 14 days"
        )


def check_log_groups(created: Created, retention_days: int) -> None:
    """Each function logs to its own group, which the stack creates before the function: the function's
    LoggingConfig names the group's resource (CloudFormation orders by that reference), and the group's
    name does not depend on the function's (a group named after the function would be created after it,
    and an event arriving in between makes Lambda create it first: the install then fails with
    "already exists")."""
    resources = created.stack.expanded["Resources"]
    for function_id in promises.FUNCTIONS:
        group_id = f"{function_id}LogGroup"
        logging = resources[function_id]["Properties"].get("LoggingConfig", {})
        _fail_unless(
            logging.get("LogGroup") == {"Ref": group_id},
            f"{function_id}: LoggingConfig {logging} does not name {group_id}",
        )
        group_name = resources[group_id]["Properties"]["LogGroupName"]
        spelled = json.dumps(group_name)
        _fail_unless(
            f"${{{function_id}}}" not in spelled and json.dumps({"Ref": function_id}) not in spelled,
            f"{group_id}: its name {group_name} refers to the function, so it comes after it",
        )
        name = f"/aws/lambda/{created.stack.name}-{function_id}"
        _fail_unless(name in created.log_groups, f"{function_id}: no log group {name}")
        _fail_unless(
            created.log_groups[name] == retention_days,
            f"{name}: retention {created.log_groups[name]}, not {retention_days}",
        )


def check_role_actions(created: Created) -> None:
    for role, actions in created.role_actions.items():
        if not role.startswith(f"{created.stack.name}-") or "Function" not in role:
            continue
        outside = sorted(actions - promises.ALLOWED_ACTIONS)
        _fail_unless(not outside, f"{role} may {outside}: not in the least-privilege list")


# --- the expanded template, where moto creates nothing ---------------------------------------------


def _resources(expanded: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in expanded["Resources"].items() if value["Type"] == kind}


def check_layers(stack: Stack) -> None:
    """moto drops layers: each function must name the stack's layer and the pinned Powertools layer."""
    expanded = stack.expanded
    pinned = expanded["Mappings"]["PowertoolsLayer"]["Pinned"]["Version"]
    conditions = resolver(expanded, stack.parameters, stack.name)
    for function_id in promises.FUNCTIONS:
        layers = expanded["Resources"][function_id]["Properties"].get("Layers", [])
        _fail_unless(len(layers) == 2, f"{function_id}: layers {layers}")
        own, powertools = layers
        _fail_unless(
            isinstance(own, dict)
            and expanded["Resources"].get(own.get("Ref", ""), {}).get("Type") == "AWS::Lambda::LayerVersion",
            f"{function_id}: first layer {own} is not the stack's layer",
        )
        arn = conditions.resolve(powertools)
        expected = f"{POWERTOOLS_LAYER}:{pinned}"
        _fail_unless(arn == expected, f"{function_id}: Powertools layer {arn}, expected {expected}")


def check_invoke_configs(expanded: Mapping[str, Any]) -> None:
    """moto skips EventInvokeConfig: asynchronously invoked functions keep what they fail on."""
    configs = {
        config["Properties"]["FunctionName"]["Ref"]: config["Properties"]
        for config in _resources(expanded, "AWS::Lambda::EventInvokeConfig").values()
    }
    for function_id in promises.ASYNC_FUNCTIONS:
        config = configs.get(function_id)
        _fail_unless(config is not None, f"{function_id}: no EventInvokeConfig")
        assert config is not None
        _fail_unless(
            config["MaximumRetryAttempts"] <= 2, f"{function_id}: {config['MaximumRetryAttempts']} retries"
        )
        _fail_unless(
            config.get("MaximumEventAgeInSeconds") is not None, f"{function_id}: unbounded event age"
        )
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        _fail_unless(
            destination == {"Fn::GetAtt": [promises.INVOKE_CONFIG_TARGET, "Arn"]},
            f"{function_id}: on-failure destination {destination}",
        )


def check_alarms(expanded: Mapping[str, Any]) -> None:
    """moto skips alarms: each dead-letter queue has one that notifies the topic, and so do Slack
    rejections (the notify function's SlackRejected metric, this stack's only)."""
    alarms = _resources(expanded, "AWS::CloudWatch::Alarm")
    watched = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: alarm["Properties"]
        for alarm in alarms.values()
        if alarm["Properties"]["Namespace"] == "AWS/SQS"
    }
    environment = expanded["Resources"]["NotifyFunction"]["Properties"]["Environment"]["Variables"]
    slack = [
        alarm
        for alarm in alarms.values()
        if alarm["Properties"]["MetricName"] == promises.SLACK_REJECTED_METRIC
        and alarm["Properties"]["Namespace"] == environment["POWERTOOLS_METRICS_NAMESPACE"]
        and alarm["Properties"]["Dimensions"]
        == [{"Name": "service", "Value": environment["POWERTOOLS_SERVICE_NAME"]}]
        and alarm["Properties"]["AlarmActions"] == [{"Ref": "NotificationTopic"}]
    ]
    _fail_unless(len(slack) == 1, "Slack rejections: no alarm on this stack's SlackRejected metric")
    for queue in promises.DEAD_LETTER_QUEUES:
        alarm = watched.get(queue)
        _fail_unless(alarm is not None, f"{queue}: no alarm")
        assert alarm is not None
        _fail_unless(
            alarm["AlarmActions"] == [{"Ref": "NotificationTopic"}],
            f"{queue} alarm notifies {alarm['AlarmActions']}",
        )
        _fail_unless(
            alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold",
            f"{queue}: alarm threshold",
        )


def managed_policies(expanded: Mapping[str, Any]) -> set[str]:
    """moto attaches no managed policies: the names on the function roles (AWS's, or the stack's own by
    logical id)."""
    names: set[str] = set()
    for role in _resources(expanded, "AWS::IAM::Role").values():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            names |= _policy_names(arn)
    return names


def _policy_names(arn: Any) -> set[str]:
    """The policy an ARN names; for a conditional one (Fn::If), each branch's, AWS::NoValue naming none."""
    if isinstance(arn, dict) and "Fn::If" in arn:
        _, chosen, other = arn["Fn::If"]
        return _policy_names(chosen) | _policy_names(other)
    if isinstance(arn, dict) and "Ref" in arn:
        return set() if arn["Ref"] == "AWS::NoValue" else {arn["Ref"]}
    text = arn["Fn::Sub"] if isinstance(arn, dict) else arn
    return {text.rsplit("/", 1)[-1]}


def check_managed_policies(expanded: Mapping[str, Any], *, tracing: bool) -> None:
    names = managed_policies(expanded)
    allowed = (
        promises.ALLOWED_MANAGED_POLICIES
        | promises.STACK_MANAGED_POLICIES
        | ({promises.TRACING_POLICY} if tracing else set())
    )
    _fail_unless(names <= allowed, f"managed policies outside the list: {sorted(names - allowed)}")
    _fail_unless(
        (promises.TRACING_POLICY in names) == tracing,
        f"X-Ray write access {'missing' if tracing else 'granted'} with tracing {'on' if tracing else 'off'}",
    )


def _statement_actions(value: Any) -> set[str]:
    """Every action any statement may allow, whichever way its conditions (Fn::If) turn out."""
    if isinstance(value, list):
        return set().union(*(_statement_actions(item) for item in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, item in value.items():
        if key == "Action":
            found.update([item] if isinstance(item, str) else item)
        else:
            found |= _statement_actions(item)
    return found


def check_template_actions(expanded: Mapping[str, Any]) -> None:
    """The least-privilege list holds for every statement, also those a parameter switches on (Slack)."""
    for role_id, role in _resources(expanded, "AWS::IAM::Role").items():
        if not role_id.endswith("FunctionRole"):
            continue
        outside = sorted(
            _statement_actions(role["Properties"].get("Policies", [])) - promises.ALLOWED_ACTIONS
        )
        _fail_unless(not outside, f"{role_id} may {outside}: not in the least-privilege list")
    for policy_id, policy in _resources(expanded, "AWS::IAM::ManagedPolicy").items():
        document = policy["Properties"]["PolicyDocument"]
        outside = sorted(_statement_actions(document) - promises.ALLOWED_ACTIONS)
        _fail_unless(not outside, f"{policy_id} may {outside}: not in the least-privilege list")


def _stand_ins(value: Any, expanded: Mapping[str, Any]) -> Any:
    """The stack's own resources named by their logical id (`<NoticeQueue.Arn>`): nothing is created
    for this check, and what matters is only that they are not a wildcard."""
    if isinstance(value, list):
        return [_stand_ins(item, expanded) for item in value]
    if not isinstance(value, dict):
        return value
    if list(value) == ["Fn::GetAtt"]:
        target = value["Fn::GetAtt"]
        return f"<{'.'.join(target) if isinstance(target, list) else target}>"
    if list(value) == ["Ref"] and value["Ref"] in expanded["Resources"]:
        return f"<{value['Ref']}>"
    return {key: _stand_ins(item, expanded) for key, item in value.items()}


def _role_statements(
    expanded: Mapping[str, Any], parameters: Mapping[str, str]
) -> list[tuple[str, dict[str, Any]]]:
    """(where, statement) of every function role's inline policies and the stack's managed policies,
    resolved for these parameters as CloudFormation would."""
    conditions = resolver(expanded, parameters, "pushpilot")
    documents: list[tuple[str, Any]] = []
    for role_id, role in _resources(expanded, "AWS::IAM::Role").items():
        if role_id.endswith("FunctionRole"):
            # A role's policies may be switched by a condition (Fn::If): resolve the list first.
            policies = conditions.resolve(
                _stand_ins(role["Properties"].get("Policies", []), expanded), role_id
            )
            documents.extend(
                (role_id, policy["PolicyDocument"])
                for policy in policies
                if isinstance(policy, Mapping) and "PolicyDocument" in policy
            )
    documents.extend(
        (policy_id, policy["Properties"]["PolicyDocument"])
        for policy_id, policy in _resources(expanded, "AWS::IAM::ManagedPolicy").items()
    )
    found: list[tuple[str, dict[str, Any]]] = []
    for where, document in documents:
        resolved = conditions.resolve(_stand_ins(document, expanded), where)
        if not isinstance(resolved, Mapping):
            continue
        listed = resolved.get("Statement", [])
        found.extend(
            (where, dict(statement))
            for statement in ([listed] if isinstance(listed, Mapping) else listed)
            if isinstance(statement, Mapping)
        )
    return found


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def check_reach(expanded: Mapping[str, Any]) -> None:
    """EcsClusters, EcsTaskRolePattern and the notice queue bound what the roles may touch."""
    scoped = {"EcsClusters": promises.SAMPLE_ECS_CLUSTERS}
    for where, statement in _role_statements(expanded, scoped):
        actions = set(_listed(statement.get("Action", [])))
        if actions & promises.CLUSTER_SCOPED_ACTIONS:
            resources = set(_listed(statement.get("Resource", [])))
            _fail_unless(
                resources >= promises.CLUSTER_SCOPED_RESOURCES,
                f"{where} {statement.get('Sid')}: EcsClusters set, yet resources {sorted(resources)}",
            )
            _fail_unless(
                not any(item.endswith((":service/*", ":*")) or item == "*" for item in resources),
                f"{where} {statement.get('Sid')}: EcsClusters set, yet every service: {sorted(resources)}",
            )
            condition = statement.get("Condition", {}).get("StringEquals", {})
            _fail_unless(
                condition.get("aws:ResourceAccount") == ACCOUNT_ID and condition.get("aws:RequestedRegion"),
                f"{where} {statement.get('Sid')}: cluster patterns not pinned to the account and Region",
            )
        if "ecs:TagResource" in actions:
            _fail_unless(
                statement.get("Condition", {}).get("StringEquals", {}).get("ecs:CreateAction")
                == "RegisterTaskDefinition",
                f"{where} {statement.get('Sid')}: ecs:TagResource beyond the revisions pushpilot registers",
            )
    for parameters in ({}, scoped):
        for where, statement in _role_statements(expanded, parameters):
            actions = set(_listed(statement.get("Action", [])))
            resources = _listed(statement.get("Resource", []))
            # `sqs:*` or `sqs:Receive*` grants them as well; a wildcard anywhere in a queue ARN reaches
            # other queues than the stack's own (which stand in as `<NoticeQueue.Arn>`).
            reads = sorted(
                wanted
                for wanted in promises.QUEUE_READ_ACTIONS
                if any(fnmatch.fnmatchcase(wanted, action) for action in actions)
            )
            _fail_unless(
                not (reads and any("*" in resource for resource in resources)),
                f"{where} {statement.get('Sid')}: {reads} on {sorted(resources)}",
            )
            if promises.PASS_ROLE_DEFAULT == "none":
                _fail_unless(
                    "iam:PassRole" not in actions,
                    f"{where} {statement.get('Sid')}: iam:PassRole without EcsTaskRolePattern",
                )
    _check_dns_zone_reach(expanded)
    passing = [
        statement
        for _, statement in _role_statements(expanded, {"EcsTaskRolePattern": "shop-*"})
        if "iam:PassRole" in _listed(statement.get("Action", []))
    ]
    _fail_unless(len(passing) == 1, f"EcsTaskRolePattern=shop-*: {len(passing)} PassRole statements")
    [statement] = passing
    _fail_unless(
        statement.get("Resource") == f"arn:aws:iam::{ACCOUNT_ID}:role/shop-*"
        and statement.get("Condition")
        == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        f"EcsTaskRolePattern=shop-*: PassRole {statement}",
    )


def _check_dns_zone_reach(expanded: Mapping[str, Any]) -> None:
    """No Route 53 write with DnsZoneIds empty (IAM cannot tell a private zone from a public one); with
    zones listed, ChangeResourceRecordSets on exactly those zones."""
    for where, statement in _role_statements(expanded, {}):
        writes = set(_listed(statement.get("Action", []))) & promises.DNS_WRITE_ACTIONS
        _fail_unless(not writes, f"{where} {statement.get('Sid')}: DnsZoneIds empty, yet {sorted(writes)}")
    listed = {
        f"arn:aws:route53:::hostedzone/{zone_id.rsplit('/', 1)[-1]}"
        for zone_id in promises.SAMPLE_DNS_ZONE_IDS.split(",")
    }
    writers = 0
    for where, statement in _role_statements(expanded, {"DnsZoneIds": promises.SAMPLE_DNS_ZONE_IDS}):
        if "route53:ChangeResourceRecordSets" in _listed(statement.get("Action", [])):
            writers += 1
            resources = set(_listed(statement.get("Resource", [])))
            _fail_unless(
                resources == listed,
                f"{where} {statement.get('Sid')}: DnsZoneIds set, yet writes on {sorted(resources)}",
            )
    _fail_unless(writers > 0, "DnsZoneIds set, yet no role may write the listed zones")


def check_bus_policy_ids(expanded: Mapping[str, Any]) -> None:
    """Two stacks in one account (dry run and production) must not share default-bus statement ids."""
    parameters = {"EventSourceAccounts": "111111111111", "EventSourceOrganizationId": "o-abcdefghij"}
    ids: dict[str, set[str]] = {}
    for stack_name in ("pushpilot", "pushpilot-prod"):
        conditions = resolver(expanded, parameters, stack_name)
        ids[stack_name] = {
            conditions.resolve(policy["Properties"]["StatementId"])
            for policy in _resources(expanded, "AWS::Events::EventBusPolicy").values()
        }
        _fail_unless(len(ids[stack_name]) == 2, f"{stack_name}: statement ids {ids[stack_name]}")
        _fail_unless(
            all(len(sid) <= 64 for sid in ids[stack_name]), f"statement ids too long: {ids[stack_name]}"
        )
    _fail_unless(not ids["pushpilot"] & ids["pushpilot-prod"], f"shared statement ids: {ids}")


# --- parameters: samconfig.toml and the Rules section ---------------------------------------------


def parse_overrides(text: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', text))


def refusals(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, str]:
    """What CloudFormation would refuse in these parameter values: unknown names, patterns, allowed values,
    then the template's Rules. Hand-written: CloudFormation validates them, moto does not."""
    declared = template["Parameters"]
    refused: dict[str, str] = {}
    for name, value in values.items():
        spec = declared.get(name)
        if spec is None:
            refused[name] = "not a parameter of the template"
        elif "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            refused[name] = f"does not match {spec['AllowedPattern']}"
        elif "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            refused[name] = f"not one of {spec['AllowedValues']}"
    if refused:
        return refused
    conditions = resolver(template, values, "pushpilot")
    for rule_name, rule in (template.get("Rules") or {}).items():
        if "RuleCondition" in rule and not conditions.resolve(rule["RuleCondition"]):
            continue
        for assertion in rule["Assertions"]:
            if not conditions.resolve(assertion["Assert"]):
                refused[rule_name] = " ".join(assertion["AssertDescription"].split())
    return refused


def check_samconfig(templates: Mapping[str, Mapping[str, Any]], samconfig: Path) -> None:
    """Every environment's values are accepted, except the placeholders it must be refused with."""
    config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    for environment, commands in config.items():
        if not isinstance(commands, dict) or "deploy" not in commands:
            continue
        deploy = commands["deploy"]["parameters"]
        template = templates[deploy.get("template_file", "template.yaml")]
        values = parse_overrides(deploy.get("parameter_overrides", ""))
        _fail_unless(
            not values.get("PowertoolsLayerVersion"),
            f"samconfig [{environment}] pins PowertoolsLayerVersion: upgrades would keep the old layer",
        )
        # One prefix per environment: two stacks sharing SAM's managed bucket never share an artifact, so
        # `sam delete` of one cannot delete code the other runs.
        stack_name = deploy.get("stack_name") or config["default"]["global"]["parameters"]["stack_name"]
        _fail_unless(
            deploy.get("s3_prefix") == stack_name,
            f"samconfig [{environment}]: s3_prefix {deploy.get('s3_prefix')!r} is not its stack name",
        )
        refused = refusals(template, values)
        expected = promises.PLACEHOLDERS.get(environment, frozenset())
        _fail_unless(
            set(refused) == expected,
            f"samconfig [{environment}]: refused {refused}; its placeholders: {sorted(expected)}",
        )


# --- the functions, run as Lambda would --------------------------------------------------------------


def invoke(
    function_id: str,
    code_dir: Path,
    layer_dir: Path,
    environment: Mapping[str, str],
    event: Path,
    *,
    handler: str,
) -> Any:
    """Import and call the handler in the Lambda-like interpreter; only endpoint settings point it at moto."""
    endpoint_only = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    done = subprocess.run(  # noqa: S603 - the project's own interpreter and runner
        [
            str(LAMBDA_PYTHON),
            "-I",
            str(ROOT / "tests" / "install" / "lambda_runner.py"),
            str(code_dir),
            str(layer_dir),
            handler,
            str(event),
        ],
        env={
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            **endpoint_only,
            **environment,
            "AWS_LAMBDA_FUNCTION_NAME": function_id,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise InstallCheckError(f"{function_id} ({handler}) failed:\n{done.stderr[-4000:]}")
    last = done.stdout.strip().splitlines()[-1]
    return json.loads(last)["result"]
