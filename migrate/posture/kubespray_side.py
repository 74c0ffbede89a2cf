"""The Kubespray side of the posture table: each control's value as the cluster runs it today, read from what
`inspect` computes — the ClusterSpec and the effective variables — never from a copy of Kubespray's defaults.

A component flag the inventory passes through kube_kubeadm_*_extra_args wins over the variable Kubespray's
kubeadm template writes, as kubeadm itself applies them. What kubeadm or Kubespray's templates hard-set (no
variable exists) is named here once, with where it is written."""
# exercised by tests/posture/test_sides.py

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrate.mapping.engine import SettingLike
from migrate.posture.controls import PostureTable
from migrate.posture.evaluate import AUDIT_POLICY_FILE
from migrate.posture.strength import GO_DEFAULT, as_list, most_detailed_level
from migrate.spec import Audit, ClusterSpec, Component

# kubeadm's controller-manager manifest always passes it; Kubespray's etcd.env always sets both cert checks
KUBEADM_FIXED = {"kube-controller-manager.use-service-account-credentials": "true"}
ETCD_FIXED = {"etcd.client-cert-auth": "true", "etcd.peer-client-cert-auth": "true"}
# Kubespray's built-in audit policy (apiserver-audit-policy.yaml.j2 without custom rules) logs known API groups at
# RequestResponse: the most detailed level it records
KUBESPRAY_BUILTIN_AUDIT_LEVEL = "RequestResponse"


Settings = Mapping[str, SettingLike]  # what inspect reports for each variable (migrate.kubespray.resolve.Setting)


def kubespray_values(spec: ClusterSpec, settings: Settings, table: PostureTable) -> dict[str, Any]:
    """key → the value the running cluster has (None: unset, the component's default applies)."""
    cp = spec.control_plane
    audit = cp.audit if cp.audit is not None and not _logs_nothing(cp.audit.policy_rules) else None

    def var(name: str) -> Any:
        setting = settings.get(name)
        return None if setting is None or setting.origin == "undefined" else setting.value

    values: dict[str, Any] = {
        "kube-apiserver.anonymous-auth": cp.anonymous_auth,
        "kube-apiserver.authorization-mode": list(cp.authorization_modes),
        "kube-apiserver.enable-admission-plugins": list(cp.admission_plugins),
        "kube-apiserver.profiling": _flag(cp.apiserver, "profiling", var("kube_profiling")),
        "kube-apiserver.service-account-lookup": _flag(cp.apiserver, "service-account-lookup",
                                                       var("kube_apiserver_service_account_lookup")),
        "kube-apiserver.encryption-provider": cp.encryption.provider if cp.encryption else "identity",
        "kube-apiserver.tls-cipher-suites": _suites(_flag(cp.apiserver, "tls-cipher-suites",
                                                          var("tls_cipher_suites"))),
        "kube-apiserver.tls-min-version": _flag(cp.apiserver, "tls-min-version", var("tls_min_version") or None),
        "kube-apiserver.audit-log-path": audit.log_path if audit else None,
        "kube-apiserver.audit-log-maxage": audit.max_age if audit else None,
        "kube-apiserver.audit-log-maxbackup": audit.max_backups if audit else None,
        "kube-apiserver.audit-log-maxsize": audit.max_size if audit else None,
        "kube-apiserver.audit-policy-level": _audit_level(audit),
        AUDIT_POLICY_FILE: audit.policy_file if audit else None,
        "kube-controller-manager.profiling": _flag(cp.controller_manager, "profiling", var("kube_profiling")),
        "kube-controller-manager.use-service-account-credentials": _flag(
            cp.controller_manager, "use-service-account-credentials",
            KUBEADM_FIXED["kube-controller-manager.use-service-account-credentials"]),
        "kube-controller-manager.bind-address": _flag(cp.controller_manager, "bind-address",
                                                      var("kube_controller_manager_bind_address")),
        "kube-scheduler.profiling": _flag(cp.scheduler, "profiling", var("kube_profiling")),
        "kube-scheduler.bind-address": _flag(cp.scheduler, "bind-address", var("kube_scheduler_bind_address")),
        "pod-security.enforce": _pod_security(spec, var("kube_pod_security_default_enforce")),
    }
    for key in ("etcd.client-cert-auth", "etcd.peer-client-cert-auth", "etcd.auto-tls", "etcd.peer-auto-tls"):
        values[key] = spec.etcd.extra_args.get(key.split(".", 1)[1], ETCD_FIXED.get(key))
    kubelet = spec.kubelet.config
    for key in table.keys:
        if key.startswith("kubelet."):
            values[key] = kubelet.get(key.split(".", 1)[1])
    values["kubelet.tlsCipherSuites"] = _suites(values["kubelet.tlsCipherSuites"])
    return table.complete(values)


def _flag(component: Component, flag: str, variable: Any) -> Any:
    return component.extra_args.get(flag, variable)


def _suites(value: Any) -> Any:
    suites = as_list(value)
    return ",".join(suites) if suites else GO_DEFAULT if value is not None else None


def _logs_nothing(rules: tuple[dict[str, Any], ...]) -> bool:
    """Rules that are all `level: None` log no event: an audit log that stays empty is no audit log."""
    return bool(rules) and all(str(r.get("level")) == "None" for r in rules)


def _audit_level(audit: Audit | None) -> str:
    """The most detailed level the cluster's policy logs: its own rules, else Kubespray's built-in rule set."""
    if audit is None:
        return "None"
    return most_detailed_level(list(audit.policy_rules)) if audit.policy_rules else KUBESPRAY_BUILTIN_AUDIT_LEVEL


def _pod_security(spec: ClusterSpec, enforce: Any) -> str:
    """Kubespray writes a cluster-wide PodSecurity configuration only with kube_pod_security_use_default."""
    if not spec.control_plane.pod_security_defaults:
        return "privileged"
    return str(spec.control_plane.pod_security_levels.get("enforce") or enforce or "privileged")


# where a component flag set through kubeadm's extraArgs comes from (it wins over the variable)
EXTRA_ARGS_VARIABLES = {"kube-apiserver": "kube_kubeadm_apiserver_extra_args",
                        "kube-controller-manager": "kube_kubeadm_controller_extra_args",
                        "kube-scheduler": "kube_kubeadm_scheduler_extra_args", "etcd": "etcd_extra_vars",
                        "kubelet": "kubelet_config_extra_args"}


def kubespray_origins(spec: ClusterSpec, settings: Settings, table: PostureTable) -> dict[str, str]:
    """key → where `inspect` found the value: the file and line, or the Kubespray release's default."""
    origins: dict[str, str] = {}
    for control in table.controls:
        if control.not_on_talos:
            continue
        component, _, name = control.key.partition(".")
        extra = settings.get(EXTRA_ARGS_VARIABLES.get(component, ""))
        overridden = extra is not None and isinstance(extra.value, dict) and (
            name in extra.value or name.replace("-", "_") in extra.value)
        names = [EXTRA_ARGS_VARIABLES[component]] if overridden else \
            [n for n in control.kubespray.replace(",", " ").split() if n in settings]
        found = [settings[n].origin for n in names if settings[n].origin != "undefined"]
        fixed = "set by kubeadm or Kubespray's templates (no variable)" if control.key in {**KUBEADM_FIXED, **ETCD_FIXED} \
            else "not set: the component's default"
        origins.setdefault(control.key, found[0] if found else fixed)
    return origins
