"""The install check fails when the install is broken: deliberately broken copies of the expanded
template (a rule pattern, an environment variable, a handler path) are created as stacks of their own,
and a function whose import fails is run, and the same checks must refuse each."""

from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.install import checks, pipeline
from tests.install.conftest import Install
from tests.install.created import Created, read_created


def _create_broken(install: Install, name: str, expanded: dict[str, Any]) -> Created:
    with pytest.warns(
        UserWarning, match="not supported by moto's CloudFormation"
    ):  # moto names each resource type it does not create
        stack = pipeline.create_stack(name, expanded, install.main.parameters)
    return read_created(stack)


def test_a_broken_rule_pattern_fails_the_check(install: Install) -> None:
    broken = copy.deepcopy(install.main.expanded)
    broken["Resources"]["ImagePushFunctionEcrPush"]["Properties"]["EventPattern"]["detail"]["action-type"] = [
        "DELETE"
    ]

    created = _create_broken(install, "broken-pattern", broken)

    with pytest.raises(pipeline.InstallCheckError, match="ImagePushFunction rule EcrPush: pattern"):
        checks.check_rules(created)


def test_a_missing_environment_variable_fails_the_check(install: Install) -> None:
    broken = copy.deepcopy(install.main.expanded)
    del broken["Resources"]["NotifyFunction"]["Properties"]["Environment"]["Variables"]["TOPIC_ARN"]

    created = _create_broken(install, "broken-environment", broken)

    with pytest.raises(
        pipeline.InstallCheckError, match=r"NotifyFunction environment: missing \['TOPIC_ARN'\]"
    ):
        checks.check_environment(created)


def test_a_broken_handler_path_fails_the_check(install: Install) -> None:
    broken = copy.deepcopy(install.main.expanded)
    broken["Resources"]["ReconcileFunction"]["Properties"]["Handler"] = "app.handle"

    created = _create_broken(install, "broken-handler", broken)

    with pytest.raises(pipeline.InstallCheckError, match=r"ReconcileFunction: handler 'app\.handle'"):
        checks.check_handlers(created)
    function = created.functions["ReconcileFunction"]
    layer = next(path for key, path in install.artifacts.items() if key.startswith("PushpilotLayer"))
    with pytest.raises(pipeline.InstallCheckError, match="has no attribute 'handle'"):
        checks.invoke(
            "ReconcileFunction",
            install.artifacts["ReconcileFunction"],
            layer / "python",
            function.environment,
            pipeline.EVENTS / "reconcile-public-images.json",
            handler=function.handler,
        )


def test_a_broken_import_fails_the_check(install: Install, tmp_path: Path) -> None:
    code = tmp_path / "ReconcileFunction"
    shutil.copytree(install.artifacts["ReconcileFunction"], code)
    app = code / "app.py"
    app.write_text(
        app.read_text(encoding="utf-8").replace("from pushpilot", "from pushpilot.gone", 1), encoding="utf-8"
    )
    function = install.created.functions["ReconcileFunction"]
    layer = next(path for key, path in install.artifacts.items() if key.startswith("PushpilotLayer"))

    with pytest.raises(
        pipeline.InstallCheckError, match=r"ModuleNotFoundError: No module named 'pushpilot\.gone"
    ):
        checks.invoke(
            "ReconcileFunction",
            code,
            layer / "python",
            function.environment,
            pipeline.EVENTS / "reconcile-public-images.json",
            handler=function.handler,
        )


def test_an_unrefused_placeholder_fails_the_check(install: Install, tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    text = (pipeline.ROOT / "samconfig.toml").read_text(encoding="utf-8")
    samconfig.write_text(text.replace("YOUR_SLACK_CHANNEL_ID", "C0123456789"), encoding="utf-8")
    templates = {
        "template.yaml": install.main.expanded,
        "forwarder/template.yaml": install.forwarder.expanded,
    }

    with pytest.raises(pipeline.InstallCheckError, match=r"samconfig \[prod\]"):
        checks.check_samconfig(templates, samconfig)


def test_a_saved_layer_version_fails_the_check(install: Install, tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    text = (pipeline.ROOT / "samconfig.toml").read_text(encoding="utf-8")
    pinned = text.replace('SlackMode=\\"none\\"', 'SlackMode=\\"none\\" PowertoolsLayerVersion=\\"27\\"')
    assert pinned != text
    samconfig.write_text(pinned, encoding="utf-8")
    templates = {
        "template.yaml": install.main.expanded,
        "forwarder/template.yaml": install.forwarder.expanded,
    }

    with pytest.raises(pipeline.InstallCheckError, match=r"\[default\] pins PowertoolsLayerVersion"):
        checks.check_samconfig(templates, samconfig)


def test_an_action_outside_the_list_fails_the_check(install: Install) -> None:
    broken = copy.deepcopy(install.main.expanded)
    policies = broken["Resources"]["NotifyFunctionRole"]["Properties"]["Policies"]
    policies.append(
        {"PolicyName": "TooMuch", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}}
    )

    with pytest.raises(pipeline.InstallCheckError, match=r"NotifyFunctionRole may \['s3:\*'\]"):
        checks.check_template_actions(broken)


@pytest.mark.parametrize(
    ("actions", "resource"),
    [(["sqs:ReceiveMessage", "sqs:DeleteMessage"], "*"), (["sqs:*"], "arn:aws:sqs:*:123456789012:*")],
)
def test_queue_reads_beyond_the_notice_queue_fail_the_check(
    install: Install, actions: list[str], resource: str
) -> None:
    broken = copy.deepcopy(install.main.expanded)
    policies = broken["Resources"]["NotifyFunctionRole"]["Properties"]["Policies"]
    policies.append(
        {
            "PolicyName": "EveryQueue",
            "PolicyDocument": {
                "Statement": [
                    {"Sid": "EveryQueue", "Effect": "Allow", "Action": actions, "Resource": resource}
                ]
            },
        }
    )

    with pytest.raises(
        pipeline.InstallCheckError, match=r"NotifyFunctionRole EveryQueue: \['sqs:DeleteMessage'"
    ):
        checks.check_reach(broken)


def test_an_update_service_grant_beyond_ecs_clusters_fails_the_check(install: Install) -> None:
    broken = copy.deepcopy(install.main.expanded)
    policies = broken["Resources"]["EcsDeployPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    policies.append(
        {"Sid": "EveryService", "Effect": "Allow", "Action": "ecs:UpdateService", "Resource": "*"}
    )

    with pytest.raises(pipeline.InstallCheckError, match=r"EcsDeployPolicy EveryService: EcsClusters set"):
        checks.check_reach(broken)


def test_log_retention_that_is_not_applied_fails_the_check(install: Install) -> None:
    with pytest.raises(pipeline.InstallCheckError, match="retention 30, not 14"):
        checks.check_log_groups(install.created, retention_days=14)


def test_xray_access_with_tracing_off_fails_the_check(install: Install) -> None:
    with pytest.raises(pipeline.InstallCheckError, match="AWSXrayWriteOnlyAccess"):
        checks.check_managed_policies(install.traced, tracing=False)


def test_a_log_group_named_after_its_function_fails_the_check(install: Install) -> None:
    """The shape that made a first install fail: the group is created after its function."""
    broken = copy.deepcopy(install.main.expanded)
    resources = broken["Resources"]
    del resources["NotifyFunction"]["Properties"]["LoggingConfig"]
    resources["NotifyFunctionLogGroup"]["Properties"]["LogGroupName"] = {
        "Fn::Sub": "/aws/lambda/${NotifyFunction}"
    }
    created = dataclasses.replace(install.created, stack=dataclasses.replace(install.main, expanded=broken))

    with pytest.raises(pipeline.InstallCheckError, match="NotifyFunction: LoggingConfig"):
        checks.check_log_groups(created, retention_days=30)
    resources["NotifyFunction"]["Properties"]["LoggingConfig"] = {
        "LogGroup": {"Ref": "NotifyFunctionLogGroup"}
    }
    with pytest.raises(pipeline.InstallCheckError, match="refers to the function"):
        checks.check_log_groups(created, retention_days=30)


def test_slack_rejections_without_an_alarm_fail_the_check(install: Install) -> None:
    broken = copy.deepcopy(install.main.expanded)
    del broken["Resources"]["SlackRejectionAlarm"]

    with pytest.raises(pipeline.InstallCheckError, match="Slack rejections: no alarm"):
        checks.check_alarms(broken)


def test_an_environment_without_its_own_s3_prefix_fails_the_check(install: Install, tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    text = (pipeline.ROOT / "samconfig.toml").read_text(encoding="utf-8")
    shared = text.replace('s3_prefix = "pushpilot-prod"\n', "")
    assert shared != text
    samconfig.write_text(shared, encoding="utf-8")
    templates = {
        "template.yaml": install.main.expanded,
        "forwarder/template.yaml": install.forwarder.expanded,
    }

    with pytest.raises(pipeline.InstallCheckError, match=r"samconfig \[prod\]: s3_prefix None"):
        checks.check_samconfig(templates, samconfig)
