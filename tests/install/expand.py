"""Expands a packaged SAM template the way CloudFormation's Serverless transform does, with the SAM
translator (run by the SAM CLI's interpreter, which carries it): `expand.py PACKAGED OUT [Name=value ...]`.

The parameter values matter: the translator resolves `Ref`s to parameters in a few properties (Tracing
decides whether the X-Ray policy is attached). AWS managed policy ARNs come from the IAM endpoint the
environment names (moto in the install check).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


def main(argv: list[str]) -> int:
    source, target, *pairs = argv
    template = yaml_parse(Path(source).read_text(encoding="utf-8"))
    parameters = dict(pair.split("=", 1) for pair in pairs)
    loader = ManagedPolicyLoader(boto3.client("iam"))
    expanded = transform(template, parameters, loader)
    Path(target).write_text(json.dumps(expanded, indent=1, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
