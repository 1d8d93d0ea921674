"""Faults from every dependency, injected where AWS and Slack would raise them.

Each test checks the same bookkeeping: every event delivered is either handled or dead-lettered,
exactly once; nothing deploys twice; no notice goes out twice.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pushpilot_sandbox.environment import Sandbox
from tests.e2e.sandbox_support import Story, story

ONE_MANUAL = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest", "auto_deploy": False}],
}
WITH_SLACK = {**ONE_MANUAL, "notifications": {"slack": "bot", "sns": True}}
WITH_DOMAIN = {
    **ONE_MANUAL,
    "hosted_zones": [{"name": "example.com", "records": []}],
}
AMD64_PUSH = {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]}


# --- the bookkeeping every test checks ------------------------------------------------------------


def _sqs_dead_letter_ids(sandbox: Sandbox) -> set[str]:
    sqs = sandbox.direct_client("sqs")
    url = sandbox.resources["NoticeDeadLetterQueue"].ref
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return {message["MessageId"] for message in answer.get("Messages", [])}


def assert_every_event_accounted_for(sandbox: Sandbox) -> None:
    """Events in = events handled + events dead-lettered, each exactly once."""
    deliveries = sandbox.router.deliveries
    asynchronous = [d for d in deliveries if d.trigger in {"rule", "schedule"}]
    handled = [d for d in asynchronous if d.succeeded]
    dead = [d for d in asynchronous if d.dead_lettered]
    assert not [d for d in asynchronous if d.succeeded and d.dead_lettered]
    assert len(asynchronous) == len(handled) + len(dead), [d for d in asynchronous if not d.succeeded]
    assert len(dead) == len(sandbox.router.dead_letters)

    # Notices ride an SQS queue: a failed record comes back until it succeeds or is redriven.
    records = {record for d in deliveries if d.trigger == "sqs" for record in d.record_ids}
    record_successes = Counter(
        record
        for d in deliveries
        if d.trigger == "sqs"
        for record in d.record_ids
        if record not in d.failed_record_ids
    )
    redriven = _sqs_dead_letter_ids(sandbox)
    assert all(count == 1 for count in record_successes.values()), record_successes
    assert records == set(record_successes) | redriven
    assert not set(record_successes) & redriven


def assert_no_duplicate_notice(run: Story) -> None:
    run.timeline.record()
    sns_ids = [note["payload"]["id"] for note in run.notices("sns") if isinstance(note["payload"], dict)]
    assert sns_ids
    assert len(sns_ids) == len(set(sns_ids)), Counter(sns_ids)
    posted = [
        (post.payload.get("text"), post.payload.get("thread_ts"))
        for post in run.sandbox.slack.delivered()
        if post.method == "chat.postMessage"
    ]
    assert len(posted) == len(set(posted)), Counter(posted)


def _push_deploy_and_go_live(run: Story) -> None:
    run.step("push", AMD64_PUSH)
    run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})


def _release_kinds(run: Story) -> list[str]:
    return [kind for kind in run.notice_kinds() if kind in {"verified", "queued", "deploying", "live"}]


# --- App Runner ------------------------------------------------------------------------------------


def test_app_runner_throttling_is_absorbed_by_botocore_retries(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        run.sandbox.apprunner.inject_fault("StartDeployment", "ThrottlingException", times=2)
        _push_deploy_and_go_live(run)

        attempts = [call for call in run.sandbox.apprunner.calls if call.operation == "StartDeployment"]
        assert len(attempts) == 3
        assert len(run.deployments("storefront")) == 1
        assert _release_kinds(run) == ["verified", "deploying", "live"]
        assert run.report()["errors"] == []
        assert run.report()["dead_letters"] == []
        assert_every_event_accounted_for(run.sandbox)
        assert_no_duplicate_notice(run)


def test_a_busy_service_queues_the_push_and_deploys_it_when_the_operation_ends(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        sandbox = run.sandbox
        # Someone starts a deployment by hand: App Runner answers InvalidStateException until it ends.
        sandbox.apprunner_client().start_deployment(ServiceArn=sandbox.apprunner.service("storefront").arn)
        run.timeline.skip_user_calls()
        run.step("push", AMD64_PUSH)
        assert len(run.deployments("storefront")) == 1
        assert _release_kinds(run) == ["verified", "queued"]

        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})
        assert len(run.deployments("storefront")) == 2
        assert _release_kinds(run) == ["verified", "queued", "deploying"]
        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})

        assert len(run.deployments("storefront")) == 2
        assert _release_kinds(run) == ["verified", "queued", "deploying", "live"]
        assert run.report()["dead_letters"] == []
        assert_every_event_accounted_for(sandbox)
        assert_no_duplicate_notice(run)


def test_concurrent_duplicate_deliveries_deploy_once_and_notify_once(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path, copies_per_event=3, concurrent_copies=True) as run:
        _push_deploy_and_go_live(run)

        pushes = [d for d in run.sandbox.router.deliveries if d.function == "ImagePushFunction"]
        assert len(pushes) == 3
        assert len({d.event_id for d in pushes}) == 1
        assert len(run.deployments("storefront")) == 1
        assert sorted(_release_kinds(run)) == ["deploying", "live", "verified"]
        assert run.report()["dead_letters"] == []
        assert_every_event_accounted_for(run.sandbox)
        assert_no_duplicate_notice(run)


# --- Route 53 --------------------------------------------------------------------------------------


def _zone_records(sandbox: Sandbox, zone: str) -> list[dict[str, Any]]:
    route53 = sandbox.route53()
    zone_id = route53.list_hosted_zones_by_name(DNSName=zone)["HostedZones"][0]["Id"]
    records: list[dict[str, Any]] = [
        dict(record)
        for record in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    ]
    return records


def test_route53_throttling_and_prior_request_during_dns_reconcile_are_retried(tmp_path: Path) -> None:
    with story(WITH_DOMAIN, tmp_path) as run:
        sandbox = run.sandbox
        run.step("associate_domain", {"service": "storefront", "domain": "example.com", "www": True})
        validation = sandbox.apprunner_client().describe_custom_domains(
            ServiceArn=sandbox.apprunner.service("storefront").arn
        )["CustomDomains"][0]["CertificateValidationRecords"]
        sandbox.gateway.inject_fault("route53", "ListResourceRecordSets", code="Throttling", times=1)
        sandbox.gateway.inject_fault(
            "route53", "ChangeResourceRecordSets", code="PriorRequestNotComplete", times=2
        )
        run.step("reconcile_dns", {})

        faulted = [call for call in sandbox.gateway.calls if call.fault]
        assert {call.operation for call in faulted} == {"ListResourceRecordSets", "ChangeResourceRecordSets"}
        names = {record["Name"].rstrip(".") for record in _zone_records(sandbox, "example.com")}
        assert {record["Name"].rstrip(".") for record in validation} <= names
        changes = [
            call
            for call in sandbox.gateway.calls
            if call.operation == "ChangeResourceRecordSets" and call.fault is None
        ]
        assert len(changes) == 1
        assert run.report()["dead_letters"] == []
        assert [error for error in run.report()["errors"] if error["function"] == "ReconcileFunction"] == []
        assert_every_event_accounted_for(sandbox)


# --- notification channels -------------------------------------------------------------------------


def _slack_thread_is_whole(run: Story) -> None:
    texts = [message.get("text", "") for message in run.sandbox.slack.messages()]
    assert texts
    assert len(texts) == len(set(texts))


def test_slack_rate_limit_and_server_errors_are_retried_without_duplicates(tmp_path: Path) -> None:
    with story(WITH_SLACK, tmp_path) as run:
        run.step("slack", {"fail_next": 429, "retry_after": 0})
        run.step("slack", {"fail_next": 500, "times": 2})
        _push_deploy_and_go_live(run)

        statuses = Counter(post.status for post in run.sandbox.slack.posts)
        assert statuses[429] == 1
        assert statuses[500] == 2
        assert _release_kinds(run) == ["verified", "deploying", "live"]
        assert len(run.deployments("storefront")) == 1
        assert run.report()["dead_letters"] == []
        _slack_thread_is_whole(run)
        assert_every_event_accounted_for(run.sandbox)
        assert_no_duplicate_notice(run)


def test_a_slack_timeout_loses_nothing(tmp_path: Path) -> None:
    """Slack receives the headline only after the client's timeout: the notice is still delivered and
    SNS sends it once. (The sandbox retries the notice at once; Slack's late post may land after the
    retry looked for it. In AWS the retry waits for the queue's visibility timeout.)"""
    from pushpilot.adapters.slack import REQUEST_TIMEOUT_SECONDS

    with story(WITH_SLACK, tmp_path) as run:
        run.sandbox.slack.slow(REQUEST_TIMEOUT_SECONDS + 1, times=1)
        run.step("push", AMD64_PUSH)

        assert run.sandbox.slack.delivered()
        assert len(run.deployments("storefront")) == 1
        assert run.report()["dead_letters"] == []
        assert_every_event_accounted_for(run.sandbox)
        sns_ids = [note["payload"]["id"] for note in run.notices("sns")]
        assert len(sns_ids) == len(set(sns_ids))


def _posts_of(run: Story, method: str) -> list[Any]:
    return [post for post in run.sandbox.slack.posts if post.method == method]


def test_a_headline_slack_posted_but_answered_too_late_is_adopted_not_posted_again(tmp_path: Path) -> None:
    from pushpilot.adapters.slack import REQUEST_TIMEOUT_SECONDS

    with story(WITH_SLACK, tmp_path) as run:
        run.sandbox.slack.slow(REQUEST_TIMEOUT_SECONDS + 1, times=1, after_acting=True)
        _push_deploy_and_go_live(run)

        # The headline was sent once and found again by its metadata; the thread hangs under it.
        headlines = [post for post in _posts_of(run, "chat.postMessage") if not post.payload.get("thread_ts")]
        assert len(headlines) == 1
        assert len(_posts_of(run, "conversations.history")) == 1
        parents = [m for m in run.sandbox.slack.messages() if "thread_ts" not in m]
        assert len(parents) == 1
        assert _release_kinds(run) == ["verified", "deploying", "live"]
        assert run.report()["dead_letters"] == []
        _slack_thread_is_whole(run)
        assert_every_event_accounted_for(run.sandbox)
        assert_no_duplicate_notice(run)


def test_a_reply_slack_posted_but_answered_too_late_is_not_posted_again(tmp_path: Path) -> None:
    from pushpilot.adapters.slack import REQUEST_TIMEOUT_SECONDS

    with story(WITH_SLACK, tmp_path) as run:
        run.step("push", AMD64_PUSH)
        # The live notice goes into the open thread: its chat.postMessage is the next request.
        run.sandbox.slack.slow(REQUEST_TIMEOUT_SECONDS + 1, times=1, after_acting=True)
        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})

        live_posts = [
            post
            for post in _posts_of(run, "chat.postMessage")
            if post.payload.get("thread_ts") and "live" in str(post.payload.get("text", "")).lower()
        ]
        assert len(live_posts) == 1
        assert len(_posts_of(run, "conversations.replies")) == 1
        assert _release_kinds(run) == ["verified", "deploying", "live"]
        assert run.report()["dead_letters"] == []
        _slack_thread_is_whole(run)
        assert_every_event_accounted_for(run.sandbox)
        assert_no_duplicate_notice(run)


def test_a_lost_answer_whose_read_back_also_fails_is_looked_for_again_not_reposted(tmp_path: Path) -> None:
    """A slow Slack may fail the read-back too: the post stays marked, and the retry finds it."""
    from pushpilot.adapters.slack import REQUEST_TIMEOUT_SECONDS, RETRIES_PER_FAILURE

    with story(WITH_SLACK, tmp_path) as run:
        run.step("push", AMD64_PUSH)
        run.sandbox.slack.slow(REQUEST_TIMEOUT_SECONDS + 1, times=1, after_acting=True)
        # The first read-back (conversations.replies) answers 500 through all of slack-sdk's retries.
        run.sandbox.slack.fail_next(500, times=RETRIES_PER_FAILURE + 1, method="conversations.replies")
        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})

        reads = [post.status for post in _posts_of(run, "conversations.replies")]
        assert reads == [500] * (RETRIES_PER_FAILURE + 1) + [200]
        live_posts = [
            post
            for post in _posts_of(run, "chat.postMessage")
            if post.ok and "live" in str(post.payload.get("text", "")).lower()
        ]
        assert len(live_posts) == 1
        assert _release_kinds(run) == ["verified", "deploying", "live"]
        assert run.report()["dead_letters"] == []
        _slack_thread_is_whole(run)
        assert_every_event_accounted_for(run.sandbox)
        assert_no_duplicate_notice(run)


def test_without_the_history_scope_a_lost_answer_is_posted_again(tmp_path: Path) -> None:
    """At least once when the channel cannot be read back: the notice is posted again, not lost."""
    from pushpilot.adapters.slack import REQUEST_TIMEOUT_SECONDS

    with story(WITH_SLACK, tmp_path) as run:
        run.step("push", AMD64_PUSH)
        run.sandbox.slack.revoke_history_scope()
        run.sandbox.slack.slow(REQUEST_TIMEOUT_SECONDS + 1, times=1, after_acting=True)
        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})

        assert [post.error for post in _posts_of(run, "conversations.replies")] == ["missing_scope"] * 2
        live_posts = [
            post
            for post in _posts_of(run, "chat.postMessage")
            if post.ok and "live" in str(post.payload.get("text", "")).lower()
        ]
        assert len(live_posts) == 2
        assert _release_kinds(run) == ["verified", "deploying", "live"]
        assert run.report()["dead_letters"] == []
        assert_every_event_accounted_for(run.sandbox)


def test_an_sns_failure_retries_the_notice_without_repeating_slack_or_sns(tmp_path: Path) -> None:
    with story(WITH_SLACK, tmp_path) as run:
        # KMSThrottling: SNS could not use the topic's key. botocore leaves it to us; the notice's SQS
        # record fails, comes back, and is published then.
        run.sandbox.gateway.inject_fault("sns", "Publish", code="KMSThrottling", times=1)
        _push_deploy_and_go_live(run)

        faulted = [call for call in run.sandbox.gateway.calls if call.service == "sns" and call.fault]
        assert len(faulted) == 1
        retried = [d for d in run.sandbox.router.deliveries if d.trigger == "sqs" and d.failed_record_ids]
        assert len(retried) == 1
        # The failed notice comes back after the others: SNS order is not promised, delivery is.
        assert sorted(_release_kinds(run)) == ["deploying", "live", "verified"]
        assert run.report()["dead_letters"] == []
        _slack_thread_is_whole(run)
        assert_every_event_accounted_for(run.sandbox)
        assert_no_duplicate_notice(run)
