"""`kubespray2talos mark`: record what a person did outside the tool, as an event like any other."""

from __future__ import annotations

import uuid
from pathlib import Path

import click

from migrate import ui
from migrate.errors import UserError
from migrate.ledger.fleet import read_plan_report
from migrate.ledger.lifecycle import parse_state
from migrate.ledger.plandir import open_plan_ledger

FINDING_STATUSES = ("done", "open")


@click.command()
@click.argument("plan_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("what", metavar="[HOST STATE | done|open]", nargs=-1)
@click.option("--finding", metavar="SETTING", help="Mark the plan's manual finding SETTING done (or open again).")
@click.option("--note", required=True, help="Why, in a sentence: it is what an auditor reads later.")
@click.option("--ledger", "ledger_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The ledger file (default: PLAN_DIR/ledger.db).")
@click.option("--wait", default=10.0, show_default=True, type=click.FloatRange(0, 3600), metavar="SECONDS",
              help="How long to wait for another writer (a running migration) before giving up.")
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def mark(plan_dir: Path, what: tuple[str, ...], finding: str | None, note: str, ledger_file: Path | None,
         wait: float, fmt: str) -> None:
    """Record a step done by hand: move HOST to STATE, or mark a manual finding of the plan done.

    The move must be legal from the host's current state (the refusal names the legal ones); `retired`
    takes a host out by hand from any state before the end. Each mark is an event with your user@host, the
    time and the note.

    Exit status: 0 recorded; 2 refused (illegal move, unknown host or finding, another plan's ledger).

    \b
    Examples:
      kubespray2talos mark plan/ w3 retired --note "powered off by hand in the DC, ticket OPS-1234"
      kubespray2talos mark plan/ cp1 decommissioned --note "disks wiped, asset returned"
      kubespray2talos mark plan/ --finding etcd_version done --note "etcd upgraded to 3.5.26 on all members"
    """
    run_id = f"mark-{uuid.uuid4().hex[:8]}"
    if finding is not None:
        if len(what) != 1 or what[0] not in FINDING_STATUSES:
            raise UserError("with --finding, say `done` (or `open` to reopen it)",
                            hint=f"kubespray2talos mark {plan_dir} --finding {finding} done --note \"…\"")
        manual = read_plan_report(plan_dir).get("manual", [])
        if finding not in manual:
            raise UserError(f"the plan has no manual finding {finding!r}", where=str(plan_dir / "report.json"),
                            hint="its manual findings: " + (", ".join(manual) or "none"))
        with open_plan_ledger(plan_dir, ledger_file, busy_timeout=wait) as ledger:
            event = ledger.mark_finding(finding, what[0], run_id=run_id, note=note)
        subject = f"finding {finding}: {what[0]}"
    else:
        if len(what) != 2:
            raise UserError("give HOST and STATE (or --finding SETTING done)",
                            hint=f"kubespray2talos mark {plan_dir} w3 retired --note \"…\"")
        host, state = what[0], parse_state(what[1])
        with open_plan_ledger(plan_dir, ledger_file, busy_timeout=wait) as ledger:
            event = ledger.transition(host, state, run_id=run_id, step="mark", note=note)
        subject = f"{host}: {event.before.value if event.before else '∅'} → {state.value}"
    if fmt == "json":
        ui.emit({"event": event.id, "subject": subject, "actor": event.actor, "run_id": run_id, "note": note}, "json")
    else:
        ui.out.print(f"recorded event {event.id}: {ui.escape(subject)} by {event.actor}")
