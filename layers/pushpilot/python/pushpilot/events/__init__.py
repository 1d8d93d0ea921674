"""EventBridge models of the events pushpilot receives from its sources (ECR, CodeBuild); each deploy
target keeps its own under targets/."""
