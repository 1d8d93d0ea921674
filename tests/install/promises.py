"""What the README promises an install creates, as data the checks compare the created stacks with."""

from __future__ import annotations

from typing import Any, Final

# The notify function's metric for a notice Slack refused (`<Channel><Status>`, functions/notify/app.py).
SLACK_REJECTED_METRIC: Final = "SlackRejected"

FUNCTIONS: Final = (
    "ImagePushFunction",
    "EcsEventsFunction",
    "AppRunnerEventsFunction",
    "ReconcileFunction",
    "BuildEventsFunction",
    "NotifyFunction",
    # Slack's request URL and the function that acts on its clicks (the check turns them on).
    "SlackActionsFunction",
    "SlackDecisionsFunction",
    "OutcomeChecksFunction",
)

# Each function's EventBridge rules: event pattern (defaults of every parameter) or schedule and input.
RULES: Final[dict[str, dict[str, dict[str, Any]]]] = {
    "ImagePushFunction": {
        "EcrPush": {
            "pattern": {
                "source": ["aws.ecr"],
                "detail-type": ["ECR Image Action"],
                "detail": {
                    "action-type": ["PUSH"],
                    "result": ["SUCCESS"],
                    "repository-name": [{"exists": True}],
                },
            }
        },
    },
    "EcsEventsFunction": {
        "DeploymentStateChange": {
            "pattern": {"source": ["aws.ecs"], "detail-type": ["ECS Deployment State Change"]}
        },
        "HookStateChange": {"pattern": {"source": ["aws.ecs"], "detail-type": ["ECS Hook State Change"]}},
    },
    "AppRunnerEventsFunction": {
        "OperationStatus": {
            "pattern": {
                "source": ["aws.apprunner"],
                "detail-type": ["AppRunner Service Operation Status Change"],
            }
        },
        "ServiceStatus": {
            "pattern": {"source": ["aws.apprunner"], "detail-type": ["AppRunner Service Status Change"]}
        },
        "CustomDomainValidation": {
            "pattern": {
                "source": ["aws.apprunner"],
                "detail-type": ["AppRunner Custom Domain Validation Status Update"],
            }
        },
    },
    "BuildEventsFunction": {
        "BuildState": {
            "pattern": {
                "source": ["aws.codebuild"],
                "detail-type": ["CodeBuild Build State Change"],
                "detail": {
                    "build-status": ["IN_PROGRESS", "SUCCEEDED", "FAILED", "STOPPED"],
                    "project-name": [{"exists": True}],
                },
            }
        },
        "BuildPhase": {
            "state": "DISABLED",
            "pattern": {
                "source": ["aws.codebuild"],
                "detail-type": ["CodeBuild Build Phase Change"],
                "detail": {"project-name": [{"exists": True}]},
            },
        },
    },
    "ReconcileFunction": {
        "Refresh": {"schedule": "rate(10 minutes)", "input": {"task": "refresh"}},
        "DnsReconcile": {"schedule": "rate(30 minutes)", "input": {"task": "dns"}},
        "PublicImageCheck": {"schedule": "rate(5 minutes)", "input": {"task": "public-images"}},
        "CertificateEvents": {
            "pattern": {
                "source": ["aws.acm"],
                "detail-type": [
                    "ACM Certificate Available",
                    "ACM Certificate Approaching Expiration",
                    "ACM Certificate Renewal Action Required",
                ],
            }
        },
        "ReleaseStages": {
            "pattern": {
                "source": ["pushpilot"],
                "detail-type": ["Release Live", "Release Rolled Back", "Release Failed"],
            }
        },
    },
}

# Every rule target: retried for an hour, then kept in the event-delivery dead-letter queue.
TARGET_RETRY: Final = {"MaximumRetryAttempts": 20, "MaximumEventAgeInSeconds": 3600}

COMMON_ENVIRONMENT: Final = frozenset(
    {
        "TABLE_NAME",
        "NOTICE_QUEUE_URL",
        "DRY_RUN",
        "UNVERIFIED_IMAGES",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_TRACE_DISABLED",
        "ECS_CLUSTERS",
        "DEPLOY_STUCK_AFTER_MINUTES",
        "RELEASE_EVENT_BUS",
        "PUBLISH_IMAGE_PARAMETERS",
        "LAMBDA_FUNCTION_PREFIX",
        "OUTCOME_TIMER_QUEUE_URL",
    }
)
_DNS: Final = frozenset(
    {"DNS_ZONE_IDS", "DNS_TAKE_OVER", "DNS_MAX_CHANGES", "DNS_OWNER_ID", "DNS_VALIDATION_PENDING_HOURS"}
)
ENVIRONMENT: Final[dict[str, frozenset[str]]] = {
    "ImagePushFunction": COMMON_ENVIRONMENT | {"PUSHPILOT_ROLE_ARN"},
    "EcsEventsFunction": COMMON_ENVIRONMENT,
    "AppRunnerEventsFunction": COMMON_ENVIRONMENT | _DNS,
    "ReconcileFunction": COMMON_ENVIRONMENT | _DNS | {"PUBLIC_IMAGE_FIRST_SIGHTING"},
    "BuildEventsFunction": COMMON_ENVIRONMENT | {"BUILD_LOG_LINES"},
    "NotifyFunction": COMMON_ENVIRONMENT
    | {"SLACK_MODE", "SLACK_SECRET_ID", "SLACK_PARAMETER_NAME", "SLACK_CHANNEL", "TOPIC_ARN", "NOTIFY_KINDS"},
    "SlackActionsFunction": COMMON_ENVIRONMENT
    | {
        "SLACK_SIGNING_SECRET_ID",
        "DECISION_QUEUE_URL",
        "SLACK_MODE",
        "SLACK_SECRET_ID",
        "SLACK_PARAMETER_NAME",
        "SLACK_CHANNEL",
    },
    "SlackDecisionsFunction": COMMON_ENVIRONMENT | {"PUSHPILOT_ROLE_ARN"},
    "OutcomeChecksFunction": COMMON_ENVIRONMENT,
}

# Functions EventBridge invokes asynchronously: bounded retries and age, failures kept with the event.
INVOKE_CONFIG_TARGET: Final = "HandlerDeadLetterQueue"
ASYNC_FUNCTIONS: Final = (
    "ImagePushFunction",
    "EcsEventsFunction",
    "EcsEventsFunction",
    "AppRunnerEventsFunction",
    "ReconcileFunction",
    "BuildEventsFunction",
)

# Every dead-letter queue has an alarm that notifies the topic.
DEAD_LETTER_QUEUES: Final = (
    "NoticeDeadLetterQueue",
    "EventDeliveryDeadLetterQueue",
    "HandlerDeadLetterQueue",
    "DecisionDeadLetterQueue",
    "OutcomeTimerDeadLetterQueue",
)

# The least-privilege list: no function role may be allowed anything else.
ALLOWED_ACTIONS: Final = frozenset(
    {
        # SAM's DynamoDBCrudPolicy on the stack's table
        "dynamodb:GetItem",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:BatchGetItem",
        "dynamodb:DescribeTable",
        "dynamodb:ConditionCheckItem",
        # notices, dead letters, the topic
        "sqs:SendMessage",
        "sqs:SendMessage*",
        "sqs:ChangeMessageVisibility",
        "sqs:ChangeMessageVisibilityBatch",
        "sqs:DeleteMessage",
        "sqs:DeleteMessageBatch",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sns:Publish",
        # images, deployments, DNS, builds, Slack secret
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "apprunner:StartDeployment",
        "apprunner:DescribeService",
        "apprunner:ListOperations",
        "apprunner:DescribeCustomDomains",
        "apprunner:ListServices",
        # release policies: service tags, deploying a followed tag or a pinned digest
        "apprunner:ListTagsForResource",
        "apprunner:UpdateService",
        # custom domains on load balancers: read the ALB, its listeners and certificates, the registrar
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeListenerCertificates",
        "acm:DescribeCertificate",
        "route53domains:GetDomainDetail",
        "route53:ListHostedZones",
        "route53:GetHostedZone",
        "route53:ListResourceRecordSets",
        "route53:GetChange",
        "route53:ChangeResourceRecordSets",
        # ECS and ECS Express (EcsDeployPolicy): find, deploy, read the outcome; pass only task roles
        "ecs:ListClusters",
        "ecs:DescribeTaskDefinition",
        "ecs:RegisterTaskDefinition",
        "ecs:ListServiceDeployments",
        "ecs:ListServices",
        "ecs:DescribeServices",
        "ecs:UpdateService",
        "ecs:ListTasks",
        "ecs:DescribeTasks",
        "ecs:DescribeContainerInstances",
        "ecs:DescribeServiceDeployments",
        "ecs:DescribeServiceRevisions",
        "ecs:DescribeExpressGatewayService",
        "ecs:UpdateExpressGatewayService",
        "ecs:TagResource",
        # a deployment paused at a PAUSE lifecycle hook: continued or rolled back from Slack or the CLI
        "ecs:ContinueServiceDeployment",
        # after a lost answer: the copies registered for a release, the unused ones deregistered
        "ecs:ListTaskDefinitions",
        "ecs:DeregisterTaskDefinition",
        "iam:PassRole",
        # Lambda image functions (LambdaDeployPolicy, only with a LambdaFunctionPrefix): find, deploy,
        # read the outcome, move the alias
        "lambda:ListFunctions",
        "lambda:GetFunction",
        "lambda:UpdateFunctionCode",
        "lambda:PublishVersion",
        "lambda:GetAlias",
        "lambda:UpdateAlias",
        "logs:GetLogEvents",
        "codebuild:BatchGetBuilds",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
        # release stages (ReleaseStagesPolicy): pushpilot's own events, bake alarms, deployed images
        "events:PutEvents",
        "cloudwatch:DescribeAlarms",
        "ssm:PutParameter",
    }
)

# The stack's own managed policies (one per deploy target), whose statements the least-privilege list
# covers.
STACK_MANAGED_POLICIES: Final = frozenset(
    {"AppRunnerDeployPolicy", "EcsDeployPolicy", "LambdaDeployPolicy", "ReleaseStagesPolicy"}
)

# AWS managed policies SAM attaches: writing the function's own logs; X-Ray only when XRayTracing is
# Active. Not AWSLambdaSQSQueueExecutionRole: it may receive and delete on every queue of the account.
ALLOWED_MANAGED_POLICIES: Final = frozenset({"AWSLambdaBasicExecutionRole"})

# Reach (README "Reach"): with EcsClusters set, only their services may be described, updated or
# tagged; no role is passable unless EcsTaskRolePattern names it; no queue action on every queue.
SAMPLE_ECS_CLUSTERS: Final = "prod,arn:aws:ecs:us-east-1:123456789012:cluster/shop"
CLUSTER_SCOPED_ACTIONS: Final = frozenset(
    {"ecs:UpdateService", "ecs:DescribeServices", "ecs:UpdateExpressGatewayService"}
)
CLUSTER_SCOPED_RESOURCES: Final = frozenset({"arn:*:ecs:*:*:service/prod/*", "arn:*:ecs:*:*:service/shop/*"})
PASS_ROLE_DEFAULT: Final = "none"  # EcsTaskRolePattern empty: no iam:PassRole statement at all
QUEUE_READ_ACTIONS: Final = frozenset({"sqs:ReceiveMessage", "sqs:DeleteMessage"})
# DnsZoneIds: Route 53 writes only on the listed zones, none at all when it lists none.
SAMPLE_DNS_ZONE_IDS: Final = "Z0123456789ABCDEFGHIJ,Z9876543210ZYXWVUTSRQ"
DNS_WRITE_ACTIONS: Final = frozenset({"route53:ChangeResourceRecordSets", "route53:GetChange"})
TRACING_POLICY: Final = "AWSXrayWriteOnlyAccess"

# The install check turns Slack's request URL on (it is off unless SlackSigningSecretId names a secret).
SIGNING_SECRET_ID: Final = "pushpilot/slack-signing"

# samconfig.toml values the stack must refuse: placeholders the installer replaces before deploying.
PLACEHOLDERS: Final[dict[str, frozenset[str]]] = {
    "prod": frozenset({"SlackChannel"}),
    "registry": frozenset({"ServiceEventBusArn"}),
}
