"""`kubespray2talos rehearse`: the migration engine against a twin of the cluster, in virtual time."""
# exercised by tests/cli/test_migrate.py

from __future__ import annotations

import sys
from pathlib import Path

import click

from migrate import ui
from migrate.cli.options import max_unavailable_option
from migrate.migration.filters import DrainOptions
from migrate.migration.rehearse import Rehearsal


@click.command()
@click.argument("snapshot", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("plan_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@max_unavailable_option
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for the twin's names and timings and for which requests the faults hit: same seed, same run.")
@click.option("--faults", metavar="SPEC", help="Faults to inject, comma-separated KIND=VALUE items (see below).")
@click.option("--delete-emptydir-data", is_flag=True, help="Evict pods with emptyDir volumes, as migrate would.")
@click.option("--force", is_flag=True, help="Evict pods no controller will recreate, as migrate would.")
@click.option("--decommission-time", metavar="DURATION", default="60s", show_default=True,
              help="What each decommission hook takes (a wave's hooks run side by side): 30s, 5m …")
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def rehearse(snapshot: Path, plan_dir: Path, max_unavailable: str | None, seed: int, faults: str | None,
             delete_emptydir_data: bool, force: bool, decommission_time: str, fmt: str) -> None:
    """Run the migration of PLAN_DIR against a twin of the cluster captured in SNAPSHOT (from `snapshot`).

    The same engine as `migrate`, through the same Cluster protocol, against a simulated API server (driven in
    process: no HTTP) with the cluster's nodes, workloads and budgets, its control planes' etcd members, and
    replacements that join when provisioned, and decommission hooks that take --decommission-time each (a wave's
    hooks run side by side, as migrate runs them) — in virtual time, so hours of drains take seconds. It reports the
    predicted duration (makespan), each wave's window, the evictions and budget violations, and the same
    migration one node at a time (the pace of Kubespray's remove-node) beside it; a drain the cluster would
    refuse is refused here too.

    Beside the makespan it prints the lower bound (control planes in turn, workers spread over the budget, the
    slowest node) and the one-at-a-time baseline, with the ratios, and the API calls the run made per evicted pod.

    --faults turns the rehearsal into a game day: what real migrations meet, injected into the twin, and a
    debrief that says, for each fault, what happened and what the run did about it.

    \b
    SPEC items (comma-separated; a kind may repeat):
      api-5xx=RATE[@FROM[-TO]]    that share of API requests answered 500/503 (a storm in a window)
      api-timeout=RATE[@FROM[-TO]] … answered 504, as a request that timed out
      api-429=RATE[@FROM[-TO]]    … answered 429 Too Many Requests
      node-notready=NODE[@AT]     that node's kubelet stops at AT: Ready turns Unknown
      pdb-block=NS/NAME[@AT]      that budget becomes maxUnavailable 0 at AT
      etcd-kill=HOST|etcdN[@AT]   that control plane's etcd member dies at AT
    RATE is 10% or 0.1; FROM, TO and AT are times after the start: 90s, 20m, 1h (default: at once).

    Exit status: 0 the rehearsal finished; 1 it stopped where the real run would (a refusal, a budget that never
    allows a disruption, a fault the run cannot get past: named); 2 bad input.

    \b
    Examples:
      kubespray2talos snapshot --out cluster.json && kubespray2talos rehearse cluster.json plan/
      kubespray2talos rehearse playbook_fixtures/clusters/demo.json build/demo/plan --delete-emptydir-data --force
      kubespray2talos rehearse cluster.json plan/ --faults api-5xx=10%,node-notready=w3@20m,etcd-kill=cp2 --seed 7
      kubespray2talos rehearse cluster.json plan/ --faults api-429=50%@10m-15m,pdb-block=shop/web -o json
    """
    from migrate.migration import plan_file
    from migrate.migration.faults import FaultPlan, parse
    from migrate.migration.rehearse import rehearse as run

    injected = FaultPlan(parse(faults), seed) if faults is not None else None
    hook_seconds = plan_file.parse_duration(decommission_time, "--decommission-time")
    plan = plan_file.load(plan_dir)
    if max_unavailable is not None:
        plan = plan_file.rewave(plan, max_unavailable)
    with ui.err.status("rehearsing on the twin…"):
        result = run(snapshot, plan, seed=seed, faults=injected, decommission_seconds=hook_seconds,
                     drain=DrainOptions(delete_emptydir_data=delete_emptydir_data, force=force, timeout=plan.drain_timeout))
    if fmt == "json":
        ui.emit(result.to_dict(), "json")
    else:
        _table(result)
    for blocker in result.blockers:
        ui.error(f"the rehearsal stopped where the real run would: {blocker}")
    if result.blockers:
        sys.exit(1)


def _table(result: Rehearsal) -> None:
    for wave in result.timeline:
        ui.out.print(ui.text(f"wave {wave['wave']:>3}  {wave['start']:>8.0f}s → {wave['end']:>8.0f}s  "
                             f"{', '.join(wave['hosts'])}"))
    ratio = f" (this plan takes {result.ratio_to_baseline:.2f}× that)" if result.ratio_to_baseline else ""
    bound = f" ({result.ratio_to_lower_bound:.2f}× the bound)" if result.ratio_to_lower_bound else ""
    ui.out.print(ui.text(f"makespan {_minutes(result.makespan)}; one node at a time {_minutes(result.baseline or 0)}"
                         f"{ratio}; lower bound {_minutes(result.lower_bound)}{bound}"))
    per = f", {result.calls_per_eviction:.1f} API calls per evicted pod" if result.calls_per_eviction else ""
    ui.out.print(ui.text(f"{result.evictions} pods evicted, {result.pdb_violations} budget violations{per}; "
                         f"decommission hooks rehearsed at {result.decommission_seconds:.0f}s each"))
    for entry in result.debrief:
        ui.out.print(ui.text(f"fault {entry['fault']}\n  happened: {entry['happened']}\n  the run: {entry['run_did']}"))
    if result.debrief:
        ui.out.print(ui.text(f"the run {result.outcome}"))


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"
