"""The ledger: one SQLite file per plan (WAL), every write a `BEGIN IMMEDIATE` transaction.

Hosts hold their current state; `events` is the append-only history that explains it; `steps` is the migration
engine's journal (intent before acting, outcome after) that a resumed run reads.
"""
# exercised by tests/ledger/test_journal.py and tests/ledger/test_machine.py

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from migrate.clock import Clock, SystemClock
from migrate.ledger import guard, schema
from migrate.ledger.evidence import from_json, to_json
from migrate.ledger.identity import actor as current_actor
from migrate.ledger.lifecycle import HostState, LedgerError, check_transition
from migrate.ledger.records import Event, FindingMark, HostRecord, StepRecord

STEP_OUTCOMES = ("ok", "failed")
_EVENT_COLUMNS = "id, at, actor, run_id, host, step, before, after, outcome, evidence, note"
_STEP_COLUMNS = "id, host, step, run_id, started_at, finished_at, outcome, intent, evidence"


class Ledger:
    def __init__(self, path: Path, conn: sqlite3.Connection, clock: Clock) -> None:
        self.path = path
        self._conn = conn
        self._clock = clock
        self._depth = 0  # nesting of batch(): only the outermost one commits
        self.actor = current_actor()
        self._holder = str(guard.holder_path(path))  # the writer's note, beside the file
        self._parsed: dict[tuple[Any, ...], StepRecord] = {}  # journal row -> its record: a row read again is not
        # parsed again (the engine reads a host's steps before each of them)

    # -- opening ---------------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path, plan_id: str, hosts: Sequence[tuple[str, str]], *,
               clock: Clock | None = None) -> Ledger:
        """A ledger for the plan with every host `active`; on an existing one, adds only the hosts new to it."""
        path = Path(path)
        guard.check_writable_dir(path)
        if path.exists() and path.stat().st_size:
            guard.check_file(path)
        ledger = cls._connect(path, clock, busy_timeout=10.0)
        try:
            with ledger._write(run_id="plan"):
                ledger._sql(lambda c: schema.upgrade(c, str(path)))
                ledger._claim(plan_id)
                known = {h.name for h in ledger.hosts()}
                for name, role in hosts:
                    if name not in known:
                        ledger._register(name, role)
                        known.add(name)
        except BaseException:
            ledger.close()
            raise
        return ledger

    @classmethod
    def open(cls, path: Path, plan_id: str | None = None, *, clock: Clock | None = None,
             busy_timeout: float = 10.0) -> Ledger:
        """An existing ledger; with `plan_id`, refused unless it belongs to that plan."""
        path = Path(path)
        if not os.access(path.parent, os.X_OK):
            raise LedgerError("the ledger's directory cannot be entered (permission denied)", where=str(path.parent),
                              hint="run as the user who owns the plan directory")
        if not path.is_file():
            raise LedgerError("no ledger here", where=str(path),
                              hint="`kubespray2talos plan` creates it in the plan directory (or give --ledger FILE)")
        guard.check_file(path)
        guard.check_writable_dir(path)
        ledger = cls._connect(path, clock, busy_timeout)
        try:
            found = ledger._sql(lambda c: schema.version(c, str(path)))
            if found == 0:  # an SQLite file, but not one a plan created: never add our tables to it
                raise LedgerError("not a ledger: an SQLite file without the ledger's tables", where=str(path),
                                  hint="create ledgers with `kubespray2talos plan`")
            if found < schema.SCHEMA_VERSION:
                with ledger._write(run_id="upgrade"):
                    ledger._sql(lambda c: schema.upgrade(c, str(path)))
            stored = ledger.plan_id or ""
            if plan_id is not None and stored != plan_id:
                raise LedgerError(f"this ledger belongs to another plan ({stored[:12]}, not {plan_id[:12]})",
                                  where=str(path), hint="give the plan directory it was created with, or "
                                                        "--ledger FILE for this plan's own ledger")
        except BaseException:
            ledger.close()
            raise
        return ledger

    @classmethod
    def _connect(cls, path: Path, clock: Clock | None, busy_timeout: float) -> Ledger:
        with guard.sqlite_errors(path):
            conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")  # an audit journal: a commit survives a power cut
            except BaseException:
                conn.close()
                raise
        return cls(path, conn, clock or SystemClock())

    # -- reading ---------------------------------------------------------------------------------------------------
    @property
    def plan_id(self) -> str | None:
        return self._meta("plan_id")

    @property
    def created_at(self) -> float | None:
        value = self._meta("created_at")
        return float(value) if value is not None else None

    def hosts(self) -> list[HostRecord]:
        rows = self._rows("SELECT name, role, state, changed_at, actor, note FROM hosts ORDER BY rowid")
        return [HostRecord(r[0], r[1], HostState(r[2]), r[3], r[4], r[5]) for r in rows]

    def host(self, name: str) -> HostRecord:
        rows = self._rows("SELECT name, role, state, changed_at, actor, note FROM hosts WHERE name = ?", (name,))
        if not rows:
            known = [h.name for h in self.hosts()]
            shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
            raise LedgerError(f"unknown host {name!r}", where=str(self.path), hint=f"the plan's hosts: {shown or 'none'}")
        r = rows[0]
        return HostRecord(r[0], r[1], HostState(r[2]), r[3], r[4], r[5])

    def events(self, host: str | None = None, *, evidence: bool = True, latest: int | None = None) -> list[Event]:
        """Oldest first. `evidence=False` leaves evidence empty and `latest=N` keeps each host's newest N events: a
        page that shows neither reads 100,000 events in a fraction of the time."""
        where, args = ("WHERE host = ?", (host,)) if host is not None else ("", ())
        columns = _EVENT_COLUMNS if evidence else _EVENT_COLUMNS.replace("evidence", "'{}'")
        if latest is None:
            return [_event(r) for r in self._rows(f"SELECT {columns} FROM events {where} ORDER BY id", args)]
        # one indexed look-up per host beats a window function over the whole table (0.1 s against 0.4 s at 100k)
        names = [host] if host is not None else [r[0] for r in self._rows("SELECT DISTINCT host FROM events")]
        sql = f"SELECT {columns} FROM events WHERE host = ? ORDER BY id DESC LIMIT ?"
        rows = [r for name in names for r in self._rows(sql, (name, latest))]
        return [_event(r) for r in sorted(rows, key=lambda r: int(r[0]))]

    def event_counts(self) -> dict[str, tuple[int, float]]:
        """host → (number of events, time of its first event)."""
        rows = self._rows("SELECT host, COUNT(*), MIN(at) FROM events GROUP BY host")
        return {r[0]: (int(r[1]), float(r[2])) for r in rows}

    def steps(self, host: str | None = None) -> list[StepRecord]:
        where, args = ("WHERE host = ?", (host,)) if host is not None else ("", ())
        return [self._step(r) for r in self._rows(f"SELECT {_STEP_COLUMNS} FROM steps {where} ORDER BY id", args)]

    def last_step(self, host: str) -> StepRecord | None:
        rows = self._rows(f"SELECT {_STEP_COLUMNS} FROM steps WHERE host = ? ORDER BY id DESC LIMIT 1", (host,))
        return self._step(rows[0]) if rows else None

    def findings(self) -> dict[str, FindingMark]:
        rows = self._rows("SELECT setting, status, changed_at, actor, note FROM findings")
        return {r[0]: FindingMark(*r) for r in rows}

    # -- writing ---------------------------------------------------------------------------------------------------
    def transition(self, host: str, to: HostState, *, run_id: str, step: str, outcome: str = "ok",
                   evidence: Mapping[str, Any] | None = None, note: str = "") -> Event:
        """Move a host to `to` (refused with the legal states named) and record why, in one transaction."""
        to = HostState(to)
        blob = to_json(evidence)  # redacted before it is anywhere near the file
        with self._write(run_id):
            before = self.host(host).state
            check_transition(host, before, to)
            now = self._clock.now()
            self._exec("UPDATE hosts SET state = ?, changed_at = ?, actor = ?, note = ? WHERE name = ?",
                       (to.value, now, self.actor, note, host))
            event_id = self._append(now, run_id, host, step, before, to, outcome, blob, note)
        return Event(event_id, now, self.actor, run_id, host, step, before, to, outcome, from_json(blob), note)

    def begin_step(self, host: str, step: str, *, run_id: str, intent: Mapping[str, Any] | None = None) -> int:
        """Record what is about to be done before doing it: a crash leaves a step with no outcome to re-check."""
        blob = to_json(intent)
        with self._write(run_id):  # one statement: inserted only for a known host (else refused with the names)
            cur = self._exec("INSERT INTO steps (host, step, run_id, started_at, intent) SELECT ?, ?, ?, ?, ? "
                             "WHERE EXISTS (SELECT 1 FROM hosts WHERE name = ?)",
                             (host, step, run_id, self._clock.now(), blob, host))
            if cur.rowcount != 1:
                self.host(host)
        return int(cur.lastrowid or 0)

    def finish_step(self, step_id: int, outcome: str, evidence: Mapping[str, Any] | None = None) -> None:
        if outcome not in STEP_OUTCOMES:
            raise LedgerError(f"a step ends 'ok' or 'failed', not {outcome!r}", where=f"step {step_id}")
        blob = to_json(evidence)
        with self._write(run_id=""):  # an open step is closed in one statement; anything else is explained
            cur = self._exec("UPDATE steps SET finished_at = ?, outcome = ?, evidence = ? WHERE id = ? AND outcome IS NULL",
                             (self._clock.now(), outcome, blob, step_id))
            if cur.rowcount == 1:
                return
            rows = self._rows("SELECT outcome FROM steps WHERE id = ?", (step_id,))
            if not rows:
                raise LedgerError(f"no step {step_id} in the journal", where=str(self.path))
            if rows[0][0] != outcome:
                raise LedgerError(f"step {step_id} already finished {rows[0][0]!r}", where=str(self.path),
                                  hint="begin a new step to record a retry")
            # else: a resumed run confirming what is already recorded

    def mark_finding(self, setting: str, status: str, *, run_id: str, note: str = "") -> Event:
        """A plan's `manual` finding resolved by a person (status 'done'), or reopened ('open'): an event too."""
        with self._write(run_id):
            now = self._clock.now()
            self._exec("INSERT INTO findings (setting, status, changed_at, actor, note) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (setting) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at,"
                       " actor = excluded.actor, note = excluded.note", (setting, status, now, self.actor, note))
            blob = to_json({"setting": setting, "status": status})
            event_id = self._append(now, run_id, "", f"finding {status}", None, None, "ok", blob, note)
        return Event(event_id, now, self.actor, run_id, "", f"finding {status}", None, None, "ok", from_json(blob), note)

    def record(self, step: str, *, run_id: str, outcome: str = "ok", evidence: Mapping[str, Any] | None = None,
               note: str = "") -> Event:
        """A plan-wide event (no host): a change to the cluster as a whole, e.g. `prepare`'s intent before it acts
        and its outcome after."""
        blob = to_json(evidence)
        with self._write(run_id):
            now = self._clock.now()
            event_id = self._append(now, run_id, "", step, None, None, outcome, blob, note)
        return Event(event_id, now, self.actor, run_id, "", step, None, None, outcome, from_json(blob), note)

    def adopt_plan(self, plan_id: str, *, run_id: str = "plan") -> Event | None:
        """The plan in this ledger's directory was re-rendered (a fixed inventory, a node added): the history stays,
        the fingerprint follows, and the change is an event. Only `plan` calls this, for its own --out."""
        with self._write(run_id):
            before = self.plan_id
            if before == plan_id:
                return None
            self._exec("UPDATE meta SET value = ? WHERE key = 'plan_id'", (plan_id,))
            blob = to_json({"from": before, "to": plan_id})
            now = self._clock.now()
            event_id = self._append(now, run_id, "", "replan", None, None, "ok", blob, "")
        return Event(event_id, now, self.actor, run_id, "", "replan", None, None, "ok", from_json(blob), "")

    @contextmanager
    def batch(self, run_id: str = "") -> Iterator[None]:
        """Several writes as one transaction: all of them land, or (crash, error) none does."""
        with self._write(run_id):
            yield

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- inside ----------------------------------------------------------------------------------------------------
    @contextmanager
    def _write(self, run_id: str) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._exec("BEGIN IMMEDIATE")  # the write lock now, not at the first UPDATE: no upgrade deadlock
        guard.note_holder(self._holder, self.actor, run_id, self._clock.now())
        self._depth = 1
        try:
            yield
        except BaseException:
            guard.drop_holder(self._holder)
            self._conn.rollback()
            raise
        finally:
            self._depth = 0
        guard.drop_holder(self._holder)  # while the lock is still ours: the next holder's note is never removed
        self._exec("COMMIT")

    def _claim(self, plan_id: str) -> None:
        stored = self.plan_id
        if stored is not None and stored != plan_id:
            raise LedgerError(f"this ledger belongs to another plan ({stored[:12]}, not {plan_id[:12]})",
                              where=str(self.path), hint="each plan directory keeps its own ledger; move this one "
                                                         "away only if that plan is abandoned")
        if stored is None:
            now = repr(self._clock.now())
            for key, value in (("plan_id", plan_id), ("created_at", now), ("created_by", self.actor)):
                self._exec("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _register(self, name: str, role: str) -> None:
        now = self._clock.now()
        self._exec("INSERT INTO hosts (name, role, state, changed_at, actor, note) VALUES (?, ?, ?, ?, ?, '')",
                   (name, role, HostState.ACTIVE.value, now, self.actor))
        self._append(now, "plan", name, "register", None, HostState.ACTIVE, "ok", to_json({"role": role}), "")

    def _append(self, at: float, run_id: str, host: str, step: str, before: HostState | None,
                after: HostState | None, outcome: str, evidence: str, note: str) -> int:
        cur = self._exec("INSERT INTO events (at, actor, run_id, host, step, before, after, outcome, evidence, note) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (at, self.actor, run_id, host, step, before.value if before else None,
                          after.value if after else None, outcome, evidence, note))
        return int(cur.lastrowid or 0)

    def _step(self, row: tuple[Any, ...]) -> StepRecord:
        """Records are immutable and a row's columns are all of it, so equal rows are one record."""
        record = self._parsed.get(row)
        if record is None:
            record = self._parsed[row] = _step(row)
        return record

    def _meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with guard.sqlite_errors(self.path):
            return self._conn.execute(sql, args)

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with guard.sqlite_errors(self.path):
            return self._conn.execute(sql, args).fetchall()

    def _sql(self, action: Any) -> Any:
        with guard.sqlite_errors(self.path):
            return action(self._conn)


_NO_EVIDENCE: Mapping[str, Any] = MappingProxyType({})
_STATES: dict[str | None, HostState | None] = {None: None, **{s.value: s for s in HostState}}  # 100k rows: no enum calls


def _event(r: Any) -> Event:
    return Event(r[0], r[1], r[2], r[3], r[4], r[5], _STATES[r[6]], _STATES[r[7]], r[8],
                 _NO_EVIDENCE if r[9] == "{}" else from_json(r[9]), r[10])


def _step(r: Any) -> StepRecord:
    return StepRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], from_json(r[7]), from_json(r[8]))
