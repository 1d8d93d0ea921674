"""AWS App Runner as a deploy target."""
