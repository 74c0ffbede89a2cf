"""How a ledger belongs to its plan directory: found there, checked against the plan's fingerprint, and carried
across a re-run of `plan` (which replaces the directory as a whole)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from migrate.clock import Clock
from migrate.ledger.identity import LEDGER_FILE, default_path, plan_id
from migrate.ledger.lifecycle import LedgerError
from migrate.ledger.store import Ledger

# the database and what SQLite (and the busy note) keep beside it
LEDGER_FILES = (LEDGER_FILE, f"{LEDGER_FILE}-wal", f"{LEDGER_FILE}-shm", f"{LEDGER_FILE}-holder")
# what a person or a run owns in a plan directory: a re-plan carries it over instead of replacing it
CARRIED_FILES = (*LEDGER_FILES, "migration.yaml", "prepare-state.json")  # prepare's before-states: --revert needs them


def transit_dir(plan_dir: Path) -> Path:
    return plan_dir.with_name(f".{plan_dir.name}.ledger-in-transit")


@contextmanager
def kept_across_replan(plan_dir: Path, *, replacing: bool = False) -> Iterator[None]:
    """Move DIR's ledger files to a sibling while the body rewrites DIR, then put them back (also on failure).
    `replacing` (plan --force): the old DIR is kept whole as DIR.previous, so its ledger stays with the plan it
    describes and the new plan starts its own."""
    plan_dir = Path(plan_dir)
    if replacing:
        yield
        return
    transit = transit_dir(plan_dir)
    if transit.exists():
        raise LedgerError("an earlier `plan` run stopped while it carried the ledger aside", where=str(transit),
                          hint=f"move the ledger.db* files in it back into {plan_dir}/, remove it, then repeat")
    present = [n for n in CARRIED_FILES if (plan_dir / n).exists()]
    if not present:
        yield
        return
    transit.mkdir(mode=0o700)
    for name in present:
        os.replace(plan_dir / name, transit / name)
    try:
        yield
    finally:
        plan_dir.mkdir(mode=0o700, exist_ok=True)
        for name in present:
            os.replace(transit / name, plan_dir / name)
        transit.rmdir()


def enter_plan(plan_dir: Path, hosts: Sequence[tuple[str, str]], clock: Clock | None = None) -> None:
    """After `plan` wrote DIR: its ledger gets every host of the plan (a re-rendered plan keeps its history)."""
    path, new_id = default_path(plan_dir), plan_id(plan_dir)
    if path.exists():
        with Ledger.open(path, clock=clock) as ledger:
            tracked = [h.name for h in ledger.hosts()]
            if ledger.plan_id != new_id and tracked and not {n for n, _ in hosts} & set(tracked):
                raise LedgerError(f"the ledger here tracks other hosts ({', '.join(tracked[:5])}…): this plan is for "
                                  "another cluster, and its ledger was left as it was", where=str(path),
                                  hint="give this cluster its own --out (or move the old plan and ledger away first)")
            ledger.adopt_plan(new_id)
    Ledger.create(path, new_id, hosts, clock=clock).close()


def open_plan_ledger(plan_dir: Path, ledger_file: Path | None = None, *, clock: Clock | None = None,
                     busy_timeout: float = 10.0) -> Ledger:
    """PLAN_DIR's ledger (or --ledger FILE), refused unless it belongs to the plan in PLAN_DIR."""
    return Ledger.open(ledger_file or default_path(plan_dir), plan_id(plan_dir), clock=clock,
                       busy_timeout=busy_timeout)
