"""`kubespray2talos preflight`: read-only checks of the cluster against the plan, before a migration."""
# exercised by tests/migration/test_preflight.py

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from migrate import ui

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}


@click.command()
@click.argument("plan_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--kubeconfig", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config).")
@click.option("--context", help="The kubeconfig context to use.")
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def preflight(plan_dir: Path, kubeconfig: Path | None, context: str | None, fmt: str) -> None:
    """Check, without changing anything, what would stop the migration of PLAN_DIR: the API and its version,
    the plan's hosts, budgets that can never allow a disruption, pods under two budgets, pods a drain refuses
    (no controller, emptyDir data), single-replica workloads, and another run holding the lock.

    Exit status: 0 every check passes; 1 a warning; 2 a check fails (or bad input).

    \b
    Examples:
      kubespray2talos preflight plan/
      kubespray2talos preflight plan/ -o json | jq '.[] | select(.result != "pass")'
    """
    from migrate.clock import SystemClock
    from migrate.cluster.kube import KubeCluster
    from migrate.migration import plan_file
    from migrate.migration.preflight import preflight as run
    from migrate.migration.preflight import worst

    plan = plan_file.load(plan_dir)
    version = ""
    report = plan_dir / "report.json"
    if report.is_file():
        version = str(json.loads(report.read_text()).get("kubernetes_version") or "")
    clock = SystemClock()
    checks = run(plan, KubeCluster(kubeconfig, context, clock=clock), clock, version)
    if fmt == "json":
        ui.emit([c.to_dict() for c in checks], "json")
    else:
        table = Table("check", "result", "reason", "fix")
        for c in checks:
            table.add_row(c.name, ui.text(c.result), ui.text(c.reason), ui.text(c.fix), style=STYLE[c.result])
        ui.out.print(table)
    sys.exit(worst(checks))
