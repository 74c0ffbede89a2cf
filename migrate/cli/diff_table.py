"""`diff --output table` for a terminal: readable at 80 columns, never a word split across lines.

Each change is a block (severity, then the field and its before → after, the consequence wrapped under it,
the plan verdicts that explain it), so the consequence gets the whole width instead of a sixth of it. Member
changes of etcd are one small table of members (name, node, peer and client URL), not a JSON object each.
"""
# exercised by tests/cli/test_diff_table.py

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from migrate import ui
from migrate.diff import AREAS, Change
from migrate.sides import Side

SEVERITY_STYLE = {"breaking": "bold red", "risky": "yellow", "cosmetic": "dim"}
MEMBER_FIELDS = (("name", "name"), ("node", "node"), ("peer URL", "peer_url"), ("client URL", "client_url"))


def render_table(before: Side, after: Side, changes: list[Change]) -> None:
    if not changes:
        ui.out.print(ui.text(f"No differences between {before.label} and {after.label}."))
        return
    matched = any(c.intended is not None for c in changes)
    ui.out.print(ui.text(f"before: {before.label}\nafter:  {after.label}"))
    for area in AREAS:
        rows = [c for c in changes if c.area == area]
        if not rows:
            continue
        ui.out.print(Text(f"\n{area} ({len(rows)})", style="bold"))
        members = [c for c in rows if _is_member(c)]
        table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=False)
        table.add_column("severity", no_wrap=True, min_width=8)
        table.add_column("change", overflow="fold")  # fold only a single word wider than the screen
        for c in rows:  # the members' table stands where the first of them would
            if c not in members or c is members[0]:
                block = _members(members, matched) if c in members else _block(c, matched)
                table.add_row(Text(c.severity, style=SEVERITY_STYLE[c.severity]), block)
        ui.out.print(table)


def _block(c: Change, matched: bool) -> Group:
    old, new = c.describe_values()
    head = Text.assemble((c.where, "bold"), ": ", ui.text(old), (" → ", "dim"), ui.text(new))
    return Group(head, *_explanation(c.consequence, c, matched))


def _explanation(consequence: str, c: Change, matched: bool) -> list[Text]:
    lines = [Text(consequence, style="italic")]
    if matched:
        lines.append(Text("plan: ", style="dim") + (ui.text(", ".join(c.explained_by or ())) if c.explained_by
                                                   else Text("UNEXPLAINED", style="bold red")))
    return lines


def _is_member(c: Change) -> bool:
    """A whole etcd member added or removed (etcd.members.NAME with an object on one side)."""
    return (len(c.path) == 3 and c.path[:2] == ("etcd", "members") and not c.secret
            and isinstance(c.before if c.before is not None else c.after, dict))


def _members(changes: list[Change], matched: bool) -> Group:
    """Members that go (-) and come (+) as one small table; each distinct consequence once under it."""
    table = Table(box=None, padding=(0, 1, 0, 0), show_edge=False)
    table.add_column("")
    for title, _ in MEMBER_FIELDS:
        table.add_column(title, overflow="fold")
    def member(c: Change) -> dict[str, Any]:
        return c.before if c.before is not None else c.after  # type: ignore[no-any-return]

    for c in sorted(changes, key=lambda c: (str(member(c).get("node") or ""), c.before is None, c.path)):
        sign = Text("-", style="red") if c.before is not None else Text("+", style="green")
        table.add_row(sign, *(ui.text(member(c).get(key) or "—") for _, key in MEMBER_FIELDS))
    notes: list[Text] = []
    seen: set[tuple[str, tuple[str, ...] | None]] = set()
    for c in changes:
        key = (_generic(c), c.explained_by)
        if key not in seen:
            seen.add(key)
            notes += _explanation(key[0], c, matched)
    return Group(Text("etcd members", style="bold"), table, *notes)


def _generic(c: Change) -> str:
    """'etcd member etcd1 is only on one side: …' said once for all members: the table names them."""
    return c.consequence.replace(f" {c.path[2]} ", " ", 1)
