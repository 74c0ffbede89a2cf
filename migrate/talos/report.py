"""The plan's report: report.json for machines and CI, report.md for the reviewer who signs off."""
# exercised by tests/talos/test_plan.py

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from migrate.mapping.acceptance import Acknowledged, blocker_id, is_blocker
from migrate.mapping.engine import NO_RULE, NOT_IN_EFFECT, NOT_SET
from migrate.mapping.finding import CHANGED, DERIVED, DROPPED, KEPT, MANUAL, SETTING, VERDICTS, Finding, counted
from migrate.redact import redact

NOT_JOINABLE = "NOT JOINABLE to the existing cluster: the configs carry freshly generated CAs (no --pki)."


def summary(findings: Iterable[Finding]) -> dict[str, Any]:
    findings = list(findings)
    counts = Counter(f.verdict for f in findings)
    return {
        **{v: counts.get(v, 0) for v in VERDICTS},
        "settings": sum(1 for f in findings if f.source == SETTING),
        "derived": sum(1 for f in findings if f.source == DERIVED),
        "no_rule": sum(1 for f in findings if f.reason == NO_RULE),
        "blockers": sum(1 for f in findings if f.severity == "blocker"),
    }


def report_data(meta: dict[str, Any], findings: list[Finding], acknowledged: Acknowledged | None = None) -> dict[str, Any]:
    """The whole report as plain data (meta: cluster, talos, joinable, nodes, validation, warnings); each blocker
    with its stable id and, when a person acknowledged it (--accept, --accept-file), who and why."""
    acks = acknowledged.accepted if acknowledged else {}
    blockers: list[dict[str, Any]] = []
    for f in findings:
        if is_blocker(f) and (bid := blocker_id(f.setting)) not in {b["id"] for b in blockers}:
            blockers.append({"id": bid, "setting": f.setting, "reason": f.reason,
                             **({"acknowledged": acks[bid].to_dict()} if bid in acks else {})})
    return {
        **meta,
        "summary": {**summary(findings), "blockers_open": sum(1 for b in blockers if "acknowledged" not in b)},
        "manual": [f.setting for f in findings if f.verdict == MANUAL],
        "blockers": blockers,
        "findings": [_public(f) for f in findings],
    }


def _public(f: Finding) -> dict[str, Any]:
    """Values pass the terminal's redaction too: a password nested in a non-secret setting stays out."""
    data = f.to_dict()
    if "value" in data:
        data["value"] = redact({"value": data["value"]})["value"]
    return data


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False, default=str) + "\n"


def to_markdown(data: dict[str, Any]) -> str:
    talos = data["talos"]
    s = data["summary"]
    lines = [
        f"# Migration plan: {data['cluster']} → Talos {talos['version']}",
        "",
        f"Kubernetes {data['kubernetes_version']} (Kubespray {data['kubespray_release']}), Talos {talos['release']} "
        f"(supports Kubernetes {talos['kubernetes_range']}), {counted(len(data['nodes']), 'node')}.",
        "",
    ]
    if not data["joinable"]:
        lines += [f"> **{NOT_JOINABLE}**", ""]
    findings = data["findings"]
    unused = [f for f in findings if not_used(f)]
    lines += [
        "| kept | changed | dropped | not used here | manual | settings read | derived | without a rule | blockers |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s['kept']} | {s['changed']} | {s['dropped'] - len(unused)} | {len(unused)} | {s['manual']} | {s['settings']} "
        f"| {s['derived']} | {s['no_rule']} | {s['blockers']} |",
        "",
        "Apply per node: `talosctl apply-config --insecure --nodes <ip> --file controlplane.yaml "
        "--config-patch @nodes/<host>.yaml` (workers: worker.yaml). Never run `talosctl bootstrap`.",
        "",
    ]
    lines += _blockers(data.get("blockers", []))
    validation = data["validation"]
    lines += ["## Validation", "", f"- schema: {validation['schema']}", f"- talosctl: {validation['talosctl']}"]
    lines += [f"- problem: `{p}`" for p in validation["problems"]] or ["- no problems found"]
    lines.append("")
    sections = [
        ("manual", "a person must act; each step once, with every setting it covers", MANUAL, None),
        ("changed", "Talos runs it differently; the value is the cluster's today (before)", CHANGED, None),
        ("dropped", "the cluster uses it, the Talos configs do not carry it", DROPPED, False),
        ("not used by this cluster", "the feature is off here, so nothing is lost", DROPPED, True),
        ("kept", "carried over as it is", KEPT, None),
    ]
    for title, meaning, verdict, unused_only in sections:
        chosen = [f for f in findings if f["verdict"] == verdict and (unused_only is None or not_used(f) == unused_only)]
        if not chosen:
            continue
        groups = grouped(chosen)
        count = counted(len(chosen), "setting") + (f" in {counted(len(groups), 'step')}" if verdict == MANUAL else "")
        lines += [f"## {title} ({count})", "", f"_{meaning}._", "",
                  "| Kubespray setting = value | severity | Talos path | why |", "|---|---|---|---|"]
        lines += [_row(group) for group in groups]
        lines.append("")
    return "\n".join(lines)


def _blockers(blockers: list[dict[str, Any]]) -> list[str]:
    """The blockers by id: open ones stop `plan` (exit 1) until acknowledged with --accept ID or --accept-file."""
    if not blockers:
        return []
    open_ = [b for b in blockers if "acknowledged" not in b]
    lines = [f"## Blockers ({counted(len(open_), 'open blocker')}, {len(blockers) - len(open_)} acknowledged)", "",
             "| id | setting | status |", "|---|---|---|"]
    for b in blockers:
        ack = b.get("acknowledged")
        status = "**open**" if ack is None else _cell(
            f"acknowledged by {ack['who']}: {ack['why']}" + (f" (until {ack['expires']})" if ack.get("expires") else ""))
        lines.append(f"| `{b['id']}` | {_cell(b['setting'])} | {status} |")
    return [*lines, "", "Acknowledge a blocker once you have read it: `plan ... --accept ID`, or an `--accept-file` "
            "listing `id`, `who`, `why` (and `expires`).", ""]


def not_used(f: dict[str, Any]) -> bool:
    reason = str(f["reason"])
    return bool(f["verdict"] == DROPPED) and (reason.startswith(NOT_IN_EFFECT) or reason.endswith(NOT_SET))


def grouped(findings: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Findings that say the same thing (five kube_vip_* settings, one hand-over) become one row, worst first;
    a group's first finding is its worst."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault(f["reason"], []).append(f)
    ordered = [sorted(g, key=lambda f: (_ORDER[f["severity"]], f["setting"])) for g in groups.values()]
    return sorted(ordered, key=lambda g: (_ORDER[g[0]["severity"]], g[0]["area"], g[0]["setting"]))


_ORDER = {"blocker": 0, "warning": 1, "notice": 2, "info": 3}


def _row(group: list[dict[str, Any]]) -> str:
    first = group[0]
    settings = "<br>".join(_setting(f) for f in group)
    paths = "<br>".join(dict.fromkeys(_cell(f["talos_path"] or "—") for f in group))
    return f"| {settings} | {first['severity']} | {paths} | {_cell(first['reason'])} |"


def _setting(f: dict[str, Any]) -> str:
    name = f"`{_cell(f['setting'])}`"
    if f.get("secret"):
        return f"{name} = (secret)"
    if f["source"] != SETTING:
        return name  # a derived fact: the reason says what it is
    return f"{name} = {_cell(yaml_value(f.get('value')))}"


def yaml_value(value: Any) -> str:
    """A value as group_vars spell it: `true`, `calico`, `[a, b]`; an unset one says so instead of `None`."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
