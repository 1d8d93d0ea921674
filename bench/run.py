"""`python -m bench.run [--smoke] --out FILE`: measure, print a table, write the rows as JSON.

Rows: `{"name", "value", "unit", "target", "ok"}`; `target` and `ok` are null for rows that inform
without a target. `--smoke` runs everything at tiny sizes and exits 0 whenever it ran: it proves the
harness works, not that the targets are met. See bench/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import calls, cold, ecs_calls, lambda_calls, size

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = PROJECT_ROOT / ".aws-sam" / "build"
TEMPLATE = PROJECT_ROOT / "template.yaml"
MB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    cold_runs: int
    warm_events: int
    services: tuple[int, ...]
    express_services: tuple[int, ...]
    shared_task_definition: int
    burst_pushes: int
    burst_repositories: int


FULL = Sizes(
    cold_runs=15,
    warm_events=1000,
    services=(1, 100, 1000),
    express_services=(1, 100),
    shared_task_definition=10,
    burst_pushes=1000,
    burst_repositories=50,
)
SMOKE = Sizes(
    cold_runs=2,
    warm_events=50,
    services=(1, 10),
    express_services=(1, 3),
    shared_task_definition=3,
    burst_pushes=6,
    burst_repositories=2,
)


@dataclass(frozen=True)
class Row:
    name: str
    value: float | int | str
    unit: str
    target: str | None
    ok: bool | None


def _child(module: str, *args: str) -> dict[str, Any]:
    """Run a bench module in its own process (its peak memory is its own) and read its JSON answer."""
    completed = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", module, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    answer: dict[str, Any] = json.loads(completed.stdout)
    return answer


YARDSTICK_TARGET = 1.05


def cold_rows(runs: int) -> list[Row]:
    results, yardsticks = cold.measure(PROJECT_ROOT / "functions", runs)
    floor = results[0]
    rows = [
        Row(f"cold_init.floor_ms (median of {floor.samples})", round(floor.median_ms, 1), "ms", None, None)
    ]
    for result in results[1:]:
        rows.append(
            Row(
                f"cold_init.{result.name}.import (module import {result.median_ms:.0f} ms)",
                round(result.median_ms / floor.median_ms, 2),
                "x floor",
                None,
                None,
            )
        )
        if result.with_setup_ms is not None:
            rows.append(
                Row(
                    f"cold_init.{result.name} (import + first-event clients {result.with_setup_ms:.0f} ms)",
                    round(result.with_setup_ms / floor.median_ms, 2),
                    "x floor",
                    None,
                    None,
                )
            )
    for pair in yardsticks:
        label = (
            f"cold_init.{pair.name}.vs_yardstick (import + first-event clients {pair.function_ms:.0f} ms;"
            f" yardstick {pair.yardstick_ms:.0f} ms; {pair.samples} interleaved pairs)"
        )
        rows.append(
            Row(
                f"{label} wall",
                round(pair.ratio, 2),
                "x yardstick",
                f"<= {YARDSTICK_TARGET}",
                pair.ratio <= YARDSTICK_TARGET,
            )
        )
        rows.append(Row(f"{label} CPU", round(pair.cpu_ratio, 2), "x yardstick", None, None))
    return rows


def warm_rows(events: int) -> tuple[list[Row], float]:
    answer = _child("bench.warm", "--events", str(events))
    rows: list[Row] = []
    for name, result in answer["paths"].items():
        label = f"warm.{name} [domain path + parse, fakes; {result['what']}]"
        rows.append(
            Row(f"{label} p50", round(result["p50_us"], 1), "us", "<= 1000", result["p50_us"] <= 1000)
        )
        rows.append(Row(f"{label} p99", round(result["p99_us"], 1), "us", None, None))
    return rows, float(answer["peak_rss_mb"])


def calls_rows(service_counts: tuple[int, ...]) -> list[Row]:
    rows: list[Row] = []
    budget = 3 + calls.SERVICES_DEPLOYED
    for count in calls.measure(list(service_counts)):
        prefix = f"calls_per_push.{count.services}_services"
        rows.append(
            Row(
                f"{prefix}.discovery_and_deploy (ECR + App Runner + index Query)",
                count.discovery_and_deploy,
                "calls",
                f"<= {budget} (3 + k, k={calls.SERVICES_DEPLOYED})",
                count.discovery_and_deploy <= budget and count.deployments_started == calls.SERVICES_DEPLOYED,
            )
        )
        rows.append(
            Row(
                f"{prefix}.handler_total (incl. DynamoDB/SQS bookkeeping)",
                count.handler_total,
                "calls",
                None,
                None,
            )
        )
        rows.append(
            Row(
                f"{prefix}.naive (ListServices paging + DescribeService each + deploy)",
                count.naive,
                "calls",
                None,
                None,
            )
        )
    return rows


def lambda_calls_rows(function_counts: tuple[int, ...]) -> list[Row]:
    rows: list[Row] = []
    for count in lambda_calls.measure(function_counts):
        prefix = f"calls_per_push.lambda.{count.functions}_functions_1_deployed"
        breakdown = ", ".join(
            f"{name.partition('.')[2]} {number}"
            for name, number in sorted(count.by_operation.items())
            if name.startswith(("lambda.", "ecr.")) or name == "dynamodb.Query"
        )
        rows += [
            Row(
                f"{prefix}.discovery_and_deploy"
                f" (ECR + index Query + GetFunction + UpdateFunctionCode: {breakdown})",
                count.push_discovery_and_deploy,
                "calls",
                None,
                None,
            ),
            Row(
                f"{prefix}.handler_total (incl. DynamoDB/SQS bookkeeping)",
                count.push_total,
                "calls",
                None,
                None,
            ),
            Row(
                f"{prefix}.outcome_look_lambda (GetFunction, then PublishVersion + GetAlias + UpdateAlias)",
                count.look_lambda,
                "calls",
                None,
                None,
            ),
            Row(
                f"refresh.lambda.{count.functions}_functions (ListFunctions pages + GetFunction each)",
                count.refresh_lambda,
                "calls",
                None,
                None,
            ),
        ]
    return rows


def ecs_calls_rows(
    service_counts: tuple[int, ...], express_counts: tuple[int, ...], shared: int
) -> list[Row]:
    rows: list[Row] = []
    for count in ecs_calls.measure(ecs_calls.cases(service_counts, express_counts, shared)):
        case = count.case
        # The ECS budget is the (3 + 3k); the Express issue names the rows but no budget.
        budget = 3 + 3 * case.deployed if case.kind == "ecs" else None
        operations = (
            "DescribeTaskDefinition + RegisterTaskDefinition + UpdateService"
            if case.kind == "ecs"
            else "DescribeExpressGatewayService + UpdateExpressGatewayService"
        )
        breakdown = ", ".join(
            f"{name.partition('.')[2]} {number}"
            for name, number in count.by_operation.items()
            if name.startswith(("ecs.", "ecr.")) or name == "dynamodb.Query"
        )
        prefix = f"calls_per_push.{case.label}"
        rows.append(
            Row(
                f"{prefix}.discovery_and_deploy (ECR + index Query + {operations}: {breakdown})",
                count.discovery_and_deploy,
                "calls",
                f"<= {budget} (3 + 3k, k={case.deployed})" if budget is not None else None,
                count.discovery_and_deploy <= budget and count.deployments_started == case.deployed
                if budget is not None
                else None,
            )
        )
        rows.append(
            Row(
                f"{prefix}.handler_total (incl. DynamoDB/SQS bookkeeping)",
                count.handler_total,
                "calls",
                None,
                None,
            )
        )
        naive = (
            "DescribeTaskDefinition each + RegisterTaskDefinition + UpdateService"
            if case.kind == "ecs"
            else "DescribeExpressGatewayService each + UpdateExpressGatewayService"
        )
        rows.append(
            Row(
                f"{prefix}.naive (ListClusters + ListServices paging + DescribeServices by 10 + {naive})",
                count.naive,
                "calls",
                None,
                None,
            )
        )
    return rows


def burst_rows(pushes: int, repositories: int) -> tuple[list[Row], float]:
    result = _child("bench.burst", "--pushes", str(pushes), "--repositories", str(repositories))
    label = (
        f"burst.{pushes}_pushes_{result['apprunner_services']}_apprunner_"
        f"{result['ecs_services']}_ecs_services_x{result['copies_per_event']}_copies"
    )
    wall = result["wall_seconds"]
    rows = [
        Row(
            f"{label}.errors",
            result["errors"] + result["dead_letters"],
            "count",
            "0",
            result["errors"] + result["dead_letters"] == 0,
        ),
        Row(
            f"{label}.deployments (expected {result['deployments_expected']})",
            result["deployments_started"],
            "count",
            str(result["deployments_expected"]),
            result["deployments_started"] == result["deployments_expected"]
            and result["repeated_deployments"] == 0,
        ),
        Row(
            f"{label}.services_on_newest_push",
            result["services_on_newest"],
            "count",
            str(repositories),
            result["services_on_newest"] == repositories,
        ),
        Row(
            f"{label}.wall_time (measured, not projected)",
            round(wall, 1),
            "s",
            "<= 60" if pushes >= 1000 else None,
            wall <= 60 if pushes >= 1000 else None,
        ),
        Row(f"{label}.wall_time.per_push", round(wall / max(1, pushes) * 1000, 1), "ms", None, None),
    ]
    for part, key in (
        ("handlers (in the functions, less their calls' answering)", "handler_seconds"),
        ("sandbox answering (gateway, moto, ECS and App Runner emulators)", "sandbox_answering_seconds"),
        ("sandbox other (ECR pushes, routing, ending deployments)", "sandbox_other_seconds"),
    ):
        seconds = result[key]
        rows.append(
            Row(
                f"{label}.wall_time.{part} ({100 * seconds / wall:.0f}%)",
                round(seconds, 1),
                "s",
                None,
                None,
            )
        )
    return rows, float(result["peak_rss_mb"])


def memory_rows(handlers_only_mb: float, burst_process_mb: float) -> list[Row]:
    return [
        Row(
            "peak_rss.handlers_only (all handler modules + every warm path, fakes)",
            round(handlers_only_mb, 1),
            "MB",
            "<= 100",
            handlers_only_mb <= 100,
        ),
        Row(
            "peak_rss.burst_process (handlers + moto + gateway + emulator + router)",
            round(burst_process_mb, 1),
            "MB",
            None,
            None,
        ),
    ]


def _function_ids() -> list[str]:
    text = TEMPLATE.read_text(encoding="utf-8")
    return re.findall(r"^  (\w+):\n    Type: AWS::Serverless::Function$", text, flags=re.MULTILINE)


def size_rows(*, smoke: bool) -> list[Row]:
    if BUILD_DIR.is_dir():
        sizes = size.from_build(BUILD_DIR, _function_ids(), PROJECT_ROOT)
    elif smoke:
        sizes = size.from_sources(PROJECT_ROOT)
    else:
        return [Row("artifact_size (.aws-sam/build missing)", "not built", "", "<= 1 MB", False)]
    rows: list[Row] = []
    for artifact in sizes:
        if artifact.zipped_bytes is None:
            rows.append(
                Row(f"artifact_size.{artifact.name} ({artifact.source})", "not built", "", "<= 1 MB", False)
            )
        else:
            label = f"artifact_size.{artifact.name}" + (
                " [source dir, not built]" if "not built" in artifact.source else ""
            )
            rows.append(
                Row(
                    label,
                    round(artifact.zipped_bytes / 1024, 1),
                    "KiB zipped",
                    "<= 1024",
                    artifact.zipped_bytes <= MB,
                )
            )
    return rows


def print_table(rows: list[Row]) -> None:
    width = max(len(row.name) for row in rows)
    print(f"{'measurement':<{width}}  {'value':>10}  {'unit':<10}  {'target':<24}  ok")
    for row in rows:
        ok = "-" if row.ok is None else ("yes" if row.ok else "NO")
        print(f"{row.name:<{width}}  {row.value!s:>10}  {row.unit:<10}  {row.target or '-':<24}  {ok}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: checks the harness runs, not the targets"
    )
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON rows")
    parser.add_argument("--burst-pushes", type=int, help="override the burst's number of pushes")
    parser.add_argument("--burst-repositories", type=int, help="override the burst's number of repositories")
    parser.add_argument(
        "--services", type=int, nargs="+", help="override the service counts for calls per push"
    )
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    pushes = args.burst_pushes or sizes.burst_pushes
    repositories = args.burst_repositories or sizes.burst_repositories
    services = tuple(args.services) if args.services else sizes.services

    rows: list[Row] = []
    print(f"cold init ({sizes.cold_runs} runs each) ...", file=sys.stderr)
    rows += cold_rows(sizes.cold_runs)
    print(f"warm cost ({sizes.warm_events} events per path) ...", file=sys.stderr)
    warm, handlers_only_mb = warm_rows(sizes.warm_events)
    rows += warm
    print(f"calls per push ({', '.join(map(str, services))} services) ...", file=sys.stderr)
    rows += calls_rows(services)
    print(
        f"ECS calls per push ({', '.join(map(str, services))} ECS services; "
        f"{', '.join(map(str, sizes.express_services))} Express services) ...",
        file=sys.stderr,
    )
    rows += ecs_calls_rows(services, sizes.express_services, sizes.shared_task_definition)
    print(
        f"Lambda calls per push ({', '.join(map(str, sizes.express_services))} functions) ...",
        file=sys.stderr,
    )
    rows += lambda_calls_rows(sizes.express_services)
    print(f"burst ({pushes} pushes across {repositories} repositories) ...", file=sys.stderr)
    burst, burst_mb = burst_rows(pushes, repositories)
    rows += burst
    rows += memory_rows(handlers_only_mb, burst_mb)
    rows += size_rows(smoke=args.smoke)

    print_table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
