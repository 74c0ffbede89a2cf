"""How Kubespray writes component flags and feature gates, as plain strings and booleans."""
# exercised by tests/kubespray/test_load.py

from __future__ import annotations

from typing import Any

from migrate.component_flags import flag_value
from migrate.kubespray.resolve import Resolution


def component_args(value: Any) -> dict[str, str]:
    """kubeadm extraArgs: flag -> string (YAML may have given numbers or booleans)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): flag_value(v) for k, v in value.items()}


def feature_gates(r: Resolution, own: str) -> dict[str, bool]:
    """A component's own gate list wins when non-empty, else kube_feature_gates (Kubespray's rule)."""
    items = r.value(own, None, needed=False) or r.value("kube_feature_gates", []) or []
    gates: dict[str, bool] = {}
    for item in items:
        name, _, flag = str(item).partition("=")
        gates[name.strip()] = flag.strip().lower() in ("true", "1", "yes")
    return gates
