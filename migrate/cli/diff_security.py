"""`diff INVENTORY PLAN_DIR --security`: the security posture before and after, for an auditor's sign-off or CI."""
# exercised by tests/cli/test_diff_security.py

from __future__ import annotations

from pathlib import Path

import click

from migrate import ui
from migrate.errors import UserError
from migrate.sides import InventoryOptions
from migrate.ui import strip_control

FORMATS = ("md", "json", "html")
WEAKER = "weaker"


def security_diff(inventory: Path, plan_dir: Path, options: InventoryOptions, fmt: str, fail_on: str | None) -> int:
    """Render the posture table to stdout; the exit code: 1 when --fail-on weaker finds a weakened control."""
    from migrate.talos.plan_dir import is_plan_dir, read_plan

    if not is_plan_dir(plan_dir) or is_plan_dir(inventory):
        raise UserError("--security compares an INVENTORY with the PLAN_DIR made from it",
                        where=str(plan_dir if not is_plan_dir(plan_dir) else inventory),
                        hint="kubespray2talos diff inventory/mycluster plan/ --security")
    if not inventory.exists():
        raise UserError("no such file or directory", where=str(inventory), hint="give the Kubespray inventory")
    from migrate.kubespray import load_cluster
    from migrate.posture.html import to_html
    from migrate.posture.render import posture_data, to_json, to_markdown
    from migrate.talos.posture_read import plan_dir_posture

    with ui.err.status("reading the inventory and the plan…"):
        resolved = load_cluster(inventory, options.kubespray_version, options.kubespray_dir,
                                options.vault_password_file)
        plan = read_plan(plan_dir, carried=resolved.spec)
        posture = plan_dir_posture(resolved.spec, resolved.settings, plan, plan_dir)
    for warning in resolved.warnings:
        ui.warn(warning)
    data = posture_data(posture, f"inventory {inventory}", f"plan {plan_dir}")
    text = to_html(data) if fmt == "html" else to_json(data) if fmt == "json" else to_markdown(data)
    click.echo(text if fmt == "json" else strip_control(text), nl=False)  # JSON escapes them itself
    counts = data["summary"]
    ui.note(f"{counts['weaker']} weaker, {counts['same']} same ({counts['carried_over']} carried over), "
            f"{counts['stronger']} stronger, {counts['n/a on Talos']} n/a on Talos")
    return 1 if fail_on == WEAKER and posture.weaker else 0
