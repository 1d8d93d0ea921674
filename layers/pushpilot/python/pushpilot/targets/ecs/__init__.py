"""Amazon ECS services (Fargate and EC2) as a deploy target."""
