"""The plan's report: report.json for machines and CI, report.md for the reviewer who signs off."""
# exercised by tests/talos/test_plan.py

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from migrate.mapping.engine import NO_RULE
from migrate.mapping.finding import DERIVED, MANUAL, SETTING, VERDICTS, Finding
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


def report_data(meta: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    """The whole report as plain data (meta: cluster, talos, joinable, nodes, validation, warnings)."""
    return {
        **meta,
        "summary": summary(findings),
        "manual": [f.setting for f in findings if f.verdict == MANUAL],
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
        f"(supports Kubernetes {talos['kubernetes_range']}), {len(data['nodes'])} nodes.",
        "",
    ]
    if not data["joinable"]:
        lines += [f"> **{NOT_JOINABLE}**", ""]
    lines += [
        "| kept | changed | dropped | manual | settings read | derived | without a rule | blockers |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s['kept']} | {s['changed']} | {s['dropped']} | {s['manual']} | {s['settings']} | {s['derived']} "
        f"| {s['no_rule']} | {s['blockers']} |",
        "",
        "Apply per node: `talosctl apply-config --insecure --nodes <ip> --file controlplane.yaml "
        "--config-patch @nodes/<host>.yaml` (workers: worker.yaml). Never run `talosctl bootstrap`.",
        "",
    ]
    validation = data["validation"]
    lines += ["## Validation", "", f"- schema: {validation['schema']}", f"- talosctl: {validation['talosctl']}"]
    lines += [f"- problem: `{p}`" for p in validation["problems"]] or ["- no problems found"]
    lines.append("")
    findings = data["findings"]
    order = {"blocker": 0, "warning": 1, "notice": 2, "info": 3}
    for verdict in ("manual", "changed", "dropped", "kept"):
        chosen = sorted((f for f in findings if f["verdict"] == verdict),
                        key=lambda f: (order[f["severity"]], f["area"], f["setting"]))
        if not chosen:
            continue
        lines += [f"## {verdict} ({len(chosen)})", "", "| setting | severity | Talos path | value | why |",
                  "|---|---|---|---|---|"]
        lines += [_row(f) for f in chosen]
        lines.append("")
    return "\n".join(lines)


def _row(f: dict[str, Any]) -> str:
    value = "(secret)" if f.get("secret") else _cell(json.dumps(f["value"], ensure_ascii=False)) if "value" in f else ""
    return (f"| `{f['setting']}` | {f['severity']} | {_cell(f['talos_path'] or '—')} | {value} "
            f"| {_cell(f['reason'])} |")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
