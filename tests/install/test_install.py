"""`make install-check`: the packaged stacks, created in moto's CloudFormation, are what the README
promises, and every function imports and answers an event in a Lambda-like interpreter."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.install import checks, pipeline, promises
from tests.install.conftest import SAMPLE_BUS, Install

EVENTS = pipeline.EVENTS


def test_expanded_templates_pass_cfn_lint_with_informational_rules(install: Install) -> None:
    pipeline.lint(install.expanded_path, install.forwarder_path)


def test_rules_match_patterns_targets_retries_and_dead_letters(install: Install) -> None:
    checks.check_rules(install.created)


def test_functions_get_the_promised_environment(install: Install) -> None:
    checks.check_environment(install.created)
    checks.check_handlers(install.created)


def test_notice_queue_redrive_visibility_and_dead_letter_retention(install: Install) -> None:
    checks.check_queues(install.created)


def test_log_groups_apply_log_retention_days(install: Install) -> None:
    checks.check_log_groups(install.created, retention_days=30)


def test_function_roles_stay_within_the_least_privilege_list(install: Install) -> None:
    checks.check_role_actions(install.created)
    checks.check_template_actions(install.main.expanded)
    checks.check_managed_policies(install.main.expanded, tracing=False)


def test_reach_cluster_scoped_ecs_no_queue_wildcard_no_default_pass_role(install: Install) -> None:
    checks.check_reach(install.main.expanded)


def test_xray_write_access_only_when_tracing_is_on(install: Install) -> None:
    checks.check_managed_policies(install.traced, tracing=True)


def test_layers_name_the_stack_layer_and_the_pinned_powertools(install: Install) -> None:
    checks.check_layers(install.main)


def test_async_functions_keep_what_they_fail_on(install: Install) -> None:
    checks.check_invoke_configs(install.main.expanded)


def test_every_dead_letter_queue_has_an_alarm(install: Install) -> None:
    checks.check_alarms(install.main.expanded)


def test_default_bus_statement_ids_are_per_stack(install: Install) -> None:
    checks.check_bus_policy_ids(install.main.expanded)


def test_samconfig_environments_are_accepted_except_their_placeholders(install: Install) -> None:
    templates = {
        "template.yaml": install.main.expanded,
        "forwarder/template.yaml": install.forwarder.expanded,
    }
    checks.check_samconfig(templates, pipeline.ROOT / "samconfig.toml")


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ({"SlackMode": "bot"}, {"SlackModeNeedsASecret"}),
        ({"SlackMode": "webhook", "SlackSecretId": "", "SlackParameterName": ""}, {"SlackModeNeedsASecret"}),
        (
            {
                "SlackMode": "bot",
                "SlackSecretId": "pushpilot/slack",
                "SlackParameterName": "/pushpilot/slack",
            },
            {"SlackModeNeedsASecret"},
        ),
        ({"SlackMode": "bot", "SlackSecretId": "pushpilot/slack", "SlackChannel": "C0123456789"}, set()),
        ({"SlackMode": "webhook", "SlackParameterName": "/pushpilot/slack"}, set()),
        ({"SlackMode": "none"}, set()),
    ],
)
def test_slack_mode_is_refused_without_its_secret(
    install: Install, values: dict[str, str], refused: set[str]
) -> None:
    assert set(checks.refusals(install.main.expanded, values)) == refused


def test_forwarder_rule_forwards_pushes_with_retries_and_dead_letters(install: Install) -> None:
    events = boto3.client("events")
    rule = events.describe_rule(Name=install.forwarder.physical["ForwardEcrPushes"])
    [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert json.loads(rule["EventPattern"]) == promises.RULES["ImagePushFunction"]["EcrPush"]["pattern"]
    assert target["Arn"] == SAMPLE_BUS
    assert target["RetryPolicy"] == promises.TARGET_RETRY
    assert target["DeadLetterConfig"]["Arn"].endswith(
        install.forwarder.physical["ForwardingDeadLetterQueue"].rsplit("/", 1)[-1]
    )
    assert target["RoleArn"].endswith(install.forwarder.physical["ForwarderRole"])


def test_lambda_interpreter_holds_the_runtime_boto3_and_the_pinned_powertools_only(install: Install) -> None:
    listed = subprocess.run(  # noqa: S603 - the check's own interpreter
        [str(checks.LAMBDA_PYTHON), "-I", "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pinned = install.main.expanded["Mappings"]["PowertoolsLayer"]["Pinned"]["Release"]
    assert f"aws_lambda_powertools=={pinned}" in listed.replace("-", "_")
    assert "slack_sdk" not in listed.replace("-", "_")  # bundled with the functions that use it only
    assert "pushpilot" not in listed


def _invoke(install: Install, function_id: str, event: Path, **settings: str) -> Any:
    function = install.created.functions[function_id]
    layer = next(path for key, path in install.artifacts.items() if key.startswith("PushpilotLayer"))
    return checks.invoke(
        function_id,
        install.artifacts[function_id],
        layer / "python",
        {**function.environment, **settings},
        event,
        handler=function.handler,
    )


def test_image_push_handler_looks_the_image_up_in_the_created_table(install: Install) -> None:
    result = _invoke(install, "ImagePushFunction", EVENTS / "ecr-image-push.json")

    # The service index (the created, empty table) was read: no service runs the pushed image. It was
    # never filled (moto has no App Runner, so the stack-creation fill failed): the push tried to discover
    # first, and says why it could not.
    assert result["status"] == "ignored"
    assert result["detail"]["reason"].startswith(
        "no service runs 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest (the index was never"
        " filled and discovering services failed: apprunner ListServices on the account"
    )


def test_ecs_events_handler_looks_the_service_up_in_ecs_and_the_created_table(install: Install) -> None:
    boto3.client("ecs").create_cluster(clusterName="shop")  # the service itself does not exist

    result = _invoke(install, "EcsEventsFunction", EVENTS / "ecs-deployment-completed.json")

    # The service is in neither the index nor ECS: a skip of a deleted service, not an error.
    assert result["status"] == "ignored"
    assert result["detail"]["skip"] == "EventsForDeletedServices"
    assert result["detail"]["reason"].endswith("service/shop/web does not exist")


def test_apprunner_events_handler_looks_the_service_up_in_the_created_table(install: Install) -> None:
    result = _invoke(
        install, "AppRunnerEventsFunction", EVENTS / "apprunner-operation-status-update-succeeded.json"
    )

    assert result["status"] == "ignored"
    assert result["detail"]["reason"] == "service web is not in the index"


def test_build_events_handler_queues_a_notice_on_the_created_queue(install: Install) -> None:
    result = _invoke(install, "BuildEventsFunction", EVENTS / "codebuild-build-succeeded.json")

    assert result["status"] == "handled"
    assert result["detail"]["notice_kind"] == "build_succeeded"
    sqs = boto3.client("sqs")
    queued = sqs.receive_message(QueueUrl=_queue_url(install, "NoticeQueue"), MaxNumberOfMessages=10)[
        "Messages"
    ]
    assert [json.loads(message["Body"])["kind"] for message in queued] == ["build_succeeded"]


def test_reconcile_handler_runs_a_scheduled_task(install: Install) -> None:
    result = _invoke(install, "ReconcileFunction", EVENTS / "reconcile-public-images.json")

    assert result["status"] == "handled"
    assert result["detail"]["checked"] == 0
    assert result["detail"]["errors"] == []


def test_the_stack_creation_fill_answers_cloudformation_and_completes_the_stack(install: Install) -> None:
    answer = install.custom_answers["ServiceIndexFill"]

    # moto executes a change set (as `sam deploy` creates the stack) without waiting for custom resources,
    # so the stack is complete before the answer; the sandbox's stories show a stack that waits for it.
    assert install.status_after_answers == "CREATE_COMPLETE"
    assert answer["status"] == "handled"
    assert answer["detail"]["answered"] is True
    # moto has no App Runner: the fill fails, and CloudFormation was answered SUCCESS all the same.
    assert answer["detail"]["filled"] is False


def _queue_url(install: Install, logical_id: str) -> str:
    name = install.main.physical[logical_id].rsplit("/", 1)[-1]
    return str(boto3.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def test_notify_handler_publishes_a_notice_to_the_created_topic(install: Install) -> None:
    reader = _topic_reader(install, "install-check-topic-reader")

    result = _invoke(install, "NotifyFunction", EVENTS / "notify-notice-live.json")

    assert result == {"batchItemFailures": []}
    [message] = boto3.client("sqs").receive_message(QueueUrl=reader, MaxNumberOfMessages=10)["Messages"]
    assert "Live on checkout-api-prod" in message["Body"]


def test_notify_with_slack_chosen_but_no_secret_still_publishes_to_sns(install: Install) -> None:
    """The first-install mistake the template's Rules now refuse, run anyway: Slack mode without a
    secret. The bundled slack-sdk imports, Slack's answer is recorded as final, and the topic still gets
    the notice."""
    reader = _topic_reader(install, "install-check-slack-misconfigured")

    result = _invoke(
        install,
        "NotifyFunction",
        pipeline.EVENTS / "notify-notice-failed.json",
        SLACK_MODE="bot",
        SLACK_SECRET_ID="",
        SLACK_PARAMETER_NAME="",
    )

    assert result == {"batchItemFailures": []}
    [message] = boto3.client("sqs").receive_message(QueueUrl=reader, MaxNumberOfMessages=10)["Messages"]
    assert "Deployment failed on checkout-api-prod" in message["Body"]


def test_slack_request_url_reads_its_signing_secret_and_refuses_an_old_click(install: Install) -> None:
    """The request URL in the Lambda interpreter: slack-sdk bundled, the signing secret read from the
    created stack's Secrets Manager, and a click signed long ago refused with 401 before anything reads it."""
    boto3.client("secretsmanager").create_secret(
        Name=promises.SIGNING_SECRET_ID, SecretString="8f742231b10e8888abcd99yyyzzz85a5"
    )

    result = _invoke(install, "SlackActionsFunction", EVENTS / "slack-block-action.json")

    assert (result["statusCode"], result["body"]) == (401, "stale")


def test_slack_decisions_handler_drops_a_body_that_is_not_a_decision(install: Install) -> None:
    result = _invoke(install, "SlackDecisionsFunction", EVENTS / "notify-notice-live.json")

    # A notice is not a decision: logged, counted and dropped, never retried.
    assert result == {"batchItemFailures": []}


def _topic_reader(install: Install, name: str) -> str:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    reader = sqs.create_queue(QueueName=name)["QueueUrl"]
    reader_arn = sqs.get_queue_attributes(QueueUrl=reader, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=install.main.physical["NotificationTopic"], Protocol="sqs", Endpoint=reader_arn)
    return str(reader)
