"""The --etcd-* options of the verbs that read or change etcd membership (preflight, migrate), declared once."""
# exercised by tests/cli/test_migrate_progress.py (migrate) and tests/migration/test_preflight.py (preflight)

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from migrate.errors import UserError

if TYPE_CHECKING:
    from migrate.etcd.membership import EtcdMembership
    from migrate.migration.plan_file import MigrationPlan

F = TypeVar("F", bound=Callable[..., object])


def etcd_options(f: F) -> F:
    f = click.option("--etcd-admin", metavar="HOST",
                     help="Whose admin-HOST.pem to use (default: the first control plane).")(f)
    f = click.option("--etcd-certs", type=click.Path(file_okay=False, exists=True, path_type=Path),
                     help="Kubespray's etcd_cert_dir copy (ca.pem, admin-HOST.pem, admin-HOST-key.pem).")(f)
    f = click.option("--etcd-endpoints", metavar="URL,…", help="etcd client URLs (https://10.0.10.11:2379,…): "
                     "control planes are checked and migrated only with etcd membership.")(f)
    return f


def etcd_membership(plan: MigrationPlan, plan_dir: Path, endpoints: str | None, certs: Path | None,
                    admin: str | None, *, from_inventory: bool = False) -> EtcdMembership | None:
    """etcdctl here with --etcd-endpoints/--etcd-certs; else, when `from_inventory`, on an old etcd host of
    migration.yaml's inventory through Ansible (the host that moves last); else None."""
    from migrate.cli.etcd import host_membership, local_membership

    if endpoints or certs:
        if not (endpoints and certs):
            raise UserError("give both --etcd-endpoints and --etcd-certs", where="--etcd-endpoints")
        who: str = admin or next((m.host for m in plan.hosts if m.is_control_plane), None) or ""
        return local_membership(str(endpoints), certs, who, plan_dir)
    inventory = plan.inventory_path(plan_dir)
    if not from_inventory or inventory is None or not any(m.is_control_plane for m in plan.hosts):
        return None
    return host_membership(inventory, None, last_to_move={m.host: m.wave for m in plan.hosts})
