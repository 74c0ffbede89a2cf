"""Benchmark: reading a generated 100 / 1,000 / 5,000-host Kubespray inventory.

Times `migrate.kubespray.load_cluster(path)` in-process and `kubespray2talos inspect PATH --output json`
end to end (a fresh interpreter, as a user runs it), prints the figures with the machine they ran on, and
exits 1 when the 5,000-host inspect costs more than BUDGET_BASELINES baselines measured in the same run
(issue 2's 5 s, as a ratio: bench/budget.py).

    .venv/bin/python bench/bench_inspect.py                 # all sizes
    .venv/bin/python bench/bench_inspect.py --sizes 100,1000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from budget import Budget, Took, baseline_seconds, cpu_now, judge, within
from inventory_gen import write_inventory

BUDGET_HOSTS = 5000
BUDGET_BASELINES = within(5.0)  # issue 2: 5,000 hosts in 5 s


def machine() -> str:
    from ansible import __version__ as ansible_core

    # the load average says whether the figures were taken on a busy (shared) machine
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores (load average {load}), Python {platform.python_version()}, "
            f"ansible-core {ansible_core}, {platform.platform()}")


def time_load(path: Path, hosts: int) -> float:
    """Seconds for one in-process load_cluster(path); checks it read every host."""
    from migrate.kubespray import load_cluster

    started = time.perf_counter()
    resolved = load_cluster(path)
    elapsed = time.perf_counter() - started
    if len(resolved.spec.nodes) != hosts:
        raise SystemExit(f"load_cluster read {len(resolved.spec.nodes)} hosts from {path}, expected {hosts}")
    return elapsed


def time_inspect(path: Path, hosts: int) -> Took:
    """Wall-clock and CPU seconds for `kubespray2talos inspect PATH --output json` in a new process."""
    command = [sys.executable, "-m", "migrate", "inspect", str(path), "--output", "json"]
    wall, cpu = time.perf_counter(), cpu_now()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = Took(time.perf_counter() - wall, cpu_now() - cpu)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    nodes = json.loads(done.stdout)["spec"]["nodes"]
    if len(nodes) != hosts:
        raise SystemExit(f"inspect reported {len(nodes)} hosts for {path}, expected {hosts}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,5000", help="comma-separated host counts (default: %(default)s)")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]

    print(f"machine: {machine()}")
    before = baseline_seconds()  # and again after: the load may change while the benchmark runs
    with tempfile.TemporaryDirectory(prefix="ks2t-bench-") as tmp:
        # first call pays Ansible's plugin loading once; report it apart so the sizes compare like with like
        warm_up = time_load(write_inventory(Path(tmp) / "warm-up", 4), 4)
        print(f"warm-up (4 hosts, first load in this process): {warm_up:.2f} s")
        print(f"{'hosts':>6}  {'load_cluster':>12}  {'inspect --output json':>28}  {'per 1,000 hosts':>15}")
        results: dict[int, Took] = {}
        for hosts in sizes:
            path = write_inventory(Path(tmp) / f"hosts-{hosts}", hosts)
            load = time_load(path, hosts)
            results[hosts] = time_inspect(path, hosts)
            took = results[hosts]
            print(f"{hosts:>6}  {load:>10.2f} s  {took.wall:>8.2f} s ({took.cpu:6.2f} s CPU)  "
                  f"{took.wall * 1000 / hosts:>13.2f} s")

    if BUDGET_HOSTS not in results:
        return 0
    return judge([Budget(f"inspect of {BUDGET_HOSTS} hosts", results[BUDGET_HOSTS].cpu, BUDGET_BASELINES)],
                 (before + baseline_seconds()) / 2)


if __name__ == "__main__":
    sys.exit(main())
