"""Is the test suite slower at one commit than at another? Clone both commits side by side, install each
one's venv, then run their pytest suites alternately, suite by suite (before, after, after, before, …), so
the machine's drift falls on both; print each suite's wall time and the summed time of the tests both
commits have (matched by module and test name, so tests that moved folders still pair up).

    python scripts/suite-timing.py BEFORE AFTER [--rounds 2] [--suites unit,integration,e2e]

Run it on an otherwise idle machine: it measures, it does not judge. `e2e` also runs `tests/sandbox`
where that folder exists (the sandbox's own tests lived under tests/e2e before they moved).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
Key = tuple[str, str]


def _checkout(commit: str, where: Path) -> Path:
    tree = where / commit
    subprocess.run(["git", "clone", "-q", str(ROOT), str(tree)], check=True)
    subprocess.run(["git", "-C", str(tree), "checkout", "-q", commit], check=True)
    print(f"installing {commit} …", file=sys.stderr)
    subprocess.run(["make", "-C", str(tree), ".venv/.installed"], check=True, capture_output=True)
    return tree


def _run(tree: Path, suite: str, junit: Path) -> float:
    paths = [f"tests/{suite}"]
    extra: list[str] = []
    if suite == "e2e":
        extra = ["-n", "2"]
        if (tree / "tests" / "sandbox").is_dir():
            paths.append("tests/sandbox")
    started = time.perf_counter()
    done = subprocess.run(
        [str(tree / ".venv" / "bin" / "pytest"), "-q", *extra, f"--junitxml={junit}", *paths],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    # Failures are reported, not hidden: a failing suite's time is still a time, but say so.
    if done.returncode != 0:
        print(f"  {tree.name} {suite}: pytest exited {done.returncode}", file=sys.stderr)
    return elapsed


def _times(junit: Path) -> dict[Key, float]:
    found: dict[Key, float] = {}
    # pytest's own report, written by the run just before: not untrusted input.
    for case in ET.parse(junit).iter("testcase"):  # noqa: S314
        key = (case.get("classname", "").rsplit(".", 1)[-1], case.get("name", ""))
        found[key] = found.get(key, 0.0) + float(case.get("time", 0) or 0)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--suites", default="unit,integration,e2e")
    args = parser.parse_args()
    suites = [suite for suite in args.suites.split(",") if suite]
    with tempfile.TemporaryDirectory(prefix="suite-timing-") as scratch:
        where = Path(scratch)
        trees = {commit: _checkout(commit, where) for commit in (args.before, args.after)}
        walls: dict[tuple[str, str], list[float]] = {}
        cases: dict[tuple[str, str], dict[Key, float]] = {}
        for round_ in range(args.rounds):
            for suite in suites:
                order = [args.before, args.after] if round_ % 2 == 0 else [args.after, args.before]
                for commit in order:
                    junit = where / f"{commit}-{suite}-{round_}.xml"
                    walls.setdefault((commit, suite), []).append(_run(trees[commit], suite, junit))
                    merged = cases.setdefault((commit, suite), {})
                    for key, seconds in _times(junit).items():
                        merged[key] = merged.get(key, 0.0) + seconds / args.rounds
        print(
            f"{'suite':12} {'wall before':>12} {'wall after':>11}  tests (both)  summed time of tests in both"
        )
        for suite in suites:
            before, after = cases[(args.before, suite)], cases[(args.after, suite)]
            both = before.keys() & after.keys()
            summed_before = sum(before[key] for key in both)
            summed_after = sum(after[key] for key in both)
            change = (summed_after / summed_before - 1) * 100 if summed_before else 0.0
            wall_before = sum(walls[(args.before, suite)]) / args.rounds
            wall_after = sum(walls[(args.after, suite)]) / args.rounds
            print(
                f"{suite:12} {wall_before:11.1f}s {wall_after:10.1f}s"
                f"  {len(before)}→{len(after)} ({len(both)})"
                f"  {summed_before:.1f}s → {summed_after:.1f}s ({change:+.1f} %)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
