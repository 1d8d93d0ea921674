"""pushpilot: an ECR image push becomes a verified, tracked, announced release on every target it serves."""

# The deploy targets, as each one's `label` names it: the command line and the template describe pushpilot
# with these words (a test holds them to the targets' labels, so a new target is named here too).
TARGET_LABELS = ("App Runner", "Amazon ECS", "ECS Express Mode")

__version__ = "0.1.0"
