"""`kubespray2talos status`: where every old host of a plan stands, and what needs a person."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from migrate import ui
from migrate.clock import rfc3339
from migrate.ledger.lifecycle import HostState
from migrate.ledger.status import HostStatus, StatusView, humanize, parse_duration, status_view

STATE_STYLE = {HostState.FAILED: "bold red", HostState.DECOMMISSIONED: "green", HostState.RETIRED: "green",
               HostState.ACTIVE: "cyan"}
LIST_ALL_UP_TO = 200  # hosts; above that each state shows its first few unless --all
FIRST_FEW = 10


@click.command()
@click.argument("plan_dir", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ledger", "ledger_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The ledger file (default: PLAN_DIR/ledger.db).")
@click.option("--stale", default="24h", show_default=True, metavar="DURATION",
              help="A host in progress (or a step unfinished) with no change for longer than this is stuck.")
@click.option("--all", "list_all", is_flag=True, help=f"List every host even when there are more than {LIST_ALL_UP_TO}.")
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def status(plan_dir: Path, ledger_file: Path | None, stale: str, list_all: bool, fmt: str) -> None:
    """Show where every host of the plan in PLAN_DIR stands: grouped by state, how long since it last
    changed, who changed it, and anything failed or stuck.

    States follow each old host's life: active → replacement-ready → cordoned → drained → removed →
    decommissioning → decommissioned, plus failed and retired (taken out by hand, see `mark`).

    Exit status: 0 nothing needs a person; 1 a host failed or is stuck; 2 bad input (no ledger, another
    plan's ledger, a damaged file).

    \b
    Examples:
      kubespray2talos status plan/
      kubespray2talos status plan/ --stale 2h          # flag anything idle for two hours
      kubespray2talos status plan/ -o json | jq '.hosts[] | select(.stuck)'
    """
    view = status_view(plan_dir, ledger_file, stale=parse_duration(stale))
    if fmt == "json":
        ui.emit(_json(view), "json")
    else:
        _table(view, list_all or len(view.hosts) <= LIST_ALL_UP_TO)
    if view.attention:
        raise SystemExit(1)


def _json(view: StatusView) -> dict[str, object]:
    return {
        "cluster": view.cluster, "plan_dir": view.plan_dir, "plan_id": view.plan_id, "at": rfc3339(view.at),
        "stale_after_seconds": view.stale, "hosts_total": len(view.hosts), "ended": view.ended,
        "by_state": {s.value: len(hosts) for s, hosts in view.groups.items()},
        "hosts": [_host_json(h) for h in view.hosts],
    }


def _host_json(h: HostStatus) -> dict[str, object]:
    step = h.last_step
    return {"name": h.name, "role": h.role, "state": h.state.value, "changed_at": rfc3339(h.changed_at),
            "age_seconds": round(h.age), "actor": h.actor, "note": h.note, "failed": h.failed, "stuck": h.stuck,
            "last_step": None if step is None else {"step": step.step, "run_id": step.run_id, "outcome": step.outcome,
                                                    "started_at": rfc3339(step.started_at)}}


def _table(view: StatusView, every_host: bool) -> None:
    counts = ", ".join(f"{len(hosts)} {state.value}" for state, hosts in view.groups.items())
    ui.out.print(f"[bold]{ui.escape(view.cluster)}[/bold]: {view.ended} of {len(view.hosts)} old hosts "
                 f"decommissioned or retired ({counts})")
    table = Table(show_edge=False)
    for column in ("state", "host", "role", "since", "by", "last step", "note"):
        table.add_column(column)
    for state, hosts in view.groups.items():
        shown = hosts if every_host else [h for h in hosts if h.stuck or h.failed][:FIRST_FEW] or hosts[:FIRST_FEW]
        for i, h in enumerate(shown):
            table.add_row(state.value if i == 0 else "", h.name, h.role, humanize(h.age) + (" (stuck)" if h.stuck else ""),
                          h.actor, _step(h), ui.escape(h.note), style=STATE_STYLE.get(state))
        if len(shown) < len(hosts):
            table.add_row("", f"… and {len(hosts) - len(shown)} more", "", "", "", "", "--all lists them", style="dim")
        table.add_section()
    ui.out.print(table)
    attention = view.attention
    for h in attention if every_host else attention[:FIRST_FEW]:
        why = "failed" if h.failed else f"no change for {humanize(h.age)} (over --stale {humanize(view.stale)})"
        ui.warn(f"{ui.escape(h.name)} ({h.state.value}): {why}")
    if len(attention) > FIRST_FEW and not every_host:
        ui.warn(f"… {len(attention) - FIRST_FEW} more hosts failed or stuck (--all lists them, -o json has all)")


def _step(h: HostStatus) -> str:
    step = h.last_step
    if step is None:
        return ""
    return f"{step.step} ({step.outcome or 'unfinished'})"
