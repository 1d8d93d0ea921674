"""pushpilot: an ECR image push becomes a verified, tracked, announced release on every target it serves."""

__version__ = "0.1.0"
