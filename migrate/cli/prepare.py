"""`kubespray2talos prepare`: the cluster-side changes before the first Talos node joins, shown, applied, reverted."""
# exercised by tests/cli/test_prepare.py

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from migrate import ui
from migrate.errors import UserError


@click.command()
@click.argument("plan_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--kubeconfig", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config).")
@click.option("--context", help="The kubeconfig context to use.")
@click.option("--dry-run", is_flag=True, help="Show every diff and change nothing (resourceVersions stay as they are).")
@click.option("--revert", is_flag=True, help="Put back what an earlier prepare changed (from PLAN_DIR/prepare-state.json);"
                                             " refused, naming the object, if someone changed it since.")
@click.option("--token-ttl", default="168h", show_default=True, metavar="DURATION",
              help="Lifetime of the bootstrap token Talos kubelets join with (renewed by a later prepare).")
@click.option("--yes", is_flag=True, help="Do not ask for the cluster name before changing the cluster.")
@click.option("--force", is_flag=True, help="Revert even though Talos nodes have joined (their kube-proxy and CNI "
                                            "lose the API).")
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def prepare(plan_dir: Path, kubeconfig: Path | None, context: str | None, dry_run: bool, revert: bool, token_ttl: str,
            yes: bool, force: bool, fmt: str) -> None:
    """Make the running Kubespray cluster ready for Talos nodes, before the first one joins: kube-proxy's kubeconfig
    and Calico's/Cilium's API endpoint off Kubespray's localhost:6443 nginx proxy onto the plan's stable endpoint,
    kube-public/cluster-info, the bootstrap token Secret Talos kubelets use (kubeadm's node group, an expiry),
    kubeadm's bootstrap RBAC where missing, and the kube-proxy DaemonSet's tier=node labels (deleted and created
    again: a selector cannot change in place). Host-side changes (the service-account issuer the old API servers
    must accept) are shown as the Kubespray variables to set; they are not applied.

    Each change is shown as a diff (secrets redacted), journalled in the plan's ledger (intent, then outcome) and
    its before-state kept in PLAN_DIR/prepare-state.json. A second prepare changes nothing.

    Exit status: 0 done (or nothing to do); 2 bad input, or a revert refused.

    \b
    Examples:
      kubespray2talos prepare plan/ --dry-run          # every diff, nothing changed
      kubespray2talos prepare plan/ --yes -o json | jq '.changes[] | select(.action != "none")'
      kubespray2talos prepare plan/ --revert --dry-run # what a revert would put back
      kubespray2talos prepare plan/ --revert --yes
    """
    from migrate.clock import SystemClock
    from migrate.cluster.base import ObjectRef
    from migrate.cluster.kube import KubeCluster
    from migrate.ledger import Ledger, plan_id
    from migrate.ledger.fleet import read_plan_report
    from migrate.ledger.identity import actor
    from migrate.migration import prepare as prep
    from migrate.migration.lock import MigrationLock, holder_identity
    from migrate.migration.plan_file import parse_duration
    from migrate.migration.prepare_host import host_steps, load_facts

    ttl = parse_duration(token_ttl, "--token-ttl")
    clock = SystemClock()
    cluster_name = str(read_plan_report(plan_dir).get("cluster") or "")
    cluster = KubeCluster(kubeconfig, context, clock=clock)
    try:
        if revert:
            changes = prep.plan_revert(cluster, plan_dir)
            steps = []
        else:
            facts = load_facts(plan_dir, ttl)
            changes = prep.plan_changes(cluster, facts, clock.now())
            steps = host_steps(plan_dir, cluster.read_object(ObjectRef("ConfigMap", "kubeadm-config", "kube-system")))
        pending = [c for c in changes if c.changes]
        if dry_run or not pending:
            _show(changes, steps, fmt, dry_run=dry_run, revert=revert)
            if not pending:
                ui.note(f"nothing to revert: no change of prepare is recorded in {plan_dir / prep.STATE_FILE}"
                        if revert else "nothing to change: the cluster is prepared")
            if dry_run:
                ui.note("dry run: nothing was changed")
            return
        if fmt == "table":
            _show(pending, [], fmt, dry_run=True, revert=revert)
        joined = prep.talos_nodes(cluster.list_nodes()) if revert else []
        if joined and not force:
            raise UserError(f"Talos nodes have joined ({', '.join(joined[:5])}{'…' if len(joined) > 5 else ''}): a "
                            "revert points their kube-proxy and CNI back at localhost:6443, where nothing listens",
                            where="--revert", hint="revert only before the first Talos node joins, or pass --force")
        if not yes:
            verb = "reverts" if revert else "changes"
            typed = click.prompt(f"This {verb} {len(pending)} object(s) of cluster {cluster_name!r}. Type its name to go on")
            if typed != cluster_name:
                raise UserError("the name typed does not match; nothing was changed", where="confirmation")
        run_id = f"prepare-{actor()}-{int(clock.now())}"
        lock = MigrationLock(cluster, holder_identity(), clock)  # never while a migrate (or another prepare) runs
        lock.acquire()
        try:
            with Ledger.open(plan_dir / "ledger.db", plan_id(plan_dir), clock=clock) as ledger:
                act = prep.revert if revert else prep.apply
                done = act(cluster, ledger, changes, plan_dir, run_id=run_id,
                           notify=(lambda c, what: ui.note(f"{what}: {c.action} {c.ref}")) if fmt == "table" else None)
        finally:
            lock.release()
        if fmt == "json":
            ui.emit(_json(changes, steps, dry_run=False, revert=revert), "json")
        else:
            _show_host(steps)
        ui.note(f"{'reverted' if revert else 'changed'} {len(done)} object(s); journalled in {plan_dir / 'ledger.db'}")
    finally:
        cluster.close()


def _json(changes: list[Any], steps: list[Any], *, dry_run: bool, revert: bool) -> dict[str, Any]:
    return {"dry_run": dry_run, "revert": revert, "changes": [c.to_dict() for c in changes],
            "host_side": [s.to_dict() for s in steps]}


def _show(changes: list[Any], steps: list[Any], fmt: str, *, dry_run: bool, revert: bool) -> None:
    if fmt == "json":
        ui.emit(_json(changes, steps, dry_run=dry_run, revert=revert), "json")
        return
    for c in changes:
        ui.out.print(ui.text(f"{'=' if not c.changes else '~'} {c.ref}: {c.title} [{c.action}]"))
        if c.changes:
            if c.why:
                ui.out.print(ui.text(f"  why: {c.why}"))
            for line in c.diff().splitlines():
                style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
                ui.out.print(ui.text(f"  {line}"), style=style)
    _show_host(steps)


def _show_host(steps: list[Any]) -> None:
    for s in steps:
        ui.out.print(ui.text(f"{'!' if s.needed else '='} host-side: {s.title} [{'to do' if s.needed else 'nothing to do'}]"))
        ui.out.print(ui.text(f"  {s.why}"))
        if s.variables:
            ui.out.print(ui.text("  set in the inventory's group_vars (k8s_cluster), then re-run Kubespray:"))
            for line in s.variables.splitlines():
                ui.out.print(ui.text(f"    {line}"))
            ui.out.print(ui.text(f"  run: {s.run}"))
