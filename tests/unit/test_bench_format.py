"""The benchmark's pure parts: the JSON rows it writes and how it sizes an artifact."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from bench.run import Row
from bench.size import zipped_size
from tests.fakes import FakeWorld, digest_of, service_snapshot


def test_rows_serialize_with_the_five_documented_keys() -> None:
    row = Row("warm.image_push p50", 81.5, "us", "<= 1000", True)
    assert set(json.loads(json.dumps(asdict(row)))) == {"name", "value", "unit", "target", "ok"}


def test_zipped_size_leaves_bytecode_caches_out(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n" * 50, encoding="utf-8")
    without_cache = zipped_size(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "app.cpython-313.pyc").write_bytes(bytes(range(256)) * 40)
    assert zipped_size(tmp_path) == without_cache


def test_fake_index_claims_once_like_the_table() -> None:
    snapshot = service_snapshot("storefront", "web")
    world = FakeWorld([snapshot])
    from pushpilot.core.tracking import InFlight

    claim = InFlight(digest=digest_of("a"), release_id="r", started_at="2026-05-04T09:14:09+00:00")
    assert world.index.claim(snapshot.arn, claim)
    assert not world.index.claim(snapshot.arn, claim)
