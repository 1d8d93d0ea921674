"""Amazon ECS Express Mode services as a deploy target."""
