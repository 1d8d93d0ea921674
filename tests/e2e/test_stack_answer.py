"""The answer to CloudFormation's custom resource request over real HTTP on 127.0.0.1: a transient fault
of the PUT is tried again (the function is not retried by Lambda, and a stack whose resource is never
answered fails), a refusal is not, and an answer sent twice is the same answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest
from aws_lambda_powertools.utilities.parser.models import CloudFormationCustomResourceCreateModel

from pushpilot.adapters import stack_response
from pushpilot.adapters.stack_response import StackAnswerError, answer_stack
from pushpilot.core.errors import RetryableError
from pushpilot_sandbox.httpserver import LoopbackServer

pytestmark = pytest.mark.e2e

STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/pushpilot/5b0d3c2e-8f1a-11ef-9d3c-0e6f1a2b3c4d"
)


class ResponseUrl(BaseHTTPRequestHandler):
    """A presigned URL's stand-in: answers each PUT with the next status of `script` (then 200); a
    status of 0 closes the connection without answering (the answer lost on the way back)."""

    script: ClassVar[list[int]] = []
    received: ClassVar[list[dict[str, Any]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.lock:
            self.received.append(json.loads(body))
            status = self.script.pop(0) if self.script else 200
        if status == 0:
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def response_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(stack_response, "ANSWER_PAUSE_SECONDS", 0.0)
    ResponseUrl.received = []
    with LoopbackServer(ResponseUrl) as server:
        yield f"{server.url}/cloudformation-custom-resource-response-useast1/ServiceIndexFill/request"


def _request(url: str) -> CloudFormationCustomResourceCreateModel:
    return CloudFormationCustomResourceCreateModel.model_validate(
        {
            "RequestType": "Create",
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:pushpilot-ReconcileFunction",
            "ResponseURL": url,
            "StackId": STACK_ID,
            "RequestId": "8f0c2b4e-1d3a-4e5f-9a7b-6c5d4e3f2a1b",
            "LogicalResourceId": "ServiceIndexFill",
            "ResourceType": "Custom::ServiceIndexFill",
            "ResourceProperties": {"ServiceToken": "…", "EcsClusters": ""},
        }
    )


def _answer(url: str) -> None:
    answer_stack(_request(url), status="SUCCESS", physical_id="ServiceIndexFill-filled", reason="filled next")


@pytest.mark.parametrize("faults", [[503], [500, 0], [0]])
def test_a_transient_fault_is_tried_again_and_the_same_answer_arrives(
    response_url: str, faults: list[int]
) -> None:
    ResponseUrl.script = list(faults)
    _answer(response_url)

    assert len(ResponseUrl.received) == len(faults) + 1
    # Every attempt carried the one answer: sending it again changes nothing CloudFormation reads.
    assert all(body == ResponseUrl.received[0] for body in ResponseUrl.received)
    assert ResponseUrl.received[0]["Status"] == "SUCCESS"
    assert ResponseUrl.received[0]["RequestId"] == "8f0c2b4e-1d3a-4e5f-9a7b-6c5d4e3f2a1b"


def test_attempts_are_bounded_and_the_last_fault_is_raised(response_url: str) -> None:
    ResponseUrl.script = [503] * stack_response.ANSWER_ATTEMPTS

    with pytest.raises(RetryableError, match="HTTP 503"):
        _answer(response_url)
    assert len(ResponseUrl.received) == stack_response.ANSWER_ATTEMPTS


def test_a_refused_answer_is_not_sent_again(response_url: str) -> None:
    ResponseUrl.script = [403]

    with pytest.raises(StackAnswerError, match="HTTP 403"):
        _answer(response_url)
    assert len(ResponseUrl.received) == 1
