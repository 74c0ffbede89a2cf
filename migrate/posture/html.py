"""The posture table as one self-contained HTML page an auditor can attach to a change ticket (the ledger's page
frame, migrate/pages.py; autoescaped, so a value from an inventory is text, never markup)."""
# exercised by tests/posture/test_html.py

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrate.pages import render_page
from migrate.posture.render import MARK, shown

TEMPLATES = Path(__file__).parent / "templates"


def to_html(data: dict[str, Any]) -> str:
    """`data`: posture_data()'s output."""
    return render_page(TEMPLATES, "posture.html.j2", data=data, mark=MARK, shown=shown)
