"""The decommission report as one self-contained HTML page, rendered from the Jinja2 template shipped beside this
module (autoescaped: a host name or a note is text, never markup)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from migrate.ledger.chart import burndown_chart
from migrate.ledger.fleet import FleetReport
from migrate.ledger.formats import report_data

TEMPLATES = Path(__file__).parent / "templates"
TIMELINE_SHOWN = 12  # events per host on the page; the JSON and markdown reports carry all of them


def to_html(fleet: FleetReport) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env.get_template("report.html.j2").render(
        report=report_data(fleet), chart=burndown_chart(fleet.burndown), timeline_shown=TIMELINE_SHOWN)
