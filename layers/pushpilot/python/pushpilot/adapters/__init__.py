"""Adapters to AWS services, Slack and SNS, each with an injected client and one error classifier."""
