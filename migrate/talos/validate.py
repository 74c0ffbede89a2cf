"""Check generated Talos documents: the published JSON schema of their version, plus Talos's own rules the
schema misses (deny-listed flags, protected kubelet fields, string-only map values, conflicting documents),
plus `talosctl validate --mode metal` when talosctl is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from migrate.mapping.restrictions import denied_flags, protected_kubelet_fields
from migrate.talos import multidoc
from migrate.talos.versions import TalosVersion

# Talos 1.14 parses `kind: UnattendedInstallConfig`, but its published schema's enum names the kind
# `UnattendedInstall` (an upstream naming bug): validate the document we write against that branch.
SCHEMA_KIND_ALIASES = {multidoc.INSTALL_KIND: "UnattendedInstall"}
SCHEMAS_ENV = "KS2T_TALOS_SCHEMAS"  # a directory of <release>/config.schema.json
_DEFAULT_SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "talos" / "schemas"
_ARGS_SECTIONS = {
    ("cluster", "apiServer", "extraArgs"): "kube-apiserver",
    ("cluster", "controllerManager", "extraArgs"): "kube-controller-manager",
    ("cluster", "scheduler", "extraArgs"): "kube-scheduler",
    ("cluster", "proxy", "extraArgs"): "kube-proxy",
    ("machine", "kubelet", "extraArgs"): "kubelet",
    ("cluster", "etcd", "extraArgs"): "etcd",
}
_STRING_MAPS = (("machine", "nodeLabels"), ("machine", "nodeAnnotations"), ("machine", "sysctls"),
                ("machine", "sysfs"), ("machine", "env"))
# a legacy v1alpha1 field and the document that replaced it may not both be set (Talos refuses the config)
_CONFLICTS = {
    "HostnameConfig": ("machine", "network", "hostname"),
    "ResolverConfig": ("machine", "network", "nameservers"),
    "TimeSyncConfig": ("machine", "time", "servers"),
    "EnvironmentConfig": ("machine", "env"),
}


@dataclass(frozen=True)
class Problem:
    file: str
    document: str  # "v1alpha1" or the kind
    path: str
    message: str
    rule: str  # schema | talos | talosctl

    def __str__(self) -> str:
        return f"{self.file} [{self.document}] {self.path}: {self.message} ({self.rule})"


def schema_dir() -> Path | None:
    """Where the published schemas are: $KS2T_TALOS_SCHEMAS, else ../shared beside the checkout, else none."""
    configured = os.environ.get(SCHEMAS_ENV)
    candidate = Path(configured) if configured else _DEFAULT_SCHEMAS
    return candidate if candidate.is_dir() else None


def validate(file: str, documents: list[dict[str, Any]], talos: TalosVersion, schemas: Path | None) -> list[Problem]:
    """Every problem with one config file's documents; schema problems only when `schemas` (see schema_dir) is given."""
    # Talos's own rules are written against the v1alpha1 form; 1.14's documents are checked in that form too
    problems = talos_rules(file, multidoc.fold(documents), talos)
    schema = _schema_path(schemas, talos)
    if schema is not None:
        for doc in documents:
            problems += _schema_problems(file, doc, schema)
    return problems


def talos_rules(file: str, documents: list[dict[str, Any]], talos: TalosVersion) -> list[Problem]:
    problems: list[Problem] = []
    kinds = {d.get("kind") for d in documents if "kind" in d}
    for doc in documents:
        label = doc.get("kind", "v1alpha1")
        if "persist" in doc:
            problems.append(Problem(file, label, "persist", "deprecated key; the schema rejects it", "talos"))
        if "kind" in doc:
            problems += _string_map(file, label, ("variables",), _get(doc, ("variables",)))
            if doc["kind"] not in talos.documents and talos.documents and not talos.kubernetes_documents:
                problems.append(Problem(file, label, "kind", f"Talos {talos.minor} has no {label} document", "talos"))
            continue
        for path, component in _ARGS_SECTIONS.items():
            args = _get(doc, path) or {}
            for flag in sorted(set(args) & denied_flags(component)):
                problems.append(Problem(file, label, ".".join(path) + f".{flag}", f"{component} flag is on Talos's "
                                        "deny list", "talos"))
            problems += _args_values(file, label, path, args, talos)
        extra = _get(doc, ("machine", "kubelet", "extraConfig")) or {}
        for field_name in sorted(set(extra) & protected_kubelet_fields()):
            problems.append(Problem(file, label, f"machine.kubelet.extraConfig.{field_name}",
                                    "protected kubelet field", "talos"))
        for string_map in _STRING_MAPS:
            problems += _string_map(file, label, string_map, _get(doc, string_map))
        for kind, legacy in _CONFLICTS.items():
            if kind in kinds and _get(doc, legacy) not in (None, {}, []):
                problems.append(Problem(file, label, ".".join(legacy), f"conflicts with the {kind} document", "talos"))
    return problems


def talosctl_validate(paths: Iterable[Path]) -> list[Problem] | None:
    """`talosctl validate --mode metal` on each file, or None when talosctl is not installed."""
    binary = shutil.which("talosctl")
    if binary is None:
        return None
    problems = []
    for path in paths:
        run = subprocess.run([binary, "validate", "--config", str(path), "--mode", "metal"],
                             capture_output=True, text=True, timeout=60, check=False)
        if run.returncode != 0:
            message = (run.stderr or run.stdout).strip() or f"exit code {run.returncode}"
            problems.append(Problem(path.name, "-", "-", message, "talosctl"))
    return problems


def _args_values(file: str, label: str, path: tuple[str, ...], args: Mapping[str, Any], talos: TalosVersion) -> list[Problem]:
    out = []
    for flag, value in sorted(args.items()):
        is_list = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if isinstance(value, str) or (is_list and talos.extra_args_lists):
            continue
        need = "a string or a list of strings" if talos.extra_args_lists else "a string"
        out.append(Problem(file, label, ".".join(path) + f".{flag}", f"value must be {need}", "talos"))
    return out


def _string_map(file: str, label: str, path: tuple[str, ...], values: Any) -> list[Problem]:
    if not isinstance(values, Mapping):
        return []
    return [Problem(file, label, ".".join(path) + f".{k}", "map values must be strings", "talos")
            for k, v in sorted(values.items(), key=lambda kv: str(kv[0])) if not isinstance(v, str)]


def _get(doc: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = doc
    for part in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def _schema_path(directory: Path | None, talos: TalosVersion) -> Path | None:
    if directory is None:
        return None
    path = directory / f"v{talos.release}" / "config.schema.json"
    return path if path.is_file() else None


def _schema_problems(file: str, doc: dict[str, Any], schema: Path) -> list[Problem]:
    label = doc.get("kind", "v1alpha1")
    if label in SCHEMA_KIND_ALIASES:
        doc = {**doc, "kind": SCHEMA_KIND_ALIASES[label]}
    validator = _validator(str(schema), doc.get("kind", "v1alpha1"))
    if validator is None:
        return [Problem(file, label, "kind", "unknown document kind for this Talos version", "schema")]
    return [Problem(file, label, ".".join(str(p) for p in e.absolute_path) or "<root>", e.message, "schema")
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


@cache
def _validator(schema_file: str, kind: str) -> jsonschema.protocols.Validator | None:
    """A validator for one document kind: the root oneOf hides which branch failed, so pick the branch by kind."""
    schema = json.loads(Path(schema_file).read_text())
    defs = schema["$defs"]
    names: list[str] = [n for n, d in defs.items() if kind in (d.get("properties", {}).get("kind", {}).get("enum") or ())]
    name = "v1alpha1.Config" if kind == "v1alpha1" else (names[0] if names else None)
    if name is None:
        return None
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": defs})
