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


def test_yardstick_ratio_is_the_median_of_the_pairs_not_of_the_medians() -> None:
    from bench.cold import _yardstick_results

    app = Path("functions/image_push/app.py")
    # Function samples: (import, import + clients, CPU); yardstick samples: (wall, CPU). The pairs'
    # ratios are 1.5, 1.1 and 3.0 (wall) and 1.2, 1.0 and 2.0 (CPU): medians 1.5 and 1.2, where the
    # ratio of the CPU medians would be 100 / 55 ≈ 1.8.
    samples = {
        "yardstick:image_push": [[100.0, 50.0], [100.0, 100.0], [50.0, 55.0]],
        "image_push": [[90.0, 150.0, 60.0], [80.0, 110.0, 100.0], [70.0, 150.0, 110.0]],
    }
    [result] = _yardstick_results(samples, [app])
    assert (result.name, result.samples) == ("image_push", 3)
    assert (result.yardstick_ms, result.function_ms) == (100.0, 150.0)
    assert result.ratio == 1.5
    assert result.cpu_ratio == 1.2
