"""`kubespray2talos report`: the decommission report for one plan or a fleet of them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from migrate import ui
from migrate.atomic import write_file
from migrate.cli.options import OldSpellings
from migrate.ledger.fleet import fleet_report
from migrate.ledger.formats import to_csv, to_json, to_markdown
from migrate.ledger.html import TIMELINE_SHOWN, to_html

RENDERERS = {"md": to_markdown, "csv": to_csv, "json": to_json, "html": to_html}


# `report -f md -o FILE` until -o/--output became the format and --out the file in every verb
@click.command(cls=OldSpellings, old_spellings={"--format": "--output", "-f": "--output",
                                                 "-o": ("--out", lambda value: value not in RENDERERS)})
@click.argument("plan_dirs", metavar="PLAN_DIR...", nargs=-1, required=True,
                type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--output", "-o", "fmt", type=click.Choice(list(RENDERERS)), default="md", show_default=True,
              help="md for a ticket or wiki, csv for a spreadsheet (a row per host), json for scripts, html for "
                   "people (one self-contained page with a burn-down chart).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE (atomically) instead of standard output.")
@click.option("--ledger", "ledger_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The ledger file, when there is one PLAN_DIR and its ledger lives elsewhere.")
def report(plan_dirs: tuple[Path, ...], fmt: str, out: Path | None, ledger_file: Path | None) -> None:
    """Write the decommission report: progress (N of M old hosts decommissioned), a per-host timeline of
    who did what when, and the open items (failed or unfinished steps, the plan's `manual` findings not yet
    marked done with `mark --finding`).

    Several PLAN_DIRs make one fleet report: a row per cluster, then its hosts — for a team retiring many
    clusters. Secrets never reach it: the ledger stores evidence already redacted.

    \b
    Examples:
      kubespray2talos report plan/                          # markdown on stdout
      kubespray2talos report plan/ --output html --out report.html
      kubespray2talos report plans/*/ --output csv --out fleet.csv
      kubespray2talos report plan/ --output json | jq '.clusters[0].open_items'
    """
    page = fmt == "html"  # the page shows neither evidence nor more than each host's latest events
    fleet = fleet_report(list(plan_dirs), ledger_file=ledger_file, evidence=not page,
                         latest=TIMELINE_SHOWN if page else None)
    text = RENDERERS[fmt](fleet)
    if out is None:
        sys.stdout.write(text)
        return
    write_file(out, text, 0o644)
    ui.note(f"{fmt} report written to {out}")
