"""The decommission report as JSON (for scripts), CSV (a row per host, for a spreadsheet) and markdown (for a
ticket or a wiki). One data shape, `report_data`, feeds JSON and the HTML page."""
# exercised by tests/cli/test_report.py

from __future__ import annotations

import csv
import io
import json
from typing import Any

from migrate.clock import rfc3339
from migrate.ledger.fleet import ClusterReport, FleetReport, HostLine, OpenItem
from migrate.ledger.lifecycle import HostState
from migrate.ledger.records import Event

CSV_COLUMNS = ("cluster", "plan_dir", "host", "role", "state", "last_change_utc", "actor", "note", "events",
               "registered_utc", "ended_utc", "open_items")


def report_data(fleet: FleetReport, timeline_limit: int | None = None) -> dict[str, Any]:
    """Plain data for JSON and the HTML template; `timeline_limit` keeps each host's latest events only."""
    return {
        "generated_at": rfc3339(fleet.generated_at),
        "progress": {"hosts": fleet.total, "ended": fleet.ended, "alive": fleet.total - fleet.ended},
        "clusters": [_cluster(c, timeline_limit) for c in fleet.clusters],
        "burndown": [{"at": rfc3339(at), "alive": alive} for at, alive in fleet.burndown],
    }


def _cluster(c: ClusterReport, limit: int | None) -> dict[str, Any]:
    items = _items_by_subject(c.open_items)
    return {
        "cluster": c.cluster, "plan_dir": c.plan_dir, "plan_id": c.plan_id, "created_at": rfc3339(c.created_at),
        "progress": {"hosts": c.total, "ended": c.ended, "alive": c.total - c.ended,
                     "by_state": {s.value: n for s, n in c.by_state.items()}},
        "hosts": [_host(h, items.get(h.record.name, []), limit) for h in c.hosts],
        "open_items": [_item(i) for i in c.open_items],
        "manual_findings": c.manual_findings,
        "plan_events": [_event(e) for e in c.plan_events],
    }


def _host(h: HostLine, items: list[OpenItem], limit: int | None) -> dict[str, Any]:
    r = h.record
    return {"name": r.name, "role": r.role, "state": r.state.value, "last_change": rfc3339(r.changed_at),
            "actor": r.actor, "note": r.note, "alive": h.alive,
            "registered": rfc3339(h.first_at),
            "ended": rfc3339(h.ended_at) if h.ended_at is not None else None,
            "open_items": [i.what for i in items], "events": h.event_count,
            "timeline": [_event(e) for e in (h.timeline[-limit:] if limit else h.timeline)]}


def _event(e: Event) -> dict[str, Any]:
    return {"id": e.id, "at": rfc3339(e.at), "actor": e.actor, "run_id": e.run_id, "host": e.host, "step": e.step,
            "before": _state(e.before), "after": _state(e.after), "outcome": e.outcome, "evidence": dict(e.evidence),
            "note": e.note}


def _item(i: OpenItem) -> dict[str, Any]:
    return {"kind": i.kind, "subject": i.subject, "what": i.what, "since": rfc3339(i.since) if i.since else None}


def _state(state: HostState | None) -> str | None:
    return state.value if state is not None else None


def _items_by_subject(items: list[OpenItem]) -> dict[str, list[OpenItem]]:
    grouped: dict[str, list[OpenItem]] = {}
    for item in items:
        grouped.setdefault(item.subject, []).append(item)
    return grouped


def to_json(fleet: FleetReport) -> str:
    return json.dumps(report_data(fleet), indent=2) + "\n"


def to_csv(fleet: FleetReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180, what spreadsheets expect
    writer.writerow(CSV_COLUMNS)
    for c in fleet.clusters:
        items = _items_by_subject(c.open_items)
        for h in c.hosts:
            r = h.record
            writer.writerow([_cell(v) for v in (
                c.cluster, c.plan_dir, r.name, r.role, r.state.value, rfc3339(r.changed_at), r.actor, r.note,
                h.event_count, rfc3339(h.first_at),
                rfc3339(h.ended_at) if h.ended_at is not None else "",
                "; ".join(i.what for i in items.get(r.name, [])))])
    return buffer.getvalue()


def _cell(value: object) -> object:
    """A note typed by a person must not become a spreadsheet formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_markdown(fleet: FleetReport) -> str:
    lines = ["# Decommission report", "",
             f"Generated {rfc3339(fleet.generated_at)}: **{fleet.ended} of {fleet.total}** old hosts decommissioned "
             f"or retired across {len(fleet.clusters)} cluster(s).", "",
             "| cluster | plan | hosts | ended | still alive | failed | open items |", "|---|---|--:|--:|--:|--:|--:|"]
    for c in fleet.clusters:
        failed = c.by_state.get(HostState.FAILED, 0)
        lines.append(f"| {_md(c.cluster)} | `{_md(c.plan_dir)}` | {c.total} | {c.ended} | {c.total - c.ended} | "
                     f"{failed} | {len(c.open_items)} |")
    for c in fleet.clusters:
        lines += _cluster_markdown(c)
    return "\n".join(lines) + "\n"


def _cluster_markdown(c: ClusterReport) -> list[str]:
    lines = ["", f"## {_md(c.cluster)}", "",
             f"Plan `{_md(c.plan_dir)}` (fingerprint `{c.plan_id[:12]}`): **{c.ended} of {c.total}** hosts "
             f"decommissioned or retired; " + ", ".join(f"{n} {s.value}" for s, n in c.by_state.items()) + ".", "",
             "### Open items", ""]
    lines += [f"- **{i.kind}** {_md(i.subject)}: {_md(i.what)}" + (f" (since {rfc3339(i.since)})" if i.since else "")
              for i in c.open_items] or ["None."]
    lines += ["", "### Hosts", "", "| host | role | state | since | by | note |", "|---|---|---|---|---|---|"]
    lines += [f"| {_md(h.record.name)} | {h.record.role} | {h.record.state.value} | {rfc3339(h.record.changed_at)} | "
              f"{_md(h.record.actor)} | {_md(h.record.note)} |" for h in c.hosts]
    lines += ["", "### Timeline (who did what when)", ""]
    for h in c.hosts:
        lines.append(f"- **{_md(h.record.name)}**")
        lines += [f"  - {_event_line(e)}" for e in h.timeline]
    if c.plan_events:
        lines.append("- **plan-wide**")
        lines += [f"  - {_event_line(e)}" for e in c.plan_events]
    return lines


def _event_line(e: Event) -> str:
    move = f"{_state(e.before) or '∅'} → {_state(e.after)}" if e.after is not None else _md(str(dict(e.evidence)))
    note = f" — {_md(e.note)}" if e.note else ""
    return f"{rfc3339(e.at)} {_md(e.actor)} `{_md(e.step)}`: {move} ({e.outcome}, run {_md(e.run_id) or '-'}){note}"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
