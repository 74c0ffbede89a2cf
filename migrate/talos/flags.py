"""Component flags for Talos: string values, Talos's deny lists applied, every drop reported as a Finding."""
# exercised by tests/talos/test_render.py

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrate.component_flags import flag_value
from migrate.mapping.finding import DROPPED, KEPT, Finding, finding
from migrate.mapping.restrictions import denied_flags, locked_kubelet_values, protected_kubelet_fields

# where each component's flags land, for the report
TALOS_ARGS_PATH = {
    "kube-apiserver": "cluster.apiServer.extraArgs",
    "kube-controller-manager": "cluster.controllerManager.extraArgs",
    "kube-scheduler": "cluster.scheduler.extraArgs",
    "kube-proxy": "cluster.proxy.extraArgs",
    "kubelet": "machine.kubelet.extraArgs",
    "etcd": "cluster.etcd.extraArgs",
}


def feature_gates(gates: Mapping[str, bool]) -> str:
    return ",".join(f"{name}={flag_value(on)}" for name, on in sorted(gates.items()))


def allowed_flags(component: str, args: Mapping[str, Any]) -> tuple[dict[str, str], list[Finding]]:
    """The flags Talos accepts (sorted, stringified) and a `dropped` finding for each denied one."""
    denied = denied_flags(component)
    kept: dict[str, str] = {}
    findings: list[Finding] = []
    for name in sorted(args):
        flag = name.lstrip("-")
        if flag in denied:
            findings.append(finding(
                f"{component} --{flag}", DROPPED,
                f"Talos manages --{flag} itself and refuses configs that set it (deny list); the flag is left out.",
                talos_path=f"{TALOS_ARGS_PATH[component]}.{flag}", area=component,
            ))
            continue
        kept[flag] = flag_value(args[name])
    return kept, findings


def allowed_kubelet_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    """KubeletConfiguration fields minus the ones Talos protects, each drop reported."""
    protected = protected_kubelet_fields()
    kept = {k: config[k] for k in sorted(config) if k not in protected}
    locked = locked_kubelet_values()
    findings = [_protected_field(k, config[k], locked) for k in sorted(config) if k in protected]
    return kept, findings


def _protected_field(name: str, value: Any, locked: Mapping[str, Any]) -> Finding:
    path = f"machine.kubelet.extraConfig.{name}"
    if name in locked and locked[name] == value:
        return finding(f"kubelet {name}", KEPT, f"Talos locks {name} to the cluster's value ({flag_value(value)}).",
                       talos_path=path, area="kubelet")
    return finding(f"kubelet {name}", DROPPED,
                   f"Talos locks KubeletConfiguration.{name} (protected field); the cluster's value is not written.",
                   talos_path=path, area="kubelet")
