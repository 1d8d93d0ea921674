"""One realistic Notice per NoticeKind, as the producers (deploy, outcome, builds, DNS) write them."""

from __future__ import annotations

from pushpilot.core.notices import Link, Notice, NoticeKind, ReleaseHeadline, Severity, release_id

REPOSITORY = "shop/checkout-api"
DIGEST = "sha256:4f1c9d2e7a8b3c6d5e4f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"
REGION = "eu-west-1"
SERVICE = "checkout-api-prod"
SERVICE_ARN = f"arn:aws:apprunner:{REGION}:123456789012:service/{SERVICE}/8fe1e10304f84fd2b0df550fe98a71fa"
CONSOLE = (
    f"https://{REGION}.console.aws.amazon.com/apprunner/home?region={REGION}"
    f"#/services/dashboard?service_arn={SERVICE_ARN}&active_tab=logs"
)
LOGS = (
    f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#logsV2:log-groups/log-group/"
    "$252Faws$252Fapprunner$252Fcheckout-api-prod$252F8fe1e10304f84fd2b0df550fe98a71fa$252Fapplication"
)
SERVICE_URL = "https://x7kq2mv9pa.eu-west-1.awsapprunner.com"
RELEASE = release_id(REPOSITORY, DIGEST)
OCCURRED_AT = "2025-03-14T09:26:53+00:00"

APP_LINKS = (
    Link(label="App Runner service", url=CONSOLE),
    Link(label="Application logs", url=LOGS),
)


def headline(stage: str, *, tag: str | None = "v2.14.0") -> ReleaseHeadline:
    return ReleaseHeadline(
        release_id=RELEASE,
        repository=REPOSITORY,
        tag=tag,
        digest=DIGEST,
        services=(SERVICE, "checkout-api-staging"),
        stage=stage,
    )


def _release_notice(
    kind: NoticeKind,
    severity: Severity,
    title: str,
    summary: str,
    *,
    stage: str,
    next_step: str | None = None,
    details: tuple[str, ...] = (),
    links: tuple[Link, ...] = APP_LINKS,
    occurred_at: str = OCCURRED_AT,
) -> Notice:
    return Notice(
        kind=kind,
        severity=severity,
        title=title,
        summary=summary,
        next_step=next_step,
        details=details,
        links=links,
        release=headline(stage),
        thread_key=RELEASE,
        dedupe_key=f"{RELEASE}#{kind.value}",
        occurred_at=occurred_at,
    )


BUILD_ID = "checkout-api-build:7d4c2a1e-5b3f-4e8a-9c6d-2f1e0a9b8c7d"
BUILD_LINK = Link(
    label="Build logs",
    url=f"https://console.aws.amazon.com/cloudwatch/home?region={REGION}#logEvent:group=/aws/codebuild/checkout-api-build;stream=7d4c2a1e-5b3f-4e8a-9c6d-2f1e0a9b8c7d",
)


def _build_notice(kind: NoticeKind, severity: Severity, title: str, summary: str, **extra: object) -> Notice:
    return Notice.model_validate(
        {
            "kind": kind,
            "severity": severity,
            "title": title,
            "summary": summary,
            "links": (BUILD_LINK,),
            "thread_key": f"build#{BUILD_ID}",
            "dedupe_key": f"build#{BUILD_ID}#{kind.value}",
            "occurred_at": OCCURRED_AT,
            **extra,
        }
    )


DOMAIN = "shop.example.com"


def _domain_notice(kind: NoticeKind, severity: Severity, title: str, summary: str, **extra: object) -> Notice:
    return Notice.model_validate(
        {
            "kind": kind,
            "severity": severity,
            "title": title,
            "summary": summary,
            "links": (
                Link(label="Custom domains", url=CONSOLE.replace("active_tab=logs", "active_tab=domains")),
            ),
            "thread_key": f"domain#{SERVICE}#{DOMAIN}",
            "dedupe_key": f"domain#{SERVICE}#{DOMAIN}#{kind.value}",
            "occurred_at": OCCURRED_AT,
            **extra,
        }
    )


SAMPLES: dict[NoticeKind, Notice] = {
    NoticeKind.VERIFIED: _release_notice(
        NoticeKind.VERIFIED,
        Severity.SUCCESS,
        "Image verified: linux/amd64",
        "The image index lists linux/amd64, which App Runner runs. Attestation manifests were ignored.",
        stage="verified",
        details=("linux/amd64  sha256:9a8b7c6d5e4f", "linux/arm64  sha256:1b2c3d4e5f6a"),
        links=(),
    ),
    NoticeKind.REJECTED: _release_notice(
        NoticeKind.REJECTED,
        Severity.FAILURE,
        "Image rejected: linux/arm64 only",
        "App Runner runs linux/amd64 only; this image would fail with `exec format error`. "
        "Nothing was deployed.",
        stage="rejected",
        next_step=(
            "docker buildx build --platform linux/amd64 "
            "-t 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/checkout-api:v2.14.0 --push ."
        ),
        details=("platform: linux/arm64 (variant v8)", "built on: darwin/arm64 (BuildKit 0.12)"),
        links=(),
    ),
    NoticeKind.UNVERIFIED: _release_notice(
        NoticeKind.UNVERIFIED,
        Severity.WARNING,
        "Image platform unknown",
        "The image config could not be read, so its platform is unknown. It was not deployed.",
        stage="unverified",
        next_step="Check that the function may call ecr:GetDownloadUrlForLayer, then push the tag again.",
        details=("GetDownloadUrlForLayer: AccessDeniedException",),
        links=(),
    ),
    NoticeKind.DEPLOYING: _release_notice(
        NoticeKind.DEPLOYING,
        Severity.INFO,
        "Deploying to checkout-api-prod",
        "App Runner is rolling out sha256:4f1c9d2e7a8b to 2 services.",
        stage="deploying",
    ),
    NoticeKind.QUEUED: _release_notice(
        NoticeKind.QUEUED,
        Severity.INFO,
        "Deployment queued behind an operation in progress",
        "checkout-api-prod is busy (OPERATION_IN_PROGRESS); this image deploys as soon as it is free.",
        stage="queued",
    ),
    NoticeKind.SUPERSEDED: _release_notice(
        NoticeKind.SUPERSEDED,
        Severity.INFO,
        "Superseded on checkout-api-prod by a newer push: not deployed",
        "a newer push (sha256:9a0b1c2d3e4f) took its place while an operation was in progress",
        stage="deploying",
    ),
    NoticeKind.STUCK: _release_notice(
        NoticeKind.STUCK,
        Severity.WARNING,
        "Deployment to checkout-api-prod is stuck: still in progress",
        "the deployment is still in progress after 30 minutes",
        stage="deploying",
        next_step="Turn on the deployment circuit breaker with rollback so ECS ends such deployments itself.",
    ),
    NoticeKind.UNCONFIRMED: _release_notice(
        NoticeKind.UNCONFIRMED,
        Severity.WARNING,
        "Deployment to checkout-api-prod could not be confirmed",
        "no App Runner deployment of this push was found 20 minutes after it was due",
        stage="unconfirmed",
        next_step="Look at checkout-api-prod in the App Runner console; push again if the image is not live.",
    ),
    NoticeKind.AUTO_DEPLOY_TRACKED: _release_notice(
        NoticeKind.AUTO_DEPLOY_TRACKED,
        Severity.INFO,
        "App Runner auto-deploy is rolling this image out",
        "checkout-api-prod deploys ECR pushes itself; pushpilot is tracking the outcome.",
        stage="deploying",
    ),
    NoticeKind.LIVE: _release_notice(
        NoticeKind.LIVE,
        Severity.SUCCESS,
        "Live on checkout-api-prod",
        "DeploymentCompletedSuccessfully: sha256:4f1c9d2e7a8b is serving traffic.",
        stage="live",
        links=(*APP_LINKS, Link(label="Open service", url=SERVICE_URL)),
    ),
    NoticeKind.FAILED: _release_notice(
        NoticeKind.FAILED,
        Severity.FAILURE,
        "Deployment failed on checkout-api-prod",
        "The health check failed: the container exited before it listened on port 8080.",
        stage="failed",
        next_step="Run the image locally with PORT=8080 and check that it starts.",
        details=(
            "09:26:41 [AppRunner] Starting to pull your application image.",
            "09:26:49 exec /usr/local/bin/python: exec format error",
            "09:26:52 [AppRunner] Health check failed on port '8080'.",
        ),
    ),
    NoticeKind.ROLLED_BACK: _release_notice(
        NoticeKind.ROLLED_BACK,
        Severity.FAILURE,
        "Rolled back on checkout-api-prod",
        "App Runner rolled the deployment back; the previous image is still serving <all> traffic.",
        stage="rolled_back",
        next_step="Read the deployment logs, fix the image and push a new tag.",
        details=("09:27:10 [AppRunner] Deployment failed. Rolling back to the previous version & retrying.",),
    ),
    NoticeKind.ROLLING_BACK: _release_notice(
        NoticeKind.ROLLING_BACK,
        Severity.FAILURE,
        "Deployment to checkout-api-prod failed and Amazon ECS is rolling back",
        "ECS deployment circuit breaker: task failed to start.",
        stage="rolling_back",
        next_step="Read the stopped tasks' reasons, fix the image and push a new tag.",
        details=("circuit breaker triggered after 3 failed tasks (threshold 3)",),
    ),
    NoticeKind.ROLLBACK_FAILED: _release_notice(
        NoticeKind.ROLLBACK_FAILED,
        Severity.FAILURE,
        "Deployment to checkout-api-prod failed and its rollback failed",
        "Amazon ECS reports the deployment ROLLBACK_FAILED",
        stage="rollback_failed",
        next_step="Look at the service's tasks in the console now, then deploy a release that works.",
        details=("CannotPullContainerError: pull image manifest has been retried 5 time(s)",),
    ),
    NoticeKind.DRY_RUN: _release_notice(
        NoticeKind.DRY_RUN,
        Severity.INFO,
        "Dry run: would deploy to 2 services",
        "DRY_RUN is on: update_service would pin checkout-api-prod and checkout-api-staging to this digest.",
        stage="dry_run",
        details=(
            f"update_service {SERVICE} ImageIdentifier={REPOSITORY}@{DIGEST}",
            f"update_service checkout-api-staging ImageIdentifier={REPOSITORY}@{DIGEST}",
        ),
        links=(),
    ),
    NoticeKind.POLICY: _release_notice(
        NoticeKind.POLICY,
        Severity.INFO,
        "v2.0.0 does not match semver:^1 on checkout-api-prod: not deployed",
        "checkout-api-prod keeps running v1.5.0.",
        stage="verified",
        links=(),
    ),
    NoticeKind.BUILD_STARTED: _build_notice(
        NoticeKind.BUILD_STARTED,
        Severity.INFO,
        "Build started: checkout-api-build",
        "CodeBuild started build 7d4c2a1e for source version 3f9e2c1.",
    ),
    NoticeKind.BUILD_SUCCEEDED: _build_notice(
        NoticeKind.BUILD_SUCCEEDED,
        Severity.SUCCESS,
        "Build succeeded: checkout-api-build",
        "All phases succeeded in 4m 12s; the image push follows.",
    ),
    NoticeKind.BUILD_FAILED: _build_notice(
        NoticeKind.BUILD_FAILED,
        Severity.FAILURE,
        "Build failed in BUILD: checkout-api-build",
        "COMMAND_EXECUTION_ERROR: Error while executing command: docker build. Reason: exit status 1",
        next_step="Fix the failing step below and start the build again.",
        details=(
            "#12 [builder 4/6] RUN pip install --no-cache-dir -r requirements.txt",
            "#12 4.310 ERROR: Could not find a version that satisfies the requirement psycopg3==3.2.1",
            '#12 ERROR: process "/bin/sh -c pip install -r requirements.txt" did not complete successfully',
        ),
    ),
    NoticeKind.BUILD_STOPPED: _build_notice(
        NoticeKind.BUILD_STOPPED,
        Severity.WARNING,
        "Build stopped: checkout-api-build",
        "The build was stopped in PRE_BUILD by a user before it finished.",
    ),
    NoticeKind.DOMAIN_PLANNED: _domain_notice(
        NoticeKind.DOMAIN_PLANNED,
        Severity.INFO,
        "DNS plan for shop.example.com",
        "3 changes to records pushpilot owns in hosted zone example.com.",
        details=(
            "CREATE  _2a8f.shop.example.com.  CNAME  _9c1e.mhbtsbpdnt.acm-validations.aws.",
            "UPSERT  shop.example.com.        A      ALIAS x7kq2mv9pa.eu-west-1.awsapprunner.com.",
            "CREATE  www.shop.example.com.    CNAME  x7kq2mv9pa.eu-west-1.awsapprunner.com.",
        ),
    ),
    NoticeKind.DOMAIN_CONFLICT: _domain_notice(
        NoticeKind.DOMAIN_CONFLICT,
        Severity.WARNING,
        "DNS conflict on shop.example.com",
        "An A record that pushpilot does not own points shop.example.com at 203.0.113.10 (a retired host).",
        next_step="Delete the old A record for shop.example.com, or mark it as owned by pushpilot.",
        details=("shop.example.com.  A  203.0.113.10  (TTL 300, no pushpilot owner tag)",),
    ),
    NoticeKind.DOMAIN_VALIDATED: _domain_notice(
        NoticeKind.DOMAIN_VALIDATED,
        Severity.SUCCESS,
        "shop.example.com is active",
        "The certificate validated and App Runner serves shop.example.com and www.shop.example.com.",
    ),
    NoticeKind.DOMAIN_BLOCKED: _domain_notice(
        NoticeKind.DOMAIN_BLOCKED,
        Severity.FAILURE,
        "Certificate validation blocked for shop.example.com",
        "www.shop.example.com lives in its own hosted zone, which the parent zone does not delegate to.",
        next_step="Add NS records for www.shop.example.com in example.com pointing at its hosted zone.",
        details=("dig NS www.shop.example.com -> NXDOMAIN from ns-1021.awsdns-63.net",),
    ),
    NoticeKind.DOMAIN_ADVICE: _domain_notice(
        NoticeKind.DOMAIN_ADVICE,
        Severity.WARNING,
        "Advice for shop.example.com on storefront (ECS)",
        "1 thing to fix by hand; pushpilot changes no listener.",
        next_step="Give the HTTP listener a default action that redirects to HTTPS (port 443, HTTP_301).",
        details=("web-alb's HTTP listener on port 80 forwards to web-tg instead of redirecting to HTTPS",),
    ),
}


def sample(kind: NoticeKind) -> Notice:
    return SAMPLES[kind]


def release_story() -> list[Notice]:
    """One release, in order: verified → queued → deploying → live, a minute apart."""
    steps = [NoticeKind.VERIFIED, NoticeKind.QUEUED, NoticeKind.DEPLOYING, NoticeKind.LIVE]
    return [
        SAMPLES[kind].model_copy(update={"occurred_at": f"2025-03-14T09:2{minute}:00+00:00"})
        for minute, kind in enumerate(steps)
    ]
