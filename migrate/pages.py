"""One self-contained HTML page from a Jinja2 template: the environment every report shares (autoescaped — a
host name or a value is text, never markup; strict about undefined names) and the page frame in
migrate/templates/page.html.j2 (head, styles, tables) that each report's template extends."""
# exercised by tests/cli/test_report.py (the ledger's page) and tests/posture/test_html.py (the posture page)

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

FRAME = Path(__file__).parent / "templates"


def render_page(templates: Path, name: str, **context: Any) -> str:
    """`name` from `templates` (a report's own directory), which may extend "page.html.j2"."""
    env = jinja2.Environment(loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(templates),
                                                         jinja2.FileSystemLoader(FRAME)]),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env.get_template(name).render(**context)
