"""`kubespray2talos migrate`: replace the cluster's hosts node by node, journalled in the plan's ledger."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from migrate import ui
from migrate.clock import SystemClock
from migrate.errors import UserError
from migrate.migration.dryrun import WavePreview
from migrate.migration.engine import Event
from migrate.migration.filters import DrainOptions

if TYPE_CHECKING:
    from migrate.etcd.membership import EtcdMembership
    from migrate.migration.plan_file import MigrationPlan


@click.command()
@click.argument("plan_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--kubeconfig", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config).")
@click.option("--context", help="The kubeconfig context to use.")
@click.option("--dry-run", is_flag=True, help="Print every step, the pods each drain would evict and the budgets "
              "that would hold them; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for the cluster name before a real run.")
@click.option("--only", multiple=True, metavar="HOST", help="Migrate only these hosts (repeat the option).")
@click.option("--max-unavailable", type=int, help="Workers drained together at most (overrides migration.yaml).")
@click.option("--drain-timeout", metavar="DURATION", help="How long a drain may wait for budgets, e.g. 10m.")
@click.option("--delete-emptydir-data", is_flag=True, help="Evict pods with emptyDir volumes (their data is lost).")
@click.option("--force", is_flag=True, help="Evict pods no controller will recreate (they are gone for good).")
@click.option("--etcd-endpoints", metavar="URL,…", help="etcd client URLs (https://10.0.10.11:2379,…): control "
              "planes are migrated only with etcd membership.")
@click.option("--etcd-certs", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Kubespray's etcd_cert_dir copy (ca.pem, admin-HOST.pem, admin-HOST-key.pem).")
@click.option("--etcd-admin", metavar="HOST", help="Whose admin-HOST.pem to use (default: the first control plane).")
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def migrate(plan_dir: Path, kubeconfig: Path | None, context: str | None, dry_run: bool, yes: bool,
            only: tuple[str, ...], max_unavailable: int | None, drain_timeout: str | None, delete_emptydir_data: bool,
            force: bool, etcd_endpoints: str | None, etcd_certs: Path | None, etcd_admin: str | None, fmt: str) -> None:
    """Replace every old host of the plan in PLAN_DIR with its Talos node, wave by wave, as migration.yaml says.

    For each host: the replacement joins and is Ready (its provision hook), the old node is cordoned and
    drained with kubectl's semantics (PodDisruptionBudgets honoured, 429 retried until --drain-timeout), the
    evicted workloads are Ready elsewhere, a control plane's etcd member is removed (leadership moved off,
    the replacement promoted, projected quorum held, a snapshot first), the Node is deleted and the
    decommission hook retires the host. Control planes go one at a time; workers in waves of at most
    --max-unavailable.

    Every step is written to the plan's ledger before and after it acts: stop it (Ctrl-C stops after the
    current step), or lose the machine, and the same command goes on where it was. A Lease in kube-system
    makes sure only one migration runs against a cluster.

    Exit status: 0 done; 1 stopped on request; 2 refused or failed (the message says where and what to do).

    Control planes need etcd membership, so each old member is removed by peer URL after a snapshot: when
    migration.yaml names its `inventory`, etcdctl runs on an old etcd host through Ansible with Kubespray's
    certificates (snapshots kept on that host, /var/backups/kubespray2talos, 0600); or --etcd-endpoints and
    --etcd-certs run it here (snapshots in PLAN_DIR/etcd-snapshots). With an inventory, a host without a
    decommission hook is retired by the shipped decommission playbook (docs/decommission.md).

    \b
    Examples:
      kubespray2talos migrate plan/ --dry-run                    # what would happen, changing nothing
      kubespray2talos migrate plan/ --only w1 --only w2          # a first wave by hand
      kubespray2talos migrate plan/ --max-unavailable 3 --yes -o json | jq -c 'select(.kind=="step-failed")'
    """
    from migrate.cluster.kube import KubeCluster  # the client: only paid for by the verbs that reach a cluster
    from migrate.ledger import Ledger, plan_id
    from migrate.ledger.identity import actor
    from migrate.migration import plan_file
    from migrate.migration.dryrun import preview
    from migrate.migration.engine import Migration, Stopped
    from migrate.migration.hands import HookHands
    from migrate.migration.lock import MigrationLock, holder_identity

    plan = plan_file.load(plan_dir)
    if max_unavailable is not None:
        if max_unavailable < 1:
            raise UserError("must be at least 1", where="--max-unavailable")
        plan = plan_file.rewave(plan, max_unavailable)
    timeout = plan_file.parse_duration(drain_timeout, "--drain-timeout") if drain_timeout else plan.drain_timeout
    opts = DrainOptions(delete_emptydir_data=delete_emptydir_data, force=force, timeout=timeout)
    unknown = [h for h in only if h not in {m.host for m in plan.hosts}]
    if unknown:
        raise UserError(f"not in migration.yaml: {', '.join(unknown)}", where="--only")
    clock = SystemClock()
    cluster = KubeCluster(kubeconfig, context, clock=clock)
    ledger = Ledger.open(plan_dir / "ledger.db", plan_id(plan_dir), clock=clock)
    if dry_run:
        waves = preview(plan, cluster, opts, ledger, only)
        _show_preview(waves, fmt)
        return
    if not yes:
        typed = click.prompt(f"This drains and removes nodes of cluster {plan.cluster!r}. Type its name to go on")
        if typed != plan.cluster:
            raise UserError("the name typed does not match; nothing was changed", where="confirmation")
    run_id = f"{actor()}-{int(clock.now())}"
    etcd = _etcd(plan, plan_dir, etcd_endpoints, etcd_certs, etcd_admin)
    inventory = plan.inventory_path(plan_dir)
    if inventory is not None:
        from migrate.kubespray.inventory import inventory_sources  # the file Ansible loads, from a file or a directory

        inventory = inventory_sources(inventory)[0][0]
    engine = Migration(plan, cluster, ledger, HookHands(plan_dir=plan_dir, inventory=inventory), clock, run_id=run_id, etcd=etcd,
                       lock=MigrationLock(cluster, holder_identity(), clock), drain=opts,
                       on_event=lambda e: _show_event(e, fmt))

    def stop(signum: int, frame: FrameType | None) -> None:
        engine.stop_requested = True
        ui.warn("stopping after the current step (the lock is released, the ledger keeps where it was)")

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        engine.run(only)
    except Stopped as exc:
        ui.warn(str(exc))
        sys.exit(1)
    ui.note(f"done: {sum(1 for h in ledger.hosts() if h.state.value == 'decommissioned')} of "
            f"{len(plan.hosts)} hosts decommissioned (kubespray2talos status {plan_dir})")


def _etcd(plan: MigrationPlan, plan_dir: Path, endpoints: str | None, certs: Path | None,
          admin: str | None) -> EtcdMembership | None:
    """etcdctl here with --etcd-endpoints/--etcd-certs, else on an old etcd host of migration.yaml's inventory."""
    from migrate.cli.etcd import host_membership, local_membership

    if endpoints or certs:
        if not (endpoints and certs):
            raise UserError("give both --etcd-endpoints and --etcd-certs", where="--etcd-endpoints")
        who = admin or next(m.host for m in plan.hosts if m.is_control_plane)
        return local_membership(endpoints, certs, who, plan_dir)
    inventory = plan.inventory_path(plan_dir)
    if inventory is None or not any(m.is_control_plane for m in plan.hosts):
        return None
    return host_membership(inventory, None, last_to_move={m.host: m.wave for m in plan.hosts})


def _show_preview(waves: list[WavePreview], fmt: str) -> None:
    if fmt == "json":
        ui.emit({"dry_run": True, "waves": [w.to_dict() for w in waves]}, "json")
        return
    for w in waves:
        ui.out.print(ui.text(f"wave {w.number}: {', '.join(w.hosts)}  steps: {' → '.join(w.steps)}"))
        ui.out.print(ui.text(f"  evicts {len(w.evict)} pod(s): {', '.join(w.evict[:8])}"
                             + (" …" if len(w.evict) > 8 else "")))
        if w.blocking:
            ui.out.print(ui.text(f"  held now by PodDisruptionBudget {', '.join(w.blocking)} (disruptionsAllowed 0)"))
        if w.refused:
            ui.out.print(ui.text(f"  REFUSED: {w.refused}"))
    ui.note("dry run: nothing was changed")


def _show_event(event: Event, fmt: str) -> None:
    data = dataclasses.asdict(event)
    if fmt == "json":  # JSON lines: one event per line, for jq and log shippers
        click.echo(json.dumps(data, default=str))
        return
    if data["kind"] in ("step-started", "waiting"):
        return
    ui.out.print(ui.text(f"{data['kind']:<13} {data['host']:<24} {data['step']:<13} {data['detail']}"))
