"""Rehearsal speed and quality on the 200-node / ~4,000-pod large-ha snapshot, plus kill-and-resume at many points.

Prints: CPU seconds of one rehearsal, API calls per evicted pod, predicted makespan vs one node at a time vs the
lower bound, and how many random crash points resumed to a clean end. Run by `make bench`, never by `make test`.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from migrate.migration.filters import DrainOptions  # noqa: E402
from migrate.migration.rehearse import plan_from_snapshot as snapshot_plan  # noqa: E402
from migrate.migration.rehearse import rehearse  # noqa: E402

SNAPSHOT = REPO / "playbook_fixtures" / "clusters" / "large-ha.json"
RESUME_SEEDS = int(os.environ.get("KS2T_BENCH_SEEDS", "200"))


def plan_from_snapshot(path: Path, budget: int):
    return snapshot_plan(path, budget, cluster="large-ha")


def relaxed(path: Path, out: Path) -> tuple[Path, int]:
    """The snapshot with every budget that can never allow a disruption set to maxUnavailable 1 — what an operator
    fixes before the night (the rehearsal of the snapshot as it is stops at the first one, as the real run would)."""
    import math

    data = json.loads(path.read_text())
    objects = data["objects"]
    replicas = {(d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"].get("replicas", 1)
                for d in objects.get("deployments.apps", []) + objects.get("statefulsets.apps", [])}
    fixed = 0
    kept, seen = [], set()
    for pdb in objects.get("poddisruptionbudgets.policy", []):  # a pod under two budgets is never evicted: keep one
        selector = (pdb["metadata"]["namespace"], json.dumps(pdb["spec"]["selector"], sort_keys=True))
        fixed += selector in seen
        if selector not in seen:
            kept.append(pdb)
        seen.add(selector)
    objects["poddisruptionbudgets.policy"] = kept
    for pdb in kept:
        spec = pdb["spec"]
        if spec.get("maxUnavailable") in (0, "0%"):
            spec["maxUnavailable"] = 1
            fixed += 1
        name = (pdb["metadata"]["namespace"], spec["selector"]["matchLabels"].get("app.kubernetes.io/name", ""))
        want = spec.get("minAvailable")
        n = replicas.get(name, 0)
        if want is not None and n and (math.ceil(n * int(str(want).rstrip("%")) / 100) if str(want).endswith("%")
                                       else int(want)) >= n:
            spec.pop("minAvailable")
            spec["maxUnavailable"] = 1
            fixed += 1
    out.write_text(json.dumps(data))
    return out, fixed


def main() -> None:
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    opts = DrainOptions(delete_emptydir_data=True, force=True, timeout=1800)
    plan = plan_from_snapshot(SNAPSHOT, budget=10)
    as_is = rehearse(SNAPSHOT, plan, drain=opts, baseline=False)
    print(f"large-ha as captured: {len(as_is.blockers)} blocker(s): {as_is.blockers[0][:160] if as_is.blockers else '-'}")
    work = Path(tempfile.mkdtemp(prefix="ks2t-bench-"))
    snapshot, fixed = relaxed(SNAPSHOT, work / "large-ha-relaxed.json")
    print(f"  relaxing {fixed} budgets that never allow a disruption (preflight's job) and rehearsing again")
    started, cpu = time.perf_counter(), time.process_time()
    result = rehearse(snapshot, plan, drain=opts, baseline=False)
    cpu = time.process_time() - cpu
    print(f"large-ha rehearsal ({len(plan.hosts)} hosts, budget 10): {cpu:.1f} s CPU, "
          f"{time.perf_counter() - started:.1f} s wall, {result.evictions} evictions")
    print(f"  makespan {result.makespan / 3600:.2f} h, lower bound {result.lower_bound / 3600:.2f} h")
    for blocker in result.blockers:  # e.g. a pod under two budgets: the eviction API never evicts it
        print(f"  stopped at: {blocker.splitlines()[0][:200]}")
    one = rehearse(snapshot, plan_from_snapshot(SNAPSHOT, budget=1), drain=opts, baseline=False)
    print(f"  one node at a time: {one.makespan / 3600:.2f} h ({one.makespan / result.makespan:.1f}x the budgeted run)")
    sys.path.insert(0, str(REPO))
    from tests.migration.harness import Crash, CrashingCluster, rig  # the test rig: a 6-node HA cluster

    clean = 0
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(RESUME_SEEDS):
            tmp = Path(scratch) / str(seed)
            tmp.mkdir()
            with rig(tmp) as r:
                try:
                    r.engine(CrashingCluster(r.cluster, random.Random(seed).randint(1, 400)), holder="op@bench:1").run()
                except Crash:
                    pass
                r.engine(run_id="again", holder="op@bench:1").run()
                clean += len(r.cluster.list_nodes()) == 6 and all(n.name.endswith("-talos") for n in r.cluster.list_nodes())
    print(f"kill-and-resume: {clean} of {RESUME_SEEDS} random crash points resumed to a clean end")


if __name__ == "__main__":
    main()
