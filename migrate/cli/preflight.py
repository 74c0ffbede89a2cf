"""`kubespray2talos preflight`: read-only checks of the cluster against the plan, before a migration."""
# exercised by tests/migration/test_preflight.py

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from migrate import ui
from migrate.cli.etcd_access import etcd_membership, etcd_options

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}


@click.command()
@click.argument("plan_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--kubeconfig", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config).")
@click.option("--context", help="The kubeconfig context to use.")
@etcd_options
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def preflight(plan_dir: Path, kubeconfig: Path | None, context: str | None, etcd_endpoints: str | None,
              etcd_certs: Path | None, etcd_admin: str | None, fmt: str) -> None:
    """Check, without changing anything, what would stop the migration of PLAN_DIR: the API server's version
    against the plan's, a stable control-plane endpoint (not one node's address, not localhost), the Service
    and pod CIDRs and the DNS Service address as planned, the plan's hosts, budgets that can never allow a
    disruption, pods under two budgets, pods a drain refuses (no controller, emptyDir data), single-replica
    workloads, whether each wave's pods fit on the nodes that remain (requests, taints, selectors, required
    affinity), etcd (every member started and healthy, none a learner) and another run holding the lock.

    Each check passes, warns or fails with the reason and the fix. Control planes need the etcd check: give
    the same --etcd-* options as to `migrate`, or it warns that etcd was not checked.

    Exit status: 0 every check passes; 1 a warning; 2 a check fails (or bad input).

    \b
    Examples:
      kubespray2talos preflight plan/
      kubespray2talos preflight plan/ -o json | jq '.[] | select(.result != "pass")'
      kubespray2talos preflight plan/ --etcd-endpoints https://10.0.10.11:2379 --etcd-certs etcd-ssl/
    """
    from migrate.clock import SystemClock
    from migrate.cluster.kube import KubeCluster
    from migrate.migration import plan_file
    from migrate.migration.preflight import preflight as run
    from migrate.migration.preflight import worst
    from migrate.migration.preflight_plan import planned_from

    plan = plan_file.load(plan_dir)
    planned = planned_from(plan_dir)
    clock = SystemClock()
    etcd = etcd_membership(plan, plan_dir, etcd_endpoints, etcd_certs, etcd_admin)
    checks = run(plan, KubeCluster(kubeconfig, context, clock=clock), clock, planned, etcd)
    if fmt == "json":
        ui.emit([c.to_dict() for c in checks], "json")
    else:
        table = Table("check", "result", "reason", "fix")
        for c in checks:
            table.add_row(c.name, ui.text(c.result), ui.text(c.reason), ui.text(c.fix), style=STYLE[c.result])
        ui.out.print(table)
    sys.exit(worst(checks))
