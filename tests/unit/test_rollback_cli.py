"""`pushpilot rollback --help` names what `--to` accepts: what `plan_rollback` checks."""

from __future__ import annotations

import pytest

from pushpilot_cli.main import build_parser

pytestmark = pytest.mark.unit


def test_the_help_of_to_names_every_form_the_checks_accept(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["rollback", "--help"])
    text = " ".join(capsys.readouterr().out.split())

    assert "--to RELEASE|DIGEST|TAG" in text
    assert "a release id, digest or tag that was live on the service" in text
    assert "or the digest of an image in its repository" in text
    # The checks come before anything changes, and a refused rollback leaves no hold.
    assert "Anything else is an error before anything changes" in text
    assert "A refused or failed rollback holds nothing and announces nothing" in text
