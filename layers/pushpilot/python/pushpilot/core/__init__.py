"""Pure domain: image references, platforms and verdicts, releases, rollout plans, DNS planning, notices.

Nothing here imports boto3, botocore or an adapter: decisions are values, printed in a dry run, applied in
Lambda and asserted in tests."""
