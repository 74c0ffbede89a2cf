"""Talos's deny lists and protected kubelet fields, as data (mappings/talos/restrictions.yaml)."""
# exercised by tests/mapping/test_engine.py and tests/talos/test_render.py

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from migrate.mapping.data import load_mapping


def denied_flags(component: str) -> frozenset[str]:
    return frozenset(load_mapping("talos", "restrictions.yaml")["denied_flags"].get(component, ()))


def protected_kubelet_fields() -> frozenset[str]:
    return frozenset(load_mapping("talos", "restrictions.yaml")["protected_kubelet_fields"])


def locked_kubelet_values() -> dict[str, Any]:
    return dict(load_mapping("talos", "restrictions.yaml")["locked_kubelet_values"])


def flag_names(value: Any) -> list[str]:
    """Flag names in a Kubespray args value: a {flag: value} map or a list of "--flag=value" strings."""
    if isinstance(value, Mapping):
        return [str(k).lstrip("-") for k in value]
    if isinstance(value, str):
        value = value.split()
    if isinstance(value, Iterable):
        return [str(v).lstrip("-").split("=", 1)[0] for v in value if str(v).strip()]
    return []
