"""`kubespray2talos etcd status`: the cluster's etcd members, matched to the plan's hosts by peer URL."""
# exercised by tests/etcd/test_status.py (the verb against a real etcd)

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from migrate import ui


@click.group()
def etcd() -> None:
    """etcd membership of the cluster being migrated (Kubespray names members etcd1..N, Talos after the node)."""


@etcd.command()
@click.argument("plan_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--endpoints", required=True, metavar="URL,…", help="etcd client URLs, e.g. https://10.0.10.11:2379.")
@click.option("--certs", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A copy of Kubespray's etcd_cert_dir (/etc/ssl/etcd/ssl): ca.pem, admin-HOST.pem, admin-HOST-key.pem.")
@click.option("--admin", metavar="HOST", help="Whose admin-HOST.pem to use (default: the plan's first control plane).")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds each etcdctl call may take.")
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def status(plan_dir: Path, endpoints: str, certs: Path, admin: str | None, timeout: float, fmt: str) -> None:
    """Every member (name, ID, URLs, leader, learner, version, DB size, raft index, health) matched to the
    plan's control planes by peer URL, and what is wrong: a member no host claims, a host whose member is
    missing, a learner not promoted, an unhealthy member, an even member count.

    Exit status: 0 healthy and matched; 1 a problem listed; 2 bad input or etcd unreachable.

    \b
    Examples:
      kubespray2talos etcd status plan/ --endpoints https://10.0.10.11:2379 --certs etcd-ssl/
      kubespray2talos etcd status plan/ --endpoints https://10.0.10.11:2379 --certs etcd-ssl/ -o json | jq .problems
    """
    from migrate.errors import UserError
    from migrate.etcd.etcdctl import EtcdAccess, EtcdctlMembership
    from migrate.etcd.membership import EtcdError
    from migrate.etcd.status import etcd_status, to_dict
    from migrate.migration import plan_file

    plan = plan_file.load(plan_dir)
    planes = {m.host: m.address or "" for m in plan.hosts if m.is_control_plane}
    who = admin if admin else str(next(iter(planes), ""))
    membership = EtcdctlMembership(EtcdAccess.kubespray(endpoints.split(","), certs, who), snapshot_dir=plan_dir,
                                   timeout=timeout)
    try:
        rows, problems = etcd_status(membership, planes)
    except EtcdError as exc:
        raise UserError(str(exc), where="--endpoints", hint="check the URLs, the certificates and that etcd runs") from None
    if fmt == "json":
        ui.emit(to_dict(rows, problems), "json")
    else:
        table = Table("name", "id", "host", "peer", "leader", "learner", "health", "version", "db", "raft index")
        for r in rows:
            table.add_row(ui.text(r.name), r.id, ui.text(r.host or "—"), ui.text(",".join(r.peer_urls)),
                          "yes" if r.leader else "", "yes" if r.learner else "", "ok" if r.healthy else ui.text(r.error),
                          r.version, f"{r.db_size / 1024:.0f} KiB", str(r.raft_index))
        ui.out.print(table)
        for p in problems:
            ui.warn(p)
    if problems:
        sys.exit(1)
