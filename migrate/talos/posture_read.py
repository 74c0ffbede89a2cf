"""The Talos side of the security posture: each control's value as Talos will run the plan, read back from the
generated documents (talos/read's MachineConfig and ClusterSpec) with Talos's own hard-set flags (talos/defaults)
filled in where the documents are silent. Also writes a posture patch in the plan's Talos form (v1alpha1 or 1.14)."""
# exercised by tests/posture/test_sides.py

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrate.component_flags import flag_value, split_list
from migrate.posture.controls import PostureTable, posture_table
from migrate.posture.evaluate import Posture, TalosValues, evaluate
from migrate.posture.kubespray_side import Settings, kubespray_origins, kubespray_values
from migrate.posture.strength import most_detailed_level
from migrate.spec import ClusterSpec
from migrate.talos import multidoc
from migrate.talos.defaults import KUBELET_DEFAULTS, TALOS_ADDITIVE_FLAGS, TALOS_COMPONENT_FLAGS, TALOS_GENERATED
from migrate.talos.plan_dir import PlanRead
from migrate.talos.read import MachineConfig, read_config

SECTIONS = {"kube-apiserver": "apiServer", "kube-controller-manager": "controllerManager",
            "kube-scheduler": "scheduler", "etcd": "etcd"}
KUBELET_TOP_LEVEL = {"seccompDefault": "defaultRuntimeSeccompProfileEnabled"}  # fields outside extraConfig


def talos_values(config: MachineConfig, spec: ClusterSpec, table: PostureTable) -> TalosValues:
    """`config`: a control plane's documents as Talos reads them; `spec`: the plan read back (talos/read)."""
    cp = spec.control_plane
    values: dict[str, Any] = {}
    explicit: set[str] = set()
    for component, section in SECTIONS.items():
        own = {k: flag_value(v) for k, v in (config.get("cluster", section, "extraArgs", default={}) or {}).items()}
        for flag, value in effective_flags(component, own).items():
            values[f"{component}.{flag}"] = value
        explicit |= {f"{component}.{flag}" for flag in own if component != "etcd"}
    api = config.get("cluster", "apiServer", default={})
    values |= {
        "kube-apiserver.anonymous-auth": cp.anonymous_auth,
        "kube-apiserver.authorization-mode": list(cp.authorization_modes),
        # EventRateLimit without its configuration stops the API server: it counts only where the plan configures it
        "kube-apiserver.enable-admission-plugins": [p for p in cp.admission_plugins
                                                    if p != "EventRateLimit" or p in cp.admission_configs],
        "kube-apiserver.encryption-provider": cp.encryption.provider if cp.encryption else "identity",
        "kube-apiserver.audit-log-path": cp.audit.log_path if cp.audit else None,
        "kube-apiserver.audit-log-maxage": cp.audit.max_age if cp.audit else None,
        "kube-apiserver.audit-log-maxbackup": cp.audit.max_backups if cp.audit else None,
        "kube-apiserver.audit-log-maxsize": cp.audit.max_size if cp.audit else None,
        "kube-apiserver.audit-policy-level": most_detailed_level(list((api.get("auditPolicy") or {}).get("rules") or [])),
        "pod-security.enforce": cp.pod_security_levels.get("enforce", "privileged") if cp.pod_security_defaults
        else "privileged",
    }
    if cp.encryption is not None:
        explicit.add("kube-apiserver.encryption-provider")
    if cp.audit is not None and cp.audit.policy_rules:
        explicit.add("kube-apiserver.audit-policy-level")
    if api.get("admissionControl"):
        explicit.add("pod-security.enforce")
    kubelet_doc = config.get("machine", "kubelet", default={})
    for key in table.keys:
        if key.startswith("kubelet."):
            name = key.split(".", 1)[1]
            values[key] = spec.kubelet.config.get(name)
            if name in (kubelet_doc.get("extraConfig") or {}) or KUBELET_TOP_LEVEL.get(name, "") in kubelet_doc:
                explicit.add(key)
    suites = values.get("kubelet.tlsCipherSuites")
    values["kubelet.tlsCipherSuites"] = ",".join(str(s) for s in suites) if isinstance(suites, list) else suites
    return TalosValues(table.complete(values), frozenset(explicit), _builtin(explicit, table))


def _builtin(keys: set[str], table: PostureTable) -> dict[str, Any]:
    """What Talos runs for each key the plan sets when the plan does not set it: its hard-set flag, its kubelet
    default, what gen config writes, or the component's own default."""
    defaults = {c.key: c.default for c in table.controls}
    builtin: dict[str, Any] = {}
    for key in keys:
        component, _, name = key.partition(".")
        if key in TALOS_GENERATED:
            builtin[key] = TALOS_GENERATED[key]
        elif name in TALOS_COMPONENT_FLAGS.get(component, {}):
            builtin[key] = TALOS_COMPONENT_FLAGS[component][name]
        elif component == "kubelet" and name in KUBELET_DEFAULTS:
            builtin[key] = KUBELET_DEFAULTS[name]
        else:
            builtin[key] = defaults.get(key)
    return builtin


def effective_flags(component: str, own: dict[str, str]) -> dict[str, str]:
    """Talos's flags with the documents' extraArgs merged the way Talos merges them."""
    talos = TALOS_COMPONENT_FLAGS[component]
    if component == "etcd":
        return {**own, **talos}  # Talos denies these keys in cluster.etcd.extraArgs
    merged = {**talos, **own}
    for flag in TALOS_ADDITIVE_FLAGS & set(talos) & set(own):
        merged[flag] = ",".join(dict.fromkeys([*split_list(talos[flag]), *split_list(own[flag])]))
    return merged


def patch_text(patch: dict[str, Any], kubernetes_documents: bool) -> str:
    """A v1alpha1 patch as YAML in the form the plan uses (1.14's Kube*Config documents when it writes those)."""
    from migrate.talos.render import to_yaml

    documents = multidoc.split([patch], patch=True) if kubernetes_documents else [patch]
    return to_yaml(documents).strip()


def plan_posture(spec: ClusterSpec, settings: Settings, controlplane: list[dict[str, Any]],
                 kubernetes_documents: bool) -> Posture:
    """The posture of a plan being written: the inventory's values beside its control-plane documents read back."""
    table = posture_table()
    config = MachineConfig(tuple(controlplane))
    after = read_config(config, [], carried=spec)
    return evaluate(kubespray_values(spec, settings, table), talos_values(config, after, table),
                    lambda patch: patch_text(patch, kubernetes_documents), table, kubespray_origins(spec, settings, table))


def plan_dir_posture(before: ClusterSpec, settings: Settings, plan: PlanRead, plan_dir: Path) -> Posture:
    """The posture of a written plan: a control plane's merged documents (its node patch applied) read back."""
    table = posture_table()
    configs = [c for c in plan.node_configs.values() if c.machine_type == "controlplane"]
    config = configs[0] if configs else MachineConfig(tuple(_documents(Path(plan_dir) / "controlplane.yaml")))
    multi = multidoc.is_multidoc(_documents(Path(plan_dir) / "controlplane.yaml"))
    return evaluate(kubespray_values(before, settings, table), talos_values(config, plan.spec, table),
                    lambda patch: patch_text(patch, multi), table, kubespray_origins(before, settings, table))


def _documents(path: Path) -> list[dict[str, Any]]:
    from migrate.bounds import read_bounded
    from migrate.talos.merge import load_documents

    return load_documents(read_bounded(path), where=str(path))
