"""The Kubernetes components' Talos sections (API server, controller-manager, scheduler, proxy, etcd, kubelet).

Each builder returns the section and the findings rendering it produced (denied flags, protected fields,
the service-account issuer decision): nothing the cluster sets is dropped without a Finding.
"""
# exercised by tests/talos/test_render.py

from __future__ import annotations

from typing import Any

from migrate.component_flags import flag_value
from migrate.mapping.finding import CHANGED, DROPPED, KEPT, MANUAL, Finding, finding, some_names
from migrate.spec import Audit, ClusterSpec
from migrate.talos.defaults import TALOS_AUDIT
from migrate.talos.flags import allowed_flags, allowed_kubelet_config, feature_gates
from migrate.talos.versions import TalosVersion, images

DEFAULT_NODE_PORT_RANGE = "30000-32767"
TALOS_AUTHORIZATION = ("Node", "RBAC")
# flags Kubespray sets per host; Talos sets them per machine (nodeIP.validSubnets, HostnameConfig)
PER_NODE_KUBELET_FLAGS = ("node-ip", "hostname-override")
IPVS_MODULES = ("ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh")
# kube_pod_security_default_{enforce,audit,warn} as Kubespray defaults them, for a mode the spec has no level for
KUBESPRAY_POD_SECURITY = {"audit": "restricted", "enforce": "baseline", "warn": "restricted"}


def image(component: str, spec: ClusterSpec) -> str:
    repo = spec.runtime.image_repositories.get("kube_image_repo") or images()["kubernetes"]
    return f"{repo}/{component}:v{spec.kubernetes_version}"


def apiserver(spec: ClusterSpec, talos: TalosVersion) -> tuple[dict[str, Any], list[Finding]]:
    cp = spec.control_plane
    args: dict[str, Any] = dict(cp.apiserver.extra_args)
    if cp.apiserver.feature_gates:
        args["feature-gates"] = feature_gates(cp.apiserver.feature_gates)
    if cp.anonymous_auth:
        args["anonymous-auth"] = "true"  # Talos hard-sets false; LB health probes rely on it
    extra_modes = [m for m in cp.authorization_modes if m not in TALOS_AUTHORIZATION]
    if extra_modes:
        args["authorization-mode"] = ",".join(extra_modes)  # Talos merges it with Node,RBAC
    if cp.admission_plugins:
        args["enable-admission-plugins"] = ",".join(cp.admission_plugins)
    if cp.disabled_admission_plugins:
        args["disable-admission-plugins"] = ",".join(cp.disabled_admission_plugins)
    if cp.node_port_range != DEFAULT_NODE_PORT_RANGE:
        args["service-node-port-range"] = cp.node_port_range
    if cp.oidc is not None:
        args.update(_oidc_flags(cp.oidc))
    if cp.audit is not None:
        args.update(_audit_retention(cp.audit))
    if has_ipv6(spec):
        args.setdefault("bind-address", "::")  # Talos hard-sets 0.0.0.0: IPv4 only
    kept, findings = allowed_flags("kube-apiserver", args)
    issuer_args, issuer_finding = service_account_issuer(spec, talos)
    kept.update(issuer_args)
    findings.append(issuer_finding)
    section: dict[str, Any] = {"image": image("kube-apiserver", spec)}
    if cp.cert_sans:
        section["certSANs"] = list(dict.fromkeys([spec.control_plane.endpoint.host, *cp.cert_sans]))
    section["extraArgs"] = dict(sorted(kept.items()))
    section["admissionControl"] = [pod_security(spec), *({"name": name, "configuration": config}
                                                         for name, config in sorted(cp.admission_configs.items()))]
    section["auditPolicy"] = audit_policy(spec)
    return section, findings


def service_account_issuer(spec: ClusterSpec, talos: TalosVersion) -> tuple[dict[str, Any], Finding]:
    """Keep the cluster's issuer primary (existing tokens stay valid); accept Talos's endpoint issuer where lists work.

    The verdict is `changed` when the endpoint is a new accepted audience: the API server then accepts more tokens."""
    cp = spec.control_plane
    endpoint = cp.endpoint.url
    issuer = cp.service_account_issuer
    today = list(cp.api_audiences or (issuer,))
    audiences = list(dict.fromkeys([*today, endpoint]))
    args: dict[str, Any] = {"api-audiences": ",".join(audiences)}
    path = "cluster.apiServer.extraArgs.service-account-issuer"
    if issuer == endpoint:
        args["service-account-issuer"] = issuer
        reason = f"The cluster's issuer is the endpoint {endpoint}."
    elif talos.extra_args_lists:
        args["service-account-issuer"] = [issuer, endpoint]
        reason = (f"Tokens keep being issued by {issuer}; Talos's endpoint issuer {endpoint} is accepted as well, and "
                  f"api-audiences lists both.")
    else:
        args["service-account-issuer"] = issuer
        reason = (f"Talos {talos.minor} takes one issuer: {issuer} is kept so existing tokens stay valid; Talos's "
                  f"endpoint {endpoint} is only added to api-audiences.")
    if endpoint in today:
        return args, finding("service-account issuer", KEPT, reason, talos_path=path, area="api-server")
    reason += f" Accepted token audiences gain {endpoint} (tokens Talos issues name it); none is dropped."
    return args, finding("service-account issuer", CHANGED, reason, talos_path=path, area="api-server")


def pod_security(spec: ClusterSpec) -> dict[str, Any]:
    """The cluster's PodSecurity defaults: the levels it set (Kubespray's baseline / restricted / restricted unless
    the inventory chose others) when it set them, privileged (today's behaviour) when it set none, never Talos's own."""
    cp = spec.control_plane
    levels = ({**KUBESPRAY_POD_SECURITY, **cp.pod_security_levels} if cp.pod_security_defaults
              else dict.fromkeys(KUBESPRAY_POD_SECURITY, "privileged"))
    defaults = {f"{mode}{suffix}": value for mode, level in sorted(levels.items())
                for suffix, value in (("", level), ("-version", "latest"))}
    return {
        "name": "PodSecurity",
        "configuration": {
            "apiVersion": "pod-security.admission.config.k8s.io/v1alpha1",
            "kind": "PodSecurityConfiguration",
            "defaults": defaults,
            "exemptions": {"namespaces": ["kube-system"], "runtimeClasses": [], "usernames": []},
        },
    }


def audit_policy(spec: ClusterSpec) -> dict[str, Any]:
    """Talos always audits: the cluster's own rules when it wrote some (kept whole), Metadata when it audited with
    its built-in policy, nothing (level None) when it did not audit."""
    audit = spec.control_plane.audit
    if audit is not None and audit.policy_rules:
        return {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [dict(r) for r in audit.policy_rules]}
    level = "Metadata" if audit is not None else "None"
    return {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": level}]}


def controller_manager(spec: ClusterSpec) -> tuple[dict[str, Any], list[Finding]]:
    comp = spec.control_plane.controller_manager
    args: dict[str, Any] = dict(comp.extra_args)
    if comp.feature_gates:
        args["feature-gates"] = feature_gates(comp.feature_gates)
    if spec.network.node_cidr_mask_size != 24:
        args.setdefault("node-cidr-mask-size-ipv4", spec.network.node_cidr_mask_size)
    if spec.network.node_cidr_mask_size_ipv6 is not None:
        args.setdefault("node-cidr-mask-size-ipv6", spec.network.node_cidr_mask_size_ipv6)
    kept, findings = allowed_flags("kube-controller-manager", args)
    return _component_section("kube-controller-manager", spec, kept), findings


def scheduler(spec: ClusterSpec) -> tuple[dict[str, Any], list[Finding]]:
    comp = spec.control_plane.scheduler
    args: dict[str, Any] = dict(comp.extra_args)
    if comp.feature_gates:
        args["feature-gates"] = feature_gates(comp.feature_gates)
    kept, findings = allowed_flags("kube-scheduler", args)
    return _component_section("kube-scheduler", spec, kept), findings


def proxy(spec: ClusterSpec) -> tuple[dict[str, Any], list[Finding]]:
    net = spec.network
    if not net.kube_proxy_enabled:
        return {"disabled": True}, []
    args: dict[str, Any] = dict(net.kube_proxy_extra)
    if net.kube_proxy_strict_arp:
        args["ipvs-strict-arp"] = True
    kept, findings = allowed_flags("kube-proxy", args)
    section: dict[str, Any] = {"image": image("kube-proxy", spec), "mode": net.kube_proxy_mode}
    if kept:
        section["extraArgs"] = kept
    return section, findings


def has_ipv6(spec: ClusterSpec) -> bool:
    return any(":" in cidr for cidr in spec.network.service_subnets + spec.network.pod_subnets)


def sysctls(spec: ClusterSpec) -> dict[str, str]:
    """The cluster's sysctls as strings; IPv6 forwarding as Kubespray sets it (Talos only sets the default one)."""
    values: dict[str, Any] = {"net.ipv6.conf.all.forwarding": "1"} if has_ipv6(spec) else {}
    values.update(spec.host.sysctls)
    return {k: flag_value(v) for k, v in sorted(values.items())}


def kernel_modules(spec: ClusterSpec) -> list[dict[str, str]]:
    """ipvs needs its modules before kube-proxy starts (pods cannot modprobe on Talos)."""
    wanted = list(spec.host.kernel_modules)
    if spec.network.kube_proxy_enabled and spec.network.kube_proxy_mode == "ipvs":
        wanted += IPVS_MODULES
    return [{"name": m} for m in dict.fromkeys(wanted)]


def etcd(spec: ClusterSpec, ca: dict[str, str]) -> tuple[dict[str, Any], list[Finding]]:
    kept, findings = allowed_flags("etcd", spec.etcd.extra_args)
    # no image: Talos's own default (talos.etcd) is right by construction; pinning another one is the etcd_version
    # finding's manual step, because the repository Talos pulls etcd from differs between releases
    section: dict[str, Any] = {"ca": ca}
    if kept:
        section["extraArgs"] = kept
    return section, findings


def kubelet(spec: ClusterSpec, talos: TalosVersion) -> tuple[dict[str, Any], list[Finding]]:
    config = dict(spec.kubelet.config)
    seccomp = bool(config.pop("seccompDefault", False))
    config.pop("clusterDNS", None)  # machine.kubelet.clusterDNS carries it
    if spec.kubelet.feature_gates:
        config["featureGates"] = dict(sorted(spec.kubelet.feature_gates.items()))
    extra_config, findings = allowed_kubelet_config(config)
    args = {k: v for k, v in spec.kubelet.extra_args.items() if k.lstrip("-") not in PER_NODE_KUBELET_FLAGS}
    findings += [
        finding(f"kubelet --{k.lstrip('-')}", CHANGED,
                "Set per machine by Talos (nodeIP.validSubnets, HostnameConfig) instead of a cluster-wide flag.",
                talos_path="nodes/<host>.yaml", area="kubelet")
        for k in sorted(spec.kubelet.extra_args) if k.lstrip("-") in PER_NODE_KUBELET_FLAGS
    ]
    extra_args, denied = allowed_flags("kubelet", args)
    findings += denied
    section: dict[str, Any] = {
        "image": f"{images()['kubelet']}:v{spec.kubernetes_version}",
        "clusterDNS": list(spec.network.cluster_dns),
        "defaultRuntimeSeccompProfileEnabled": seccomp,
        "disableManifestsDirectory": True,
    }
    if extra_args:
        section["extraArgs"] = extra_args
    if extra_config:
        section["extraConfig"] = extra_config
    return section, findings


def node_kubelets(spec: ClusterSpec) -> tuple[dict[str, dict[str, Any]], list[Finding]]:
    """Each node's own kubelet settings (NodeSpec.kubelet_config) as its patch's `machine.kubelet` part.

    Protected fields are left out and lists that cannot be patched (Talos appends lists) are left to an operator,
    each reported once per field with the nodes concerned."""
    cluster = {**spec.kubelet.config, "featureGates": dict(spec.kubelet.feature_gates)}
    sections: dict[str, dict[str, Any]] = {}
    dropped: dict[str, list[str]] = {}
    unpatchable: dict[str, list[str]] = {}
    for node in spec.nodes:
        config = dict(node.kubelet_config)
        section: dict[str, Any] = {}
        if "seccompDefault" in config:
            section["defaultRuntimeSeccompProfileEnabled"] = bool(config.pop("seccompDefault"))
        if "clusterDNS" in config:
            section["clusterDNS"] = list(config.pop("clusterDNS"))
        kept, _ = allowed_kubelet_config(config)
        for name in sorted(set(config) - set(kept)):
            dropped.setdefault(name, []).append(node.name)
        extra: dict[str, Any] = {}
        for name, value in kept.items():
            patch = _patch_value(cluster.get(name), value)
            if patch is _UNPATCHABLE:
                unpatchable.setdefault(name, []).append(node.name)
            else:
                extra[name] = patch
        if extra:
            section["extraConfig"] = extra
        if section:
            sections[node.name] = section
    findings = [_per_node_finding(name, hosts, DROPPED, "Talos locks this KubeletConfiguration field (protected); the node's own value is "
                                  "not written.") for name, hosts in sorted(dropped.items())]
    findings += [_per_node_finding(name, hosts, MANUAL,
                                   "The node's list differs from the cluster's in a way a patch cannot express (Talos "
                                   "appends lists): set it in that node's machine config by hand.")
                 for name, hosts in sorted(unpatchable.items())]
    return sections, findings


_UNPATCHABLE = object()


def _patch_value(cluster_value: Any, node_value: Any) -> Any:
    """What a node patch must say so that merging it into the cluster's value gives the node's value."""
    if isinstance(cluster_value, dict) and isinstance(node_value, dict):
        gone = {k: {"$patch": "delete"} for k in cluster_value if k not in node_value}
        return {**node_value, **gone}
    if isinstance(cluster_value, list) and isinstance(node_value, list):
        prefix = len(cluster_value)
        return node_value[prefix:] if node_value[:prefix] == cluster_value else _UNPATCHABLE
    return node_value


def _per_node_finding(name: str, hosts: list[str], verdict: str, reason: str) -> Finding:
    return finding(f"kubelet {name}", verdict, f"{reason} Nodes: {some_names(hosts)}.",
                   talos_path=f"nodes/<host>.yaml machine.kubelet.extraConfig.{name}", area="kubelet")


def _component_section(name: str, spec: ClusterSpec, args: dict[str, str]) -> dict[str, Any]:
    section: dict[str, Any] = {"image": image(name, spec)}
    if args:
        section["extraArgs"] = args
    return section


def _audit_retention(audit: Audit) -> dict[str, str]:
    """The cluster's audit log retention where it differs from Talos's (30 days, 10 files, 100 MB): kept as it was."""
    wanted = {"audit-log-maxage": (audit.max_age, TALOS_AUDIT.max_age),
              "audit-log-maxbackup": (audit.max_backups, TALOS_AUDIT.max_backups),
              "audit-log-maxsize": (audit.max_size, TALOS_AUDIT.max_size)}
    return {flag: str(value) for flag, (value, talos) in wanted.items() if value != talos}


def _oidc_flags(oidc: Any) -> dict[str, str]:
    flags = {"oidc-issuer-url": oidc.issuer_url, "oidc-client-id": oidc.client_id,
             "oidc-username-claim": oidc.username_claim, "oidc-username-prefix": oidc.username_prefix,
             "oidc-groups-claim": oidc.groups_claim, "oidc-groups-prefix": oidc.groups_prefix,
             "oidc-ca-file": oidc.ca_file}
    return {k: flag_value(v) for k, v in flags.items() if v is not None}
