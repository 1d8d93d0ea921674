"""pushpilot: an ECR image push becomes a verified, tracked, announced release (App Runner, ECS, Express)."""

__version__ = "0.1.0"
