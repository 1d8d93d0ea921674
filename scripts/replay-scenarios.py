#!/usr/bin/env python3
"""Replay every scenario and compare what the product did: the proof that a refactoring changed no behaviour.

    scripts/replay-scenarios.py run OUT_DIR              # every scenarios/*.yaml of this tree, one JSON each
    scripts/replay-scenarios.py run OUT_DIR --rev main   # the same for a git revision (checked out aside)
    scripts/replay-scenarios.py compare BEFORE AFTER     # two such directories: prints every difference
    scripts/replay-scenarios.py revisions REV_A REV_B    # both revisions checked out aside, then compared

A replay keeps the report's calls, notifications, Slack messages, errors, dead letters, refused events and
runs. What a sandbox makes up afresh on each run (UUIDs, readings of the wall clock, local ports) is replaced
by a placeholder (see _Normaliser), so two runs of the same code give the same file. `compare` and
`revisions` exit 1 on any difference, 0 when the replays agree.

Four scenarios still differ between two runs of one commit, whatever the normalising: `duplicates` and
`ecs-duplicates` deliver one event to concurrent invocations (which one wins, and whether the loser
retries into the dead-letter queue, depends on the threads' timing), and `demo` and `domain-child-zone`
update a Slack headline only when a notice is newer by the clock's second. A difference in those four is a
reason to replay them again, not yet a change of behaviour.

Only the standard library: the script runs any checkout with the interpreter of this tree's .venv, putting the
checkout's packages first on the import path.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT_KEYS = ("calls", "notifications", "slack_messages", "errors", "dead_letters", "refused_events", "runs")

# Values the sandbox invents on every run. UUIDs are numbered by first appearance within one scenario's
# report, so equal ids stay equal and distinct ids stay distinct. Readings of the wall clock (ISO times and
# epoch seconds or milliseconds from a little before the run to a few years after it: TTLs and expiries)
# become one `<clock>` token: two readings may or may not fall in the same second, so numbering them would
# not be stable. Times a scenario fixes (event times, the sandbox's Slack `ts`) lie outside that window
# and are kept. The sandbox's endpoints listen on a free port of 127.0.0.1 chosen at start.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# Commit ids, idempotency keys and image digests: hex strings of 32 to 64 characters.
_HEX = re.compile(r"(?<![0-9a-f])[0-9a-f]{32,64}(?![0-9a-f])")
# Generated AWS ids (hosted zones, change ids): capitals and digits, both present, 13 to 32 long.
_AWS_ID = re.compile(r"(?<![A-Za-z0-9])(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{13,32}(?![A-Za-z0-9])")
# Opaque tokens that carry no id pattern of their own.
_OPAQUE_KEYS = frozenset({"ReceiptHandle"})
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
_EPOCH = re.compile(r"(?<![\d.])\d{10}(?:\d{3})?(?:\.\d+)?(?![\d])")
_LOCAL_PORT = re.compile(r"(127\.0\.0\.1|localhost):\d+")
_CLOCK_BEFORE = 2 * 86400
_CLOCK_AFTER = 3 * 366 * 86400


class _Normaliser:
    def __init__(self, now: float) -> None:
        self.ids: dict[tuple[str, str], str] = {}
        self.counts: dict[str, int] = {}
        self.window = (now - _CLOCK_BEFORE, now + _CLOCK_AFTER)

    def token(self, kind: str, value: str) -> str:
        if (kind, value) not in self.ids:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.ids[kind, value] = f"<{kind}-{self.counts[kind]}>"
        return self.ids[kind, value]

    def _uuid(self, match: re.Match[str]) -> str:
        return self.token("uuid", match.group(0).lower())

    def _on_clock(self, seconds: float) -> bool:
        return self.window[0] <= seconds <= self.window[1]

    def _epoch(self, match: re.Match[str]) -> str:
        text = match.group(0)
        whole = text.split(".", 1)[0]
        seconds = int(whole) / (1000 if len(whole) == 13 else 1)
        return "<clock>" if self._on_clock(seconds) else text

    def _iso(self, match: re.Match[str]) -> str:
        text = match.group(0)
        try:
            moment = datetime.fromisoformat(text.replace(" ", "T"))
        except ValueError:
            return text
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return "<clock>" if self._on_clock(moment.timestamp()) else text

    def text(self, value: str) -> str:
        value = _UUID.sub(self._uuid, value)
        value = _HEX.sub(lambda match: self.token("hex", match.group(0)), value)
        value = _AWS_ID.sub(lambda match: self.token("id", match.group(0)), value)
        value = _ISO_TIME.sub(self._iso, value)
        value = _EPOCH.sub(self._epoch, value)
        return _LOCAL_PORT.sub(r"\1:<port>", value)

    def walk(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                self.text(k): self.token("opaque", str(v)) if k in _OPAQUE_KEYS else self.walk(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        if isinstance(value, str):
            # A JSON document inside a string (an SQS body, a Lambda payload) is normalised as data, so
            # that a difference shows as a field, not as one long line.
            if value[:1] in "{[":
                try:
                    inner = json.loads(value)
                except ValueError:
                    pass
                else:
                    return {"<json>": self.walk(inner)}
            return self.text(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self.text(str(value)) if self.text(str(value)) == "<clock>" else value
        return value


def normalise(report: dict[str, Any], *, now: float) -> dict[str, Any]:
    normaliser = _Normaliser(now)
    return {key: normaliser.walk(report.get(key, [])) for key in REPORT_KEYS}


def _command(checkout: Path) -> tuple[list[str], dict[str, str]]:
    """How to run `pushpilot` from `checkout` with this tree's interpreter."""
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        sys.exit(f"{python} is missing: run `make .venv/.installed` first")
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    if checkout.resolve() != ROOT:
        # The editable install maps the package names onto this tree; links named as the packages are
        # imported put the other checkout first on the path (the install's finder comes after the path's).
        links = checkout / ".replay-packages"
        links.mkdir(exist_ok=True)
        for name, target in (
            ("pushpilot", checkout / "layers" / "pushpilot" / "python" / "pushpilot"),
            ("pushpilot_sandbox", checkout / "sandbox"),
            ("pushpilot_cli", checkout / "cli"),
        ):
            link = links / name
            if not link.is_symlink():
                link.symlink_to(target)
        env["PYTHONPATH"] = str(links)
    code = "import sys; from pushpilot_cli.main import main; sys.exit(main())"
    return [str(python), "-c", code], env


def _replay_one(checkout: Path, scenario: Path, out_dir: Path) -> tuple[str, int, str]:
    command, env = _command(checkout)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="replay-") as scratch:
        raw = Path(scratch) / "report.json"
        result = subprocess.run(
            [*command, "simulate", str(scenario), "--report", str(raw)],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        record: dict[str, Any] = {"scenario": scenario.name, "exit_code": result.returncode}
        if raw.exists():
            record.update(normalise(json.loads(raw.read_text(encoding="utf-8")), now=started))
        else:
            record["stderr_tail"] = result.stderr.strip().splitlines()[-5:]
    target = out_dir / f"{scenario.stem}.json"
    target.write_text(
        json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return scenario.name, result.returncode, str(target)


def replay(checkout: Path, out_dir: Path, *, jobs: int, only: list[str] | None = None) -> int:
    scenarios = sorted((checkout / "scenarios").glob("*.yaml"))
    if only:
        scenarios = [s for s in scenarios if s.stem in only or s.name in only]
    out_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, code, target in pool.map(lambda s: _replay_one(checkout, s, out_dir), scenarios):
            print(f"{'ok ' if code == 0 else f'exit {code}'}  {name} -> {target}", flush=True)
    print(f"{len(scenarios)} scenario(s) replayed from {checkout} into {out_dir}")
    # A scenario that exits non-zero is recorded (its exit code is part of the behaviour), not an error here.
    return 0 if scenarios else 1


def compare(before: Path, after: Path) -> int:
    names = sorted({p.name for p in before.glob("*.json")} | {p.name for p in after.glob("*.json")})
    differing = 0
    for name in names:
        a, b = before / name, after / name
        if not a.exists() or not b.exists():
            differing += 1
            print(f"--- {name}: only in {'after' if not a.exists() else 'before'}")
            continue
        lines_a = a.read_text(encoding="utf-8").splitlines()
        lines_b = b.read_text(encoding="utf-8").splitlines()
        if lines_a != lines_b:
            differing += 1
            sys.stdout.writelines(
                line + "\n"
                for line in difflib.unified_diff(lines_a, lines_b, f"before/{name}", f"after/{name}", n=3)
            )
    print(f"{len(names)} scenario(s) compared, {differing} differ")
    return 1 if differing else 0


@contextmanager
def _checkout(rev: str | None) -> Iterator[Path]:
    """This tree (rev None), or `rev` checked out into a temporary directory for the duration."""
    if rev is None:
        yield ROOT
        return
    scratch = Path(tempfile.mkdtemp(prefix="replay-checkout-"))
    checkout = scratch / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(checkout), rev],
        check=True,
    )
    try:
        yield checkout
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(checkout)],
            check=False,
        )
        shutil.rmtree(scratch, ignore_errors=True)


def revisions(rev_a: str, rev_b: str, *, jobs: int, keep: Path | None, only: list[str] | None) -> int:
    results = keep or Path(tempfile.mkdtemp(prefix="replay-revisions-"))
    try:
        for label, rev in (("before", rev_a), ("after", rev_b)):
            with _checkout(rev) as checkout:
                replay(checkout, results / label, jobs=jobs, only=only)
        return compare(results / "before", results / "after")
    finally:
        if keep is None:
            shutil.rmtree(results, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="replay this tree's scenarios (or REV's) into OUT_DIR")
    run_parser.add_argument("out_dir", type=Path)
    run_parser.add_argument("--rev", help="replay this git revision instead of the working tree")
    compare_parser = commands.add_parser("compare", help="compare two replay directories")
    compare_parser.add_argument("before", type=Path)
    compare_parser.add_argument("after", type=Path)
    revisions_parser = commands.add_parser("revisions", help="replay two git revisions and compare them")
    revisions_parser.add_argument("rev_a")
    revisions_parser.add_argument("rev_b")
    revisions_parser.add_argument("--keep", type=Path, help="keep the two replay directories here")
    for sub in (run_parser, revisions_parser):
        # Two at a time: each replay starts a sandbox of its own, and more would only queue on the CPUs.
        sub.add_argument("--jobs", type=int, default=2, choices=(1, 2))
        sub.add_argument("--only", nargs="+", help="scenario names (without .yaml) to replay")
    args = parser.parse_args(argv)
    # Stopped with SIGTERM, a run still removes the checkout it made (the context managers' finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.command == "run":
        with _checkout(args.rev) as checkout:
            return replay(checkout, args.out_dir, jobs=args.jobs, only=args.only)
    if args.command == "compare":
        return compare(args.before, args.after)
    return revisions(args.rev_a, args.rev_b, jobs=args.jobs, keep=args.keep, only=args.only)


if __name__ == "__main__":
    sys.exit(main())
