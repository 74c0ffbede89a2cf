"""Benchmark: the decommission ledger at fleet scale.

Builds a plan directory for 5,000 hosts (report.json, node patches) and a ledger with 100,000 events (hosts walked
along the lifecycle over 60 virtual days, with failures and retries) and 10,000 journalled steps, then times
`status` and the HTML report, in-process and as the CLI in a fresh interpreter.
Budgets (issue 12's 1 s for `status` and 2 s for the HTML report, as ratios against a baseline measured in the
same run: bench/budget.py). Exits 1 when a budget is missed.

    .venv/bin/python bench/bench_ledger.py [--hosts 5000] [--events 100000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from budget import Budget, baseline_seconds, cpu_now, judge, within  # noqa: E402

from migrate.clock import VirtualClock  # noqa: E402
from migrate.ledger import HostState, Ledger, default_path, plan_id  # noqa: E402
from migrate.ledger.fleet import fleet_report  # noqa: E402
from migrate.ledger.html import TIMELINE_SHOWN, to_html  # noqa: E402
from migrate.ledger.status import status_view  # noqa: E402

STATUS_BUDGET = within(1.0)  # issue 12: status in 1 s, the HTML report in 2 s
HTML_BUDGET = within(2.0)
S = HostState
WALK = [S.REPLACEMENT_READY, S.CORDONED, S.DRAINED, S.REMOVED, S.DECOMMISSIONING, S.DECOMMISSIONED]


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores (load average {load}), Python {platform.python_version()}, {platform.platform()}"


def make_plan(root: Path, hosts: int) -> tuple[Path, list[tuple[str, str]]]:
    plan = root / "plan"
    (plan / "nodes").mkdir(parents=True)
    names = [(f"cp{i}", "controlplane") for i in range(1, 4)] + [(f"node{i:05}", "worker") for i in range(hosts - 3)]
    for name, _ in names:
        (plan / "nodes" / f"{name}.yaml").write_text(f"machine:\n  network:\n    hostname: {name}\n")
    for doc in ("controlplane.yaml", "worker.yaml"):
        (plan / doc).write_text("version: v1alpha1\nmachine: {}\ncluster: {}\n")
    report = {"cluster": "bench", "nodes": [{"name": n, "role": r, "patch": f"nodes/{n}.yaml"} for n, r in names],
              "manual": ["etcd_version", "install disk", "node networking"]}
    (plan / "report.json").write_text(json.dumps(report))
    return plan, names


def reach(name: str) -> int:
    """How far along the lifecycle a host gets during the benchmark's 60 days (stable across runs)."""
    return min(len(WALK), sum(map(ord, name)) % 9)


def fill(plan: Path, names: list[tuple[str, str]], events: int) -> float:
    """Hosts walk the lifecycle round-robin; every fifth move fails once first and is retried (FAILED, back)."""
    clock = VirtualClock(start=time.time() - 60 * 86400)
    started = time.perf_counter()
    with Ledger.create(default_path(plan), plan_id(plan), names, clock=clock) as ledger:
        written, progress, steps = len(names), {n: 0 for n, _ in names}, 0
        tick = 60 * 86400 / events
        while written < events:
            with ledger.batch(run_id="bench"):
                for name, _ in names:
                    if written >= events:
                        break
                    stage = progress[name]
                    if stage >= reach(name):  # some hosts stop early, as in life
                        continue
                    clock.advance(tick)
                    state = WALK[stage]
                    if steps < 10_000:
                        step = ledger.begin_step(name, f"to-{state}", run_id="bench", intent={"to": state.value})
                    if written % 5 == 0 and state is not S.DECOMMISSIONED:
                        ledger.transition(name, S.FAILED, run_id="bench", step=f"to-{state}", outcome="failed",
                                          evidence={"error": "timeout"})
                        ledger.transition(name, WALK[stage - 1] if stage else S.ACTIVE, run_id="bench", step="retry")
                        written += 2
                    ledger.transition(name, state, run_id="bench", step=f"to-{state}", evidence={"pods_evicted": 7})
                    if steps < 10_000:
                        ledger.finish_step(step, "ok")
                        steps += 1
                    progress[name] = stage + 1
                    written += 1
            if all(p >= reach(n) for n, p in progress.items()):
                for name, _ in names:  # everyone is as far as they go: pad with notes-by-hand retries
                    if written >= events:
                        break
                    if ledger.host(name).state not in (S.DECOMMISSIONED, S.RETIRED):
                        ledger.transition(name, S.FAILED, run_id="bench", step="probe", outcome="failed")
                        ledger.transition(name, S.ACTIVE if progress[name] == 0 else WALK[progress[name] - 1],
                                          run_id="bench", step="retry")
                        written += 2
        return time.perf_counter() - started


def best_of(fn, repeat: int = 3) -> float:  # noqa: ANN001
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return min(samples)


CPU: dict[str, float] = {}  # what each CLI run cost in CPU seconds: the budgets count these


def cli(*args: str) -> float:
    start, cpu = time.perf_counter(), cpu_now()
    result = subprocess.run([sys.executable, "-m", "migrate", *args], capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - start
    CPU[args[0]] = cpu_now() - cpu
    if result.returncode not in (0, 1):
        sys.exit(f"{args}: exit {result.returncode}\n{result.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    before = baseline_seconds()
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        plan, names = make_plan(Path(tmp), args.hosts)
        took = fill(plan, names, args.events)
        if os.environ.get("BENCH_KEEP"):
            import shutil
            shutil.copytree(plan, os.environ["BENCH_KEEP"], dirs_exist_ok=True)
        with Ledger.open(default_path(plan)) as ledger:
            counts = (len(ledger.hosts()), len(ledger.events()), len(ledger.steps()))
        size = default_path(plan).stat().st_size / 1e6
        print(f"ledger: {counts[0]:,} hosts, {counts[1]:,} events, {counts[2]:,} steps, {size:.1f} MB "
              f"(written in {took:.1f} s, in batches)")

        from migrate import ui
        from migrate.cli.status import _json, _table

        def status_table() -> None:
            ui.out.file = ui.err.file = io.StringIO()  # timed, not shown
            _table(status_view(plan), every_host=False)

        timings = {
            "plan fingerprint (5,000 node patches)": best_of(lambda: plan_id(plan)),
            "status, in-process (table)": best_of(status_table),
            "status, in-process (json)": best_of(lambda: json.dumps(_json(status_view(plan)))),
            "status, CLI in a fresh interpreter (json)": cli("status", str(plan), "-o", "json"),
            "report data (all events)": best_of(lambda: fleet_report([plan])),
            "HTML report, in-process": best_of(lambda: to_html(fleet_report([plan], evidence=False, latest=TIMELINE_SHOWN))),
            "HTML report, CLI in a fresh interpreter": cli("report", str(plan), "--output", "html", "--out",
                                                           str(Path(tmp) / "r.html")),
        }
        html_mb = (Path(tmp) / "r.html").stat().st_size / 1e6
        for what, seconds in timings.items():
            print(f"  {what:<45} {seconds:6.2f} s")
        print(f"  (the HTML page is {html_mb:.1f} MB)")
    return judge([Budget("status, CLI (json)", CPU["status"], STATUS_BUDGET),
                  Budget("HTML report, CLI", CPU["report"], HTML_BUDGET)],
                 (before + baseline_seconds()) / 2)


if __name__ == "__main__":
    sys.exit(main())
