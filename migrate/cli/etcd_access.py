"""The --etcd-* options of the verbs that read or change etcd membership (preflight, migrate), declared once."""
# exercised by tests/cli/test_migrate_progress.py (migrate) and tests/migration/test_preflight.py (preflight)

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from migrate.clock import Clock
from migrate.errors import UserError

if TYPE_CHECKING:
    from migrate.etcd.etcdctl import EtcdctlMembership
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
                    admin: str | None, clock: Clock) -> EtcdctlMembership | None:
    """etcdctl with Kubespray's certificates, or None when no --etcd-* option was given."""
    if not (endpoints or certs):
        return None
    if not (endpoints and certs):
        raise UserError("give both --etcd-endpoints and --etcd-certs", where="--etcd-endpoints")
    from migrate.etcd.etcdctl import EtcdAccess, EtcdctlMembership

    first_plane = next((m.host for m in plan.hosts if m.is_control_plane), "")
    host = admin if admin else first_plane
    return EtcdctlMembership(EtcdAccess.kubespray(endpoints.split(","), certs, host),
                             snapshot_dir=plan_dir / "etcd-snapshots", clock=clock)
