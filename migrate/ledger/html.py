"""The decommission report as one self-contained HTML page, rendered from the Jinja2 template shipped beside this
module on the shared page frame (migrate/pages.py: autoescaped, a host name or a note is text, never markup)."""
# exercised by tests/cli/test_report.py

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrate.ledger.chart import burndown_chart
from migrate.ledger.fleet import FleetReport
from migrate.ledger.formats import report_data
from migrate.pages import render_page

TEMPLATES = Path(__file__).parent / "templates"
TIMELINE_SHOWN = 6  # latest events per host on the page; the JSON and markdown reports carry all of them


def to_html(fleet: FleetReport) -> str:
    report = report_data(fleet, timeline_limit=TIMELINE_SHOWN)
    for cluster in report["clusters"]:
        for host in cluster["hosts"]:  # one text line per event, escaped once by the template (5,000 hosts: seconds)
            host["timeline"] = [event_text(e) for e in host["timeline"]]
    return render_page(TEMPLATES, "report.html.j2", report=report, chart=burndown_chart(fleet.burndown))


def event_text(e: dict[str, Any]) -> str:
    note = f" — {e['note']}" if e["note"] else ""
    return f"{e['at']} {e['actor']} {e['step']}: {e['before'] or '∅'} → {e['after']} ({e['outcome']}){note}"
