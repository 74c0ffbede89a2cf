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

from migrate.migration.faults import FaultPlan, parse  # noqa: E402
from migrate.migration.filters import DrainOptions  # noqa: E402
from migrate.migration.rehearse import DECOMMISSION_SECONDS, one_at_a_time, rehearse  # noqa: E402
from migrate.migration.rehearse import plan_from_snapshot as snapshot_plan  # noqa: E402

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


def timed(snapshot: Path, plan, opts, **kwargs):
    started, cpu = time.perf_counter(), time.process_time()
    result = rehearse(snapshot, plan, drain=opts, baseline=False, **kwargs)
    return result, time.process_time() - cpu, time.perf_counter() - started


def main() -> None:
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    opts = DrainOptions(delete_emptydir_data=True, force=True, timeout=1800)
    plan = plan_from_snapshot(SNAPSHOT, budget=10)
    as_is, cpu, _ = timed(SNAPSHOT, plan, opts)
    print(f"large-ha as captured ({cpu:.1f} s CPU): {as_is.outcome[:200]}")
    work = Path(tempfile.mkdtemp(prefix="ks2t-bench-"))
    snapshot, fixed = relaxed(SNAPSHOT, work / "large-ha-relaxed.json")
    print(f"  relaxing {fixed} budgets that never allow a disruption or overlap (preflight's job), rehearsing again")
    result, cpu, wall = timed(snapshot, plan, opts)
    print(f"large-ha rehearsal ({len(plan.hosts)} hosts, budget 10, decommission hooks {DECOMMISSION_SECONDS:.0f} s "
          f"each): {cpu:.1f} s CPU (budget 10 s: {'met' if cpu < 10 else 'NOT MET'}), {wall:.1f} s wall")
    print(f"  {result.outcome}")
    calls = sum(result.api_calls.values())
    print(f"  {result.evictions} pods evicted, {calls} API calls: {result.calls_per_eviction:.2f} per evicted pod "
          f"({', '.join(f'{verb} {n}' for verb, n in sorted(result.api_calls.items(), key=lambda kv: -kv[1]))})")
    started = time.process_time()
    one = one_at_a_time(snapshot, plan, drain=opts)  # each host retired before the next: remove-node's pace
    cpu_one = time.process_time() - started
    print(f"  makespan {result.makespan / 3600:.2f} h; one node at a time {one.makespan / 3600:.2f} h "
          f"({one.makespan / result.makespan:.1f}x; that run {cpu_one:.1f} s CPU); lower bound "
          f"{result.lower_bound / 3600:.2f} h (the plan is {result.makespan / result.lower_bound:.1f}x the bound)")
    faulty, cpu_f, _ = timed(snapshot, plan, opts, seed=7,
                             faults=FaultPlan(parse("api-5xx=4%,api-timeout=3%,api-429=3%"), 7))
    print(f"  with 10% of API calls failing ({cpu_f:.1f} s CPU): {faulty.outcome[:160]}")
    for entry in faulty.debrief:
        print(f"    {entry['fault']}: {entry['happened']}; {entry['run_did']}")
    print(kill_and_resume())


def kill_and_resume() -> str:
    """The test rig (6 nodes, over HTTP) killed at a random API call, then the same run again: every host
    decommissioned, one drain per host, no node deleted before its drain, every replica Ready."""
    from migrate.ledger import HostState, Ledger
    from tests.migration.harness import Crash, CrashingCluster, rig

    with tempfile.TemporaryDirectory() as scratch:
        with rig(Path(scratch)) as r:
            counter = CrashingCluster(r.cluster, at=10**9)
            r.engine(counter).run()
            whole = 10**9 - counter._left
    clean = crashed = 0
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(RESUME_SEEDS):
            tmp = Path(scratch) / str(seed)
            tmp.mkdir()
            with rig(tmp) as r:
                try:
                    r.engine(CrashingCluster(r.cluster, random.Random(seed).randint(1, whole)),
                             holder="op@bench:1").run()
                except Crash:
                    crashed += 1
                r.engine(run_id="again", holder="op@bench:1").run()
                ledger = Ledger.open(r.ledger_path)
                drains = [s for s in ledger.steps() if s.step == "drain" and s.outcome == "ok"]
                web = [p for p in r.cluster.list_pods(namespace="default") if p.labels.get("app") == "web"]
                clean += ({h.state for h in ledger.hosts()} == {HostState.DECOMMISSIONED}
                          and len(drains) == len({s.host for s in drains}) == 6
                          and len(web) == 3 and all(p.ready for p in web)
                          and all(n.name.endswith("-talos") for n in r.cluster.list_nodes()))
                ledger.close()
    return (f"kill-and-resume: {clean} of {RESUME_SEEDS} seeds resumed to a clean end ({crashed} crashed mid-run, "
            f"crash points drawn from the {whole} API calls of a whole run)")


if __name__ == "__main__":
    main()
