"""`kubespray2talos diff`: what changes for the cluster, as a reviewer (or a CI gate) needs to see it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from migrate import ui
from migrate.cli.diff_security import FORMATS, WEAKER, security_diff
from migrate.cli.diff_table import render_table
from migrate.cli.options import inventory_options
from migrate.diff import AREAS, FAIL_ON, SEVERITIES, Change, fails, unexplained
from migrate.errors import UserError
from migrate.sides import InventoryOptions, Notice, Side, compare, plan_to_match, read_live_pair, read_pair


@click.command()
@click.argument("left", type=click.Path(path_type=Path))
@click.argument("right", type=click.Path(path_type=Path), required=False)
@click.option("--live", is_flag=True, help="Compare the INVENTORY with the running cluster (kubeconfig) instead.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), help="Kubeconfig for --live.")
@click.option("--context", help="Kubeconfig context for --live (default: the current one).")
@inventory_options
@click.option(
    "--output",
    "-o",
    "fmt",
    type=click.Choice(["table", "markdown", "json"]),
    default="table",
    show_default=True,
    help="markdown is meant for a merge-request comment.",
)
@click.option("--security", is_flag=True,
              help="Show the security posture instead: every CIS control the configuration decides, before "
                   "(Kubespray) and after (Talos), stronger / same / weaker / n/a on Talos.")
@click.option("--format", "security_format", type=click.Choice(FORMATS), default=None,
              help="With --security: md (default), json, or html (one self-contained page for a change ticket).")
@click.option(
    "--fail-on",
    type=click.Choice([*FAIL_ON, WEAKER]),
    default="any",
    show_default=True,
    help="Which changes make the exit code 1: breaking only, risky and worse, any change, "
    "or only changes no plan verdict explains (every change when no plan report is matched: plan vs plan, "
    "--live; JSON summary.unexplained counts exactly these). With --security: `weaker` exits 1 when any control "
    "gets weaker.",
)
def diff(
    left: Path,
    right: Path | None,
    live: bool,
    kubeconfig: Path | None,
    context: str | None,
    kubespray_version: str | None,
    kubespray_dir: Path | None,
    vault_password_file: Path | None,
    fmt: str,
    fail_on: str,
    security: bool,
    security_format: str | None,
) -> None:
    """Show what changes for the cluster between two of: an inventory, a plan, the live cluster.

    \b
    Three forms:
      diff INVENTORY PLAN_DIR     Kubespray's effective cluster vs what the Talos configs will run
      diff PLAN_DIR_A PLAN_DIR_B  two plans (after editing group_vars, after a Talos version bump)
      diff INVENTORY --live       the inventory vs the running cluster (drift burns migrations)

    Every change has an area, a severity (breaking / risky / cosmetic) and its consequence for the
    cluster. Against a plan, each change is matched to the plan's report.json verdicts: a change no
    `changed`, `dropped` or `manual` verdict explains is called out. Secrets show only as "changed (redacted)".

    Exit code: 0 equal, 1 different (see --fail-on), 2 trouble (bad input, unreachable cluster).

    \b
    Examples:
      kubespray2talos diff inventory/mycluster plan/
      kubespray2talos diff plan-v1.12/ plan-v1.13/ --output markdown > diff.md
      kubespray2talos diff inventory/mycluster --live --context prod --fail-on breaking
      kubespray2talos diff inventory/mycluster plan/ --output json | jq '.changes[] | select(.intended == false)'
      kubespray2talos diff inventory/mycluster plan/ --security --fail-on weaker
      kubespray2talos diff inventory/mycluster plan/ --security --format html > posture.html
    """
    options = InventoryOptions(kubespray_version, kubespray_dir, vault_password_file)
    if security or security_format or fail_on == WEAKER:
        if not security:
            raise UserError("--format and --fail-on weaker belong to --security",
                            hint="kubespray2talos diff INVENTORY PLAN_DIR --security --fail-on weaker")
        if live or right is None:
            raise UserError("--security compares an INVENTORY with a PLAN_DIR, not the live cluster",
                            hint="kubespray2talos diff inventory/mycluster plan/ --security")
        chosen = security_format or ("json" if fmt == "json" else "md")
        raise SystemExit(security_diff(left, right, options, chosen, fail_on if fail_on == WEAKER else None))
    if (kubeconfig or context) and not live:
        raise UserError("--kubeconfig and --context only apply with --live")
    if live and right is not None:
        raise UserError(
            "--live compares one INVENTORY with the running cluster: give only the inventory",
            hint="kubespray2talos diff inventory/mycluster --live",
        )
    if not live and right is None:
        raise UserError(
            "diff needs two things to compare",
            hint="diff INVENTORY PLAN_DIR, diff PLAN_A PLAN_B, or diff INVENTORY --live",
        )
    with ui.err.status("reading both sides…"):
        if right is None:
            before, after = read_live_pair(left, kubeconfig, context, options, _notify)
        else:
            before, after = read_pair(left, right, options, _notify)

    changes = compare(before, after)
    if fmt == "json":
        ui.emit(as_data(before, after, changes), "json")
    elif fmt == "markdown":
        click.echo(render_markdown(before, after, changes), nl=False)
    else:
        render_table(before, after, changes)
    ui.note(summary(changes))
    raise SystemExit(1 if fails(changes, fail_on) else 0)


def _notify(notice: Notice) -> None:
    (ui.warn if notice.level == "warning" else ui.note)(notice.text)


# --- output --------------------------------------------------------------------------------------


def summary(changes: list[Change]) -> str:
    if not changes:
        return "no differences"
    counts = Counter(c.severity for c in changes)
    text = f"{len(changes)} change{'s' if len(changes) != 1 else ''}: " + ", ".join(
        f"{counts[s]} {s}" for s in SEVERITIES if counts[s]
    )
    missing = len(unexplained(changes))
    if any(c.intended is not None for c in changes):
        text += f"; {missing} not explained by the plan report" if missing else "; all explained by the plan report"
    else:
        text += "; no plan report to explain them"
    return text


def as_data(before: Side, after: Side, changes: list[Change]) -> dict[str, Any]:
    return {
        "before": {"label": before.label, "kind": before.kind},
        "after": {"label": after.label, "kind": after.kind},
        "equal": not changes,
        # `unexplained` counts what --fail-on unexplained fails on; `matched_plan_report` says whether verdicts
        # were there to explain anything (false: plan vs plan, inventory vs inventory, --live)
        "summary": {s: sum(c.severity == s for c in changes) for s in SEVERITIES}
        | {"unexplained": len(unexplained(changes)), "matched_plan_report": plan_to_match(before, after) is not None},
        "changes": [c.to_dict() for c in changes],
    }


def render_markdown(before: Side, after: Side, changes: list[Change]) -> str:
    """A merge-request comment: a summary line, unexplained changes first, then one table per area."""
    lines = [f"### kubespray2talos diff: `{before.label}` → `{after.label}`", "", f"**{summary(changes)}**", ""]
    if not changes:
        return "\n".join(lines)
    missing = [c for c in changes if c.intended is False]
    if missing:
        lines += ["#### :warning: Not explained by the plan report", ""]
        lines += [f"- **{c.severity}** `{c.where}`: {c.consequence}" for c in missing]
        lines.append("")
    matched = any(c.intended is not None for c in changes)
    for area in AREAS:
        rows = [c for c in changes if c.area == area]
        if not rows:
            continue
        header = "| severity | field | before | after | consequence |" + (" plan verdict |" if matched else "")
        lines += [f"#### {area}", "", header, "|" + "---|" * (6 if matched else 5)]
        for c in rows:
            old, new = c.describe_values()
            cells = [c.severity, f"`{c.where}`", old, new, c.consequence]
            if matched:
                cells.append(", ".join(c.explained_by) if c.explained_by else "**unexplained**")
            lines.append("| " + " | ".join(_md(v) for v in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")

