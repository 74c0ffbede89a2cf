"""The posture table as data (JSON, report.json's `posture`) and as markdown (report.md, `diff --security`)."""
# exercised by tests/posture/test_render.py

from __future__ import annotations

import json
from typing import Any

from migrate.posture.evaluate import Posture
from migrate.posture.strength import NOT_ON_TALOS, SAME, STRONGER, WEAKER
from migrate.redact import redact

MARK = {STRONGER: "▲ stronger", SAME: "= same", WEAKER: "▼ weaker", NOT_ON_TALOS: "n/a on Talos"}


def posture_data(posture: Posture, before: str, after: str) -> dict[str, Any]:
    """Plain data: benchmark, both sides' labels, counts and one row per control (values pass redaction)."""
    rows = [redact(r.to_dict()) for r in posture.rows]
    return {
        "benchmark": {"name": posture.table.benchmark.name, "version": posture.table.benchmark.version,
                      "source": posture.table.benchmark.source},
        "before": before,
        "after": after,
        "summary": {**posture.counts(), "carried_over": sum(r.carried for r in posture.rows)},
        "sections": posture.table.sections,
        "controls": rows,
    }


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def to_markdown(data: dict[str, Any], heading: str = "#") -> str:
    s = data["summary"]
    lines = [
        f"{heading} Security posture: {data['benchmark']['name']} {data['benchmark']['version']}",
        "",
        f"Before: {data['before']} · after: {data['after']}",
        "",
        f"**{s[WEAKER]} weaker**, {s[SAME]} same ({s['carried_over']} carried over from the cluster), "
        f"{s[STRONGER]} stronger, {s[NOT_ON_TALOS]} n/a on Talos.",
        "",
    ]
    weaker = [r for r in data["controls"] if r["posture"] == WEAKER]
    if weaker:
        lines += [f"{heading}# Weaker: apply the patch or sign the change off", ""]
        for r in weaker:
            lines += [f"- **CIS {r['cis']}** {r['title']}: {_cell(r['reason'])}"]
            if r["patch"]:
                lines += ["", "  ```yaml", *("  " + line for line in r["patch"].splitlines()), "  ```", ""]
        lines.append("")
    for section, label in data["sections"].items():
        rows = [r for r in data["controls"] if r["section"] == section]
        if not rows:
            continue
        lines += [f"{heading}# {label}", "", "| CIS | control | before (Kubespray) | after (Talos) | posture | why |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['cis']} | {_cell(r['title'])} | {_value(r['before'])} | {_value(r['after'])} "
                  f"| {MARK[r['posture']]}{' (carried over)' if r['carried_over'] else ''} | {_cell(r['reason'])} |"
                  for r in rows]
        lines.append("")
    return "\n".join(lines)


def shown(value: Any) -> str:
    """A value as a person reads it: flags' spelling for booleans, lists comma-joined, `unset` for none."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "none"
    return str(value)


def _value(value: Any) -> str:
    return _cell(shown(value))


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
