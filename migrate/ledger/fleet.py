"""The decommission report as data: per cluster (one plan and its ledger) and for a fleet of them.

Every renderer (markdown, CSV, JSON, HTML, the terminal) reads these records; none goes back to the file.
"""
# exercised by tests/cli/test_report.py

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.clock import Clock, SystemClock
from migrate.ledger.lifecycle import END_STATES, ORDER, HostState, LedgerError
from migrate.ledger.plandir import open_plan_ledger
from migrate.ledger.records import Event, FindingMark, HostRecord, StepRecord


@dataclass(frozen=True)
class OpenItem:
    kind: str  # failed-host | failed-step | unfinished-step | manual-finding
    subject: str  # a host name, or a setting for a manual finding
    what: str
    since: float | None = None


@dataclass(frozen=True)
class HostLine:
    record: HostRecord
    timeline: list[Event]  # the host's events, oldest first (its latest ones only, when the report asked for that)
    event_count: int  # all of them
    first_at: float  # when its first event was written

    @property
    def complete(self) -> bool:
        return len(self.timeline) == self.event_count

    @property
    def alive(self) -> bool:
        return self.record.state not in END_STATES

    @property
    def ended_at(self) -> float | None:
        return self.record.changed_at if not self.alive else None


@dataclass(frozen=True)
class ClusterReport:
    cluster: str
    plan_dir: str
    plan_id: str
    created_at: float
    hosts: list[HostLine]
    plan_events: list[Event]  # plan-wide: findings marked, re-plans
    open_items: list[OpenItem]
    manual_findings: dict[str, str]  # setting -> "open" | "done"

    @property
    def total(self) -> int:
        return len(self.hosts)

    @property
    def ended(self) -> int:
        return sum(not h.alive for h in self.hosts)

    @property
    def by_state(self) -> dict[HostState, int]:
        counts = Counter(h.record.state for h in self.hosts)
        return {s: counts[s] for s in ORDER if counts[s]}


@dataclass(frozen=True)
class FleetReport:
    clusters: list[ClusterReport]
    generated_at: float
    burndown: list[tuple[float, int]] = field(default_factory=list)  # (time, old hosts still alive), a step line

    @property
    def total(self) -> int:
        return sum(c.total for c in self.clusters)

    @property
    def ended(self) -> int:
        return sum(c.ended for c in self.clusters)


def fleet_report(plan_dirs: Sequence[Path], *, ledger_file: Path | None = None, clock: Clock | None = None,
                 evidence: bool = True, latest: int | None = None) -> FleetReport:
    """`evidence=False` and `latest=N` (each host's newest events) for a renderer that shows no more (the page)."""
    clock = clock or SystemClock()
    if ledger_file is not None and len(plan_dirs) != 1:
        raise LedgerError("--ledger names one ledger: give exactly one PLAN_DIR with it")
    clusters = [cluster_report(Path(d), ledger_file, clock, evidence, latest) for d in plan_dirs]
    seen: dict[str, str] = {}
    for c in clusters:  # the same plan twice would count its hosts twice
        if c.plan_id in seen:
            raise LedgerError(f"{c.plan_dir} and {seen[c.plan_id]} hold the same plan", hint="give each plan once")
        seen[c.plan_id] = c.plan_dir
    return FleetReport(clusters, clock.now(), burndown(clusters, clock.now()))


def cluster_report(plan_dir: Path, ledger_file: Path | None, clock: Clock, evidence: bool = True,
                   latest: int | None = None) -> ClusterReport:
    plan = read_plan_report(plan_dir)
    with open_plan_ledger(plan_dir, ledger_file, clock=clock) as ledger:
        records, events = ledger.hosts(), ledger.events(evidence=evidence, latest=latest)
        counts = ledger.event_counts()
        steps, marks = ledger.steps(), ledger.findings()
        plan_id, created_at = ledger.plan_id or "", ledger.created_at or 0.0
    timelines: dict[str, list[Event]] = {r.name: [] for r in records}
    plan_events: list[Event] = []
    for event in events:
        (timelines[event.host] if event.host in timelines else plan_events).append(event)
    hosts = [HostLine(r, timelines[r.name], *counts.get(r.name, (0, r.changed_at))) for r in records]
    manual = {s: ("done" if marks.get(s, _OPEN).status == "done" else "open") for s in plan.get("manual", [])}
    return ClusterReport(str(plan.get("cluster") or plan_dir.name), str(plan_dir), plan_id, created_at, hosts,
                         plan_events, open_items(hosts, steps, manual, marks), manual)


_OPEN = FindingMark("", "open", 0.0, "", "")


def read_plan_report(plan_dir: Path) -> dict[str, Any]:
    path = plan_dir / "report.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LedgerError("not a plan directory (no report.json)", where=str(plan_dir),
                          hint="give the directory `kubespray2talos plan --out` wrote") from None
    except (OSError, ValueError) as exc:
        raise LedgerError(f"the plan's report cannot be read ({exc})", where=str(path),
                          hint="re-run `kubespray2talos plan` to rewrite it") from None
    if not isinstance(data, dict):
        raise LedgerError("the plan's report is not a JSON object", where=str(path))
    return data


def open_items(hosts: list[HostLine], steps: list[StepRecord], manual: dict[str, str],
               marks: dict[str, FindingMark]) -> list[OpenItem]:
    """What still needs a person: failed hosts, steps whose last attempt failed or never finished, manual findings."""
    items = [OpenItem("failed-host", h.record.name, h.record.note or "a step failed", h.record.changed_at)
             for h in hosts if h.record.state is HostState.FAILED]
    latest: dict[tuple[str, str], StepRecord] = {}
    for step in steps:  # a later attempt of the same step supersedes an earlier failure
        latest[(step.host, step.step)] = step
    ended = {h.record.name for h in hosts if not h.alive}
    for (host, name), step in latest.items():
        if host in ended:
            continue
        if step.outcome == "failed":
            items.append(OpenItem("failed-step", host, f"{name} failed (run {step.run_id})", step.finished_at))
        elif step.outcome is None:
            items.append(OpenItem("unfinished-step", host, f"{name} started, never finished (run {step.run_id})",
                                  step.started_at))
    items += [OpenItem("manual-finding", s, "manual finding of the plan, not marked done", None)
              for s, state in manual.items() if state == "open"]
    return items


def burndown(clusters: Sequence[ClusterReport], now: float) -> list[tuple[float, int]]:
    """Old hosts still alive over time, across the fleet: each host counts from its first event until it reached an
    end state (from the host's own events, so writers whose clocks disagree cannot make the count negative)."""
    changes: list[tuple[float, int]] = []
    for cluster in clusters:
        for host in cluster.hosts:
            start = host.first_at
            changes.append((start, 1))
            if host.ended_at is not None:
                changes.append((max(start, host.ended_at), -1))
    points: list[tuple[float, int]] = []
    alive = 0
    for at, delta in sorted(changes):
        alive += delta
        if points and points[-1][0] == at:
            points[-1] = (at, alive)
        else:
            points.append((at, alive))
    if points and now > points[-1][0]:
        points.append((now, alive))
    return points
