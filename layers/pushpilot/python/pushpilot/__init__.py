"""pushpilot: an ECR image push becomes a verified, tracked, announced release on App Runner, ECS and Express."""

__version__ = "0.1.0"
