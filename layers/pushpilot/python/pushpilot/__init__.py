"""pushpilot: an ECR image push becomes a verified, tracked, announced App Runner release."""

__version__ = "0.1.0"
