"""Where every host of one plan stands now: grouped by state, how long since it last moved, who moved it, and
what looks stuck (an in-progress host or an unfinished step with no change for longer than `stale`)."""
# exercised by tests/cli/test_status.py

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from migrate.clock import Clock, SystemClock
from migrate.ledger.fleet import read_plan_report
from migrate.ledger.lifecycle import END_STATES, ORDER, HostState, LedgerError
from migrate.ledger.plandir import open_plan_ledger
from migrate.ledger.records import StepRecord

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


@dataclass(frozen=True)
class HostStatus:
    name: str
    role: str
    state: HostState
    changed_at: float
    age: float  # seconds since the last change
    actor: str
    note: str
    last_step: StepRecord | None
    stuck: bool

    @property
    def failed(self) -> bool:
        return self.state is HostState.FAILED


@dataclass(frozen=True)
class StatusView:
    cluster: str
    plan_dir: str
    plan_id: str
    at: float
    stale: float
    hosts: list[HostStatus]

    @property
    def groups(self) -> dict[HostState, list[HostStatus]]:
        grouped: dict[HostState, list[HostStatus]] = {s: [] for s in ORDER}
        for host in self.hosts:
            grouped[host.state].append(host)
        return {s: hosts for s, hosts in grouped.items() if hosts}

    @property
    def attention(self) -> list[HostStatus]:
        return [h for h in self.hosts if h.failed or h.stuck]

    @property
    def ended(self) -> int:
        return sum(h.state in END_STATES for h in self.hosts)


def status_view(plan_dir: Path, ledger_file: Path | None = None, *, stale: float = 86400.0,
                clock: Clock | None = None) -> StatusView:
    clock = clock or SystemClock()
    cluster = str(read_plan_report(plan_dir).get("cluster") or plan_dir.name)
    with open_plan_ledger(plan_dir, ledger_file, clock=clock) as ledger:
        records, steps, plan_id = ledger.hosts(), ledger.steps(), ledger.plan_id or ""
    last: dict[str, StepRecord] = {}
    for journalled in steps:
        last[journalled.host] = journalled
    now = clock.now()
    hosts = []
    for r in records:
        step: StepRecord | None = last.get(r.name)
        moved = max(r.changed_at, step.finished_at or step.started_at) if step else r.changed_at
        in_progress = r.state not in END_STATES and r.state is not HostState.ACTIVE
        unfinished = step is not None and step.outcome is None
        stuck = (in_progress and now - r.changed_at > stale) or (
            unfinished and step is not None and now - step.started_at > stale)
        hosts.append(HostStatus(r.name, r.role, r.state, r.changed_at, max(0.0, now - moved), r.actor, r.note, step,
                                stuck))
    return StatusView(cluster, str(plan_dir), plan_id, now, stale, hosts)


def parse_duration(text: str) -> float:
    """'24h', '90m', '1d12h', '2w' → seconds."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise LedgerError(f"not a duration: {text!r}", hint="write it like 24h, 90m, 1d12h or 2w")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def humanize(seconds: float) -> str:
    """The two largest units: 3d 4h, 2h 5m, 40s."""
    left = int(seconds)
    sizes = [("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]
    first = next((i for i, (_, size) in enumerate(sizes) if left >= size), len(sizes) - 1)
    (big, big_size), (small, small_size) = sizes[first], sizes[min(first + 1, len(sizes) - 1)]
    head = f"{left // big_size}{big}"
    rest = (left % big_size) // small_size
    return f"{head} {rest}{small}" if rest and small != big else head
