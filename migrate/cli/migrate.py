"""`kubespray2talos migrate`: replace the cluster's hosts node by node, journalled in the plan's ledger."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

import click

from migrate import ui
from migrate.cli.etcd_access import etcd_membership, etcd_options
from migrate.cli.options import max_unavailable_option
from migrate.cli.progress import Progress
from migrate.clock import SystemClock
from migrate.errors import UserError
from migrate.migration.dryrun import WavePreview
from migrate.migration.filters import DrainOptions


@click.command()
@click.argument("plan_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--kubeconfig", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config).")
@click.option("--context", help="The kubeconfig context to use.")
@click.option("--dry-run", is_flag=True, help="Print every step, the pods each drain would evict and the budgets "
              "that would hold them; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for the cluster name before a real run.")
@click.option("--only", multiple=True, metavar="HOST", help="Migrate only these hosts (repeat the option).")
@max_unavailable_option
@click.option("--drain-timeout", metavar="DURATION", help="How long a drain may wait for budgets, e.g. 10m.")
@click.option("--delete-emptydir-data", is_flag=True, help="Evict pods with emptyDir volumes (their data is lost).")
@click.option("--force", is_flag=True, help="Evict pods no controller will recreate (they are gone for good).")
@etcd_options
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def migrate(plan_dir: Path, kubeconfig: Path | None, context: str | None, dry_run: bool, yes: bool,
            only: tuple[str, ...], max_unavailable: str | None, drain_timeout: str | None, delete_emptydir_data: bool,
            force: bool, etcd_endpoints: str | None, etcd_certs: Path | None, etcd_admin: str | None, fmt: str) -> None:
    """Replace every old host of the plan in PLAN_DIR with its Talos node, wave by wave, as migration.yaml says.

    For each host: the replacement joins and is Ready (its provision hook), the old node is cordoned and
    drained with kubectl's semantics (PodDisruptionBudgets honoured, 429 retried until --drain-timeout), the
    evicted workloads are Ready elsewhere, a control plane's etcd member is removed (leadership moved off,
    the replacement promoted, projected quorum held, a snapshot first), the Node is deleted and the
    decommission hook retires the host. Control planes go one at a time; workers in waves of at most
    --max-unavailable. With `strategy: in-place` in migration.yaml each machine is drained and removed first,
    then reinstalled (its provision hook) and waited for until it rejoins as a new Node; a control plane only
    while etcd keeps quorum without its member.

    On a terminal the run is a live board (waves, hosts, steps, pods left to evict, the budget holding a
    drain); in a pipe one line per event; with -o json one JSON object per event.

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
        # the question and the answer's echo stay off stdout, which carries the run's events (click.prompt's do not)
        ui.err.print(ui.text(f"This drains and removes nodes of cluster {plan.cluster!r}. Type its name to go on: "),
                     end="")
        typed = sys.stdin.readline().strip()
        if typed != plan.cluster:
            raise UserError("the name typed does not match; nothing was changed", where="confirmation")
    run_id = f"{actor()}-{int(clock.now())}"
    etcd = etcd_membership(plan, plan_dir, etcd_endpoints, etcd_certs, etcd_admin, from_inventory=True)
    inventory = plan.inventory_path(plan_dir)
    if inventory is not None:
        from migrate.kubespray.inventory import inventory_sources  # the file Ansible loads, from a file or a directory

        inventory = inventory_sources(inventory)[0][0]
    progress = Progress(fmt)
    engine = Migration(plan, cluster, ledger, HookHands(plan_dir=plan_dir, inventory=inventory), clock, run_id=run_id,
                       etcd=etcd, lock=MigrationLock(cluster, holder_identity(), clock), drain=opts, on_event=progress)

    def stop(signum: int, frame: FrameType | None) -> None:
        engine.stop_requested = True
        ui.warn("stopping after the current step (the lock is released, the ledger keeps where it was)")

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        engine.run(only)
    except Stopped as exc:
        progress.close()
        ui.warn(str(exc))
        sys.exit(1)
    finally:
        progress.close()
    ui.note(f"done: {sum(1 for h in ledger.hosts() if h.state.value == 'decommissioned')} of "
            f"{len(plan.hosts)} hosts decommissioned (kubespray2talos status {plan_dir})")


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

