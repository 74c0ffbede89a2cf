"""Issue 13's check on the whole 200-node / ~4,000-pod fixture: `migrate`'s engine over HTTP with the official client
against the twin in virtual time (budgets that can never allow a disruption relaxed, as preflight asks). Prints
whether every host was decommissioned, budget violations, workloads short of Ready replicas, HTTP requests per
evicted pod, and the CPU and wall time of the run on this machine. Run by hand (`make bench`), never by `make test`;
tests/migration/test_large.py runs a 40-node cut of the same fixture inside `make test`.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.migration.over_http import LARGE, cut, migrate_over_http, relaxed  # noqa: E402


def main() -> None:
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    budget = int(os.environ.get("KS2T_BENCH_BUDGET", "10"))
    snapshot = relaxed(json.loads(LARGE.read_text()))
    workers = int(os.environ.get("KS2T_BENCH_WORKERS", "197"))
    if workers < 197:
        snapshot = cut(snapshot, workers, teams=max(1, workers * 50 // 197))
    nodes, pods = len(snapshot["objects"]["nodes"]), len(snapshot["objects"]["pods"])
    with tempfile.TemporaryDirectory(prefix="ks2t-night-") as scratch:
        night = migrate_over_http(snapshot, Path(scratch), budget)
    done = sum(state == "decommissioned" for state in night.hosts.values())
    print(f"migrate over HTTP, {nodes} nodes / {pods} pods, budget {budget}: {night.cpu:.1f} s CPU, "
          f"{night.wall:.1f} s wall (client, facade and simulated cluster in one process)")
    print(f"  {done} of {len(night.hosts)} hosts decommissioned; {night.pdb_violations} budget violations; "
          f"{len(night.lost)} workloads short of Ready replicas{': ' + ', '.join(night.lost) if night.lost else ''}")
    print(f"  {night.evicted} pods evicted, {len(night.forced)} bare pods deleted as `drain --force` does "
          f"({', '.join(night.forced)}); predicted makespan {night.makespan / 3600:.2f} h")
    attempts = sum(e.kind in ("evicted", "blocked") for e in night.events)
    print(f"  {attempts} eviction attempts, {attempts / max(1, night.evicted):.2f} per evicted pod (429s retried every "
          "5 s, as kubectl's drain does)")
    total = sum(night.requests.values())
    print(f"  {total} HTTP requests: {night.requests_per_evicted_pod:.2f} per evicted pod "
          f"({', '.join(f'{verb} {n}' for verb, n in night.requests.most_common())})")


if __name__ == "__main__":
    main()
