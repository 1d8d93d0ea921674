"""Runs one handler as Lambda would, in an interpreter started with `-I` (no site, no PYTHONPATH, no
current directory): the function's code, then its layer, then the interpreter's own packages, which
hold only the runtime's boto3 and the Powertools release the layer pins.

`lambda_runner.py CODE_DIR LAYER_DIR MODULE.FUNCTION EVENT_FILE` prints the handler's result as JSON.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from pathlib import Path


class Context:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "install-check"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def main(argv: list[str]) -> int:
    code_dir, layer_dir, handler, event_file = argv
    sys.path[:0] = [code_dir, layer_dir]
    module_name, function_name = handler.rsplit(".", 1)
    module = importlib.import_module(module_name)
    function = getattr(module, function_name)
    event = json.loads(Path(event_file).read_text(encoding="utf-8"))
    result = function(event, Context(Path(code_dir).name))
    sys.stdout.write(json.dumps({"result": result}, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
