"""`kubespray2talos etcd status`: the cluster's etcd members, matched to the inventory's (or plan's) hosts by peer URL."""
# exercised by tests/etcd/test_status.py (the verb against a real etcd, here and on an etcd host)

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click
from rich.table import Table

from migrate import ui
from migrate.errors import UserError

if TYPE_CHECKING:
    from migrate.etcd.etcdctl import EtcdctlMembership
    from migrate.etcd.onhost import EtcdHost


@click.group()
def etcd() -> None:
    """etcd membership of the cluster being migrated (Kubespray names members etcd1..N, Talos after the node)."""


@etcd.command()
@click.argument("target", type=click.Path(exists=True, path_type=Path), metavar="INVENTORY|PLAN_DIR")
@click.option("--on", "on_host", metavar="HOST", help="The etcd host to run etcdctl on (default: the first in `etcd`).")
@click.option("--inventory", type=click.Path(exists=True, path_type=Path),
              help="With a PLAN_DIR whose migration.yaml names no inventory: the Kubespray inventory.")
@click.option("--vault-password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the Ansible Vault password, as for ansible-playbook.")
@click.option("--endpoints", metavar="URL,…", help="Run etcdctl here instead, against these client URLs "
              "(https://10.0.10.11:2379); needs --certs.")
@click.option("--certs", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="With --endpoints: a copy of Kubespray's etcd_cert_dir (ca.pem, admin-HOST.pem, admin-HOST-key.pem).")
@click.option("--admin", metavar="HOST", help="With --certs: whose admin-HOST.pem to use (default: the first etcd host).")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds each etcdctl call may take.")
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def status(target: Path, on_host: str | None, inventory: Path | None, vault_password_file: Path | None,
           endpoints: str | None, certs: Path | None, admin: str | None, timeout: float, fmt: str) -> None:
    """Every member (name, ID, URLs, leader, learner, version, DB size, raft index, health) matched to the
    hosts by peer URL, and what is wrong: a member no host claims, a host whose member is missing, a learner
    not promoted, an unhealthy member, an even member count.

    INVENTORY: the Kubespray inventory; its `etcd` hosts are matched. PLAN_DIR: a plan directory; the control
    planes of its migration.yaml are matched, and its `inventory:` is used to reach the cluster.

    etcdctl runs where an operator would run it: on an old etcd host, through Ansible (ansible-runner, your
    inventory, SSH and become as for Kubespray), with Kubespray's own etcdctl (bin_dir) and certificates
    (etcd_cert_dir, admin-HOST.pem). --endpoints with --certs runs it from this machine instead.

    Exit status: 0 healthy and matched; 1 a problem listed; 2 bad input or etcd unreachable.

    \b
    Examples:
      kubespray2talos etcd status inventory/mycluster
      kubespray2talos etcd status inventory/mycluster --on node2 -o json | jq .problems
      kubespray2talos etcd status plan/
      kubespray2talos etcd status plan/ --endpoints https://10.0.10.11:2379 --certs etcd-ssl/
    """
    from migrate.etcd.membership import EtcdError
    from migrate.etcd.status import etcd_status, to_dict

    if bool(endpoints) != bool(certs):
        raise UserError("give both --endpoints and --certs, or neither (then etcdctl runs on an etcd host)",
                        where="--endpoints" if certs else "--certs")
    from migrate.migration import plan_file

    known: list[EtcdHost] | None = None
    if target.is_dir() and (target / plan_file.FILE).is_file():
        plan = plan_file.load(target)
        hosts = {m.host: m.address or "" for m in plan.hosts if m.is_control_plane}
        inventory = inventory or plan.inventory_path(target)
    else:
        inventory = target
        known = etcd_hosts(target, vault_password_file)
        hosts = {h.name: h.address for h in known}
    if endpoints and certs:
        who = admin if admin else (list(hosts)[0] if hosts else "")
        membership = local_membership(endpoints, certs, who, target, timeout)
    else:
        if inventory is None:
            raise UserError("no inventory to reach the etcd hosts with", where=str(target),
                            hint="add `inventory: PATH` to migration.yaml, pass --inventory, or use --endpoints/--certs")
        membership = host_membership(inventory, vault_password_file, known, first=on_host, timeout=timeout)
    try:
        rows, problems = etcd_status(membership, hosts)
    except EtcdError as exc:
        raise UserError(str(exc), where=f"--endpoints {endpoints}" if endpoints else "etcdctl",
                        hint="check the URLs, the certificates and that etcd runs") from None
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


def etcd_hosts(inventory: Path, vault_password_file: Path | None) -> list[EtcdHost]:
    """The inventory's etcd hosts in order, each with the address its member's peer URL carries (as Kubespray
    computes etcd_peer_url: access_ip, else ip)."""
    from migrate.etcd.onhost import EtcdHost
    from migrate.kubespray import load_cluster
    from migrate.kubespray.inventory import inventory_sources

    sources, _ = inventory_sources(inventory)
    cluster = load_cluster(sources[0], vault_password_file=vault_password_file)
    etcd = cluster.spec.etcd
    names = list(cluster.groups.get("etcd", ())) or (list(cluster.groups.get("kube_control_plane", ()))
                                                     if etcd.deployment_type == "kubeadm" else [])
    return [EtcdHost(name, urlsplit(member.peer_url).hostname or "") for name, member in zip(names, etcd.members,
                                                                                               strict=False)]


def host_membership(inventory: Path, vault_password_file: Path | None, known: list[EtcdHost] | None = None, *,
                    first: str | None = None, last_to_move: Mapping[str, int] | None = None,
                    timeout: float = 10.0) -> EtcdctlMembership:
    """etcdctl on an old etcd host: `first` if named, else the host that moves last (`last_to_move`: host -> wave),
    so the host asked is never the one whose member is leaving."""
    from migrate.etcd.etcdctl import EtcdctlMembership
    from migrate.etcd.onhost import HostEtcdctl
    from migrate.kubespray.inventory import inventory_sources

    hosts = list(known) if known is not None else etcd_hosts(inventory, vault_password_file)
    if first is not None:
        if first not in {h.name for h in hosts}:
            raise UserError(f"{first!r} is not an etcd host of the inventory", where="--on",
                            hint=f"etcd hosts: {', '.join(h.name for h in hosts) or 'none'}")
        hosts.sort(key=lambda h: h.name != first)
    elif last_to_move:
        hosts.sort(key=lambda h: -last_to_move.get(h.name, 1 << 30))  # stable: inventory order among equals
    sources, _ = inventory_sources(inventory)
    return EtcdctlMembership(runner=HostEtcdctl(sources[0], hosts, timeout=timeout,
                                                vault_password_file=vault_password_file))


def local_membership(endpoints: str, certs: Path, admin: str, plan_dir: Path, timeout: float = 10.0,
                     ) -> EtcdctlMembership:
    """etcdctl on this machine with a copy of Kubespray's certificates; snapshots kept in PLAN_DIR/etcd-snapshots."""
    from migrate.etcd.etcdctl import EtcdAccess, EtcdctlMembership

    urls: Sequence[str] = [u for u in endpoints.split(",") if u]
    snapshots = (plan_dir if plan_dir.is_dir() else plan_dir.parent) / "etcd-snapshots"
    return EtcdctlMembership(EtcdAccess.kubespray(urls, certs, admin), snapshot_dir=snapshots, timeout=timeout)
