"""Benchmark: `plan` of a generated 1,000-host Kubespray inventory (issue 3's budget, as a ratio: bench/budget.py).

Times `kubespray2talos plan INVENTORY --out DIR` end to end in a fresh interpreter (as a user runs it),
first into an empty directory, then again over it (the re-run reads and reuses secrets.yaml), and the
in-process phases: reading the inventory, rendering, and the rest of plan_cluster (rules, schema validation
of every document and node patch, writing). Prints the figures with the machine they ran on; exits 1
when the end-to-end plan of 1,000 hosts costs more than BUDGET_BASELINES baselines measured in the same run.
Exit 1 of `plan` itself (written, with blockers: the generated inventory has no --pki) is a plan, not a failure.

    .venv/bin/python bench/bench_plan.py                  # 1,000 hosts
    .venv/bin/python bench/bench_plan.py --sizes 100,1000,5000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_inspect import machine
from budget import Budget, Took, baseline_seconds, judge, timed, within
from inventory_gen import write_inventory

BUDGET_HOSTS = 1000
BUDGET_BASELINES = within(10.0)  # issue 3: 1,000 hosts in 10 s


def time_cli(path: Path, out: Path) -> Took:
    command = [sys.executable, "-m", "migrate", "plan", str(path), "--out", str(out), "--output", "json"]
    done: subprocess.CompletedProcess[str] | None = None

    def plan() -> None:
        nonlocal done
        done = subprocess.run(command, capture_output=True, text=True)

    elapsed = timed(plan)
    assert done is not None
    if done.returncode not in (0, 1) or not (out / "controlplane.yaml").is_file():  # 1: written, with blockers
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def time_phases(path: Path, out: Path, hosts: int) -> tuple[float, float, float]:
    """(read, render, everything else in plan_cluster) in seconds, in this process."""
    from migrate.kubespray import load_cluster
    from migrate.talos.plan import PlanRequest, plan_cluster
    from migrate.talos.render import render
    from migrate.talos.secrets import generate_bundle
    from migrate.talos.versions import choose

    started = time.perf_counter()
    resolved = load_cluster(path)
    read = time.perf_counter() - started
    if len(resolved.spec.nodes) != hosts:
        raise SystemExit(f"read {len(resolved.spec.nodes)} hosts from {path}, expected {hosts}")
    talos = choose("auto", resolved.spec.kubernetes_version)
    started = time.perf_counter()
    render(resolved.spec, generate_bundle(), talos).files()
    rendering = time.perf_counter() - started
    started = time.perf_counter()
    plan_cluster(resolved, PlanRequest(inventory=path, out=out))
    rest = time.perf_counter() - started - rendering
    return read, rendering, rest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000", help="comma-separated host counts (default: %(default)s)")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]

    print(f"machine: {machine()}")
    before = baseline_seconds()  # and again after: the load may change while the plan runs
    print(f"{'hosts':>6}  {'plan (new dir)':>22}  {'plan (re-run)':>22}  {'read':>6}  {'render':>6}  {'rules+validate+write':>20}")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="ks2t-bench-") as tmp:
        for hosts in sizes:
            path = write_inventory(Path(tmp) / f"hosts-{hosts}", hosts)
            fresh = time_cli(path, Path(tmp) / f"plan-{hosts}")
            rerun = time_cli(path, Path(tmp) / f"plan-{hosts}")
            read, rendering, rest = time_phases(path, Path(tmp) / f"plan-inproc-{hosts}", hosts)
            print(f"{hosts:>6}  {fresh.wall:>6.2f} s ({fresh.cpu:5.2f} s CPU)  {rerun.wall:>6.2f} s ({rerun.cpu:5.2f} s CPU)"
                  f"  {read:>4.2f} s  {rendering:>4.2f} s  {rest:>18.2f} s")
            if hosts == BUDGET_HOSTS:
                worst = max(fresh.cpu, rerun.cpu)
    if not worst:
        return 0
    return judge([Budget(f"plan of {BUDGET_HOSTS} hosts (worst of new dir and re-run)", worst, BUDGET_BASELINES)],
                 (before + baseline_seconds()) / 2)


if __name__ == "__main__":
    sys.exit(main())
