"""A plan directory read as Talos will run it: controlplane.yaml + worker.yaml + nodes/<host>.yaml, merged per node."""
# exercised by tests/talos/test_read_nodes.py and tests/talos/test_plan_agrees.py

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.bounds import MAX_FILE_BYTES, check_inside, check_text_shape, read_bounded
from migrate.errors import UserError
from migrate.fingerprint import Fingerprints
from migrate.spec import ClusterSpec
from migrate.talos.merge import apply_patch, load_documents
from migrate.talos.read import MachineConfig, read_config
from migrate.talos.secret_items import plan_fingerprints


@dataclass(frozen=True)
class PlanRead:
    """A plan directory as Talos will run it."""

    spec: ClusterSpec
    report: dict[str, Any]  # report.json, {} when absent
    node_configs: dict[str, MachineConfig] = field(default_factory=dict)
    secrets: Fingerprints | None = None  # the plan's secret material, comparable only


def is_plan_dir(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / "controlplane.yaml").is_file()


def read_plan(plan_dir: Path, carried: ClusterSpec | None = None) -> PlanRead:
    """controlplane.yaml + worker.yaml + nodes/<host>.yaml (per-node patches) → the spec Talos will run."""
    plan_dir = Path(plan_dir)
    if not is_plan_dir(plan_dir):
        raise UserError("not a plan directory: no controlplane.yaml", where=str(plan_dir))
    check_inside(plan_dir, [plan_dir / n for n in ("report.json", "controlplane.yaml", "worker.yaml", "secrets.yaml",
                                                   "nodes")] + list((plan_dir / "nodes").glob("*.y*ml")))
    report = _read_report(plan_dir / "report.json")
    bases = {"controlplane": _read_docs(plan_dir / "controlplane.yaml")}
    worker_file = plan_dir / "worker.yaml"
    bases["worker"] = _read_docs(worker_file) if worker_file.is_file() else bases["controlplane"]
    roles_by_host = _report_roles(report)
    node_configs: dict[str, MachineConfig] = {}
    for patch_file in sorted((plan_dir / "nodes").glob("*.y*ml")):
        patch = _read_docs(patch_file)
        host = patch_file.stem
        kind = _patch_machine_type(patch) or roles_by_host.get(host, "worker")
        merged = MachineConfig(tuple(apply_patch(bases[kind], patch, where=str(patch_file))))
        node_configs[host] = merged
    cluster = MachineConfig(tuple(bases["controlplane"]))
    spec = read_config(cluster, node_configs.values(), carried=carried, node_names=list(node_configs))
    secrets = plan_fingerprints(plan_dir, bases["controlplane"])
    return PlanRead(spec=spec, report=report, node_configs=node_configs, secrets=secrets)


def _read_docs(path: Path) -> list[dict[str, Any]]:
    try:
        return load_documents(read_bounded(path), where=str(path))
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", where=str(path)) from None


def _read_report(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        text = read_bounded(path)
        check_text_shape(text, str(path), max_line=MAX_FILE_BYTES)  # report.json is one document, nested a little
        report: dict[str, Any] = json.loads(text)
        return report
    except (OSError, json.JSONDecodeError, RecursionError) as exc:
        raise UserError(f"not a readable plan report: {exc}", where=str(path)) from None


def _patch_machine_type(patch: list[dict[str, Any]]) -> str | None:
    for doc in patch:
        if "kind" not in doc and (doc.get("machine") or {}).get("type"):
            return "controlplane" if doc["machine"]["type"] in ("controlplane", "init") else "worker"
    return None


def _report_roles(report: Mapping[str, Any]) -> dict[str, str]:
    """host → controlplane|worker from the plan report's node list (`role`, or any text naming a control plane)."""
    roles: dict[str, str] = {}
    nodes = report.get("nodes") or []
    items = (
        nodes.items() if isinstance(nodes, Mapping) else ((n.get("name"), n) for n in nodes if isinstance(n, Mapping))
    )
    for name, node in items:
        text = str(node.get("role") if isinstance(node, Mapping) and "role" in node else json.dumps(node)).lower()
        roles[str(name)] = "controlplane" if "control" in text else "worker"
    return roles
