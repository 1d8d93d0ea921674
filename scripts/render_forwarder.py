"""Renders forwarder/template.yaml for a service-managed StackSet: `render_forwarder.py TEMPLATE OUT REGION`.

Service-managed StackSets refuse templates that declare a transform, and the forwarder is a SAM template.
The SAM translator (the one the SAM CLI carries; run by its interpreter, `make forwarder-stackset`)
expands it here, offline, into the plain CloudFormation template CloudFormation itself would process:
no stack, change set or account is needed to render it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


def render(template_text: str) -> dict[str, Any]:
    template = yaml_parse(template_text)
    # The forwarder names no AWS managed policy by name, so the loader is never asked; a client is built
    # (not called) because the translator wants one.
    loader = ManagedPolicyLoader(boto3.client("iam"))
    rendered: dict[str, Any] = transform(template, {}, loader)
    left = sorted(
        name
        for name, resource in rendered["Resources"].items()
        if resource["Type"].startswith("AWS::Serverless::")
    )
    if "Transform" in rendered or left:
        raise SystemExit(f"the rendered template still needs a transform: {left or rendered['Transform']}")
    return rendered


def main(argv: list[str]) -> int:
    source, target, region = argv
    # The translator reads the region (and from it the partition) from the default session; the
    # stack instances resolve their own pseudo parameters.
    os.environ["AWS_DEFAULT_REGION"] = region
    rendered = render(Path(source).read_text(encoding="utf-8"))
    Path(target).write_text(json.dumps(rendered, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    count = len(rendered["Resources"])
    sys.stdout.write(f"{target}: {count} resources, no transform; pass it to create-stack-set\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
