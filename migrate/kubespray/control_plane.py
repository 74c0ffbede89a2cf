"""The API endpoint, certificate SANs and the control-plane components' configuration."""
# exercised by tests/kubespray/test_load.py and tests/acceptance/test_real_world.py

from __future__ import annotations

import ipaddress
from typing import Any

import yaml

from migrate import spec as s
from migrate.errors import UserError
from migrate.kubespray.flags import component_args, feature_gates
from migrate.kubespray.network import stack_ipv6
from migrate.kubespray.resolve import Resolution


def control_plane(r: Resolution, control_planes: list[s.NodeSpec], dns_domain: str, apiserver_ip: str) -> s.ControlPlane:
    port = int(r.value("kube_apiserver_port", 6443))
    endpoint = _endpoint(r, control_planes, port)
    apiserver_args = component_args(r.value("kube_kubeadm_apiserver_extra_args", {}))
    _add_tls_flags(r, apiserver_args)
    if stack_ipv6(r):  # the bind address only changes what the API server answers on with IPv6 (2.28+: "::")
        apiserver_args.setdefault("bind-address", str(r.value("kube_apiserver_bind_address", "::")))
    issuer = apiserver_args.get("service-account-issuer", f"https://kubernetes.default.svc.{dns_domain}")
    audiences = tuple(a for a in apiserver_args.get("api-audiences", "").split(",") if a) or (issuer,)
    admission = tuple(r.value("kube_apiserver_enable_admission_plugins", []) or [])
    pod_security = bool(r.value("kube_pod_security_use_default", False)) and "PodSecurity" in admission
    return s.ControlPlane(
        endpoint=endpoint,
        cert_sans=_cert_sans(r, control_planes, dns_domain, apiserver_ip, endpoint),
        apiserver_port=port,
        apiserver=s.Component(apiserver_args, feature_gates(r, "kube_apiserver_feature_gates")),
        controller_manager=s.Component(_add_tls_flags(r, _controller_manager_args(r)), feature_gates(r, "kube_controller_feature_gates")),
        scheduler=s.Component(_add_tls_flags(r, component_args(r.value("kube_kubeadm_scheduler_extra_args", {}))), feature_gates(r, "kube_scheduler_feature_gates")),
        service_account_issuer=issuer,
        api_audiences=audiences,
        authorization_modes=tuple(r.value("authorization_modes", ["Node", "RBAC"]) or ()),
        admission_plugins=admission,
        disabled_admission_plugins=tuple(r.value("kube_apiserver_disable_admission_plugins", []) or []),
        pod_security_defaults=pod_security,
        pod_security_levels=_pod_security_levels(r) if pod_security else {},
        admission_configs=_admission_configs(r, admission),
        node_port_range=str(r.value("kube_apiserver_node_port_range", "30000-32767")),
        anonymous_auth=bool(r.value("kube_api_anonymous_auth", True)),
        oidc=_oidc(r),
        audit=_audit(r),
        encryption=_encryption(r),
    )


def _add_tls_flags(r: Resolution, args: dict[str, str]) -> dict[str, str]:
    """tls_min_version and tls_cipher_suites, which Kubespray's kubeadm template gives all three components."""
    if r.value("tls_min_version", None, needed=False):
        args.setdefault("tls-min-version", str(r.value("tls_min_version")))
    suites = r.value("tls_cipher_suites", None, needed=False)
    if suites:
        args.setdefault("tls-cipher-suites", ",".join(str(x) for x in suites))
    return args


def _pod_security_levels(r: Resolution) -> dict[str, str]:
    """The levels Kubespray's podsecurity.yaml.j2 writes (kube_pod_security_default_{enforce,audit,warn})."""
    return {mode: str(r.value(f"kube_pod_security_default_{mode}")) for mode in ("audit", "enforce", "warn")
            if r.defined(f"kube_pod_security_default_{mode}")}


def _admission_configs(r: Resolution, admission: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """What Kubespray's admission-control config file holds besides PodSecurity: EventRateLimit's limits
    (eventratelimit.yaml.j2: one limit per entry of kube_apiserver_admission_event_rate_limits, cache_size → cacheSize)."""
    if not r.value("kube_apiserver_admission_control_config_file", False) or "EventRateLimit" not in admission:
        return {}
    limits = r.value("kube_apiserver_admission_event_rate_limits", {}, needed=False)
    if not isinstance(limits, dict) or not limits:
        return {}
    entries = []
    for name, limit in limits.items():
        if not isinstance(limit, dict) or not {"type", "qps", "burst"} <= set(limit):
            raise UserError(f"kube_apiserver_admission_event_rate_limits.{name} needs type, qps and burst",
                            where=r.where("kube_apiserver_admission_event_rate_limits"))
        entry = {"type": str(limit["type"]), "qps": int(limit["qps"]), "burst": int(limit["burst"])}
        if "cache_size" in limit:
            entry["cacheSize"] = int(limit["cache_size"])
        entries.append(entry)
    return {"EventRateLimit": {"apiVersion": "eventratelimit.admission.k8s.io/v1alpha1", "kind": "Configuration",
                               "limits": entries}}


def _controller_manager_args(r: Resolution) -> dict[str, str]:
    """kubeadm extraArgs, plus allocate-node-cidrs=false where Kubespray's kubeadm template writes it (Calico IPAM)."""
    args = component_args(r.value("kube_kubeadm_controller_extra_args", {}))
    calico_ipam = r.value("kube_network_plugin", "calico") == "calico" and not r.value("calico_ipam_host_local", False)
    if calico_ipam or r.value("kube_controller_manager_allocate_node_cidrs", True) is False:
        args.setdefault("allocate-node-cidrs", "false")
    return args


def _endpoint(r: Resolution, control_planes: list[s.NodeSpec], port: int) -> s.ControlPlaneEndpoint:
    lb = r.value("loadbalancer_apiserver")
    if isinstance(lb, dict) and lb.get("address"):
        host = r.value("apiserver_loadbalancer_domain_name") or lb["address"]
        if host == "localhost":  # 2.30+ spells the localhost-LB case this way; kubeadm still dials the LB address
            host = lb["address"]
        # preinstall's 0090-etchosts.yml writes "<lb address> <lb name>" into every node's /etc/hosts (default on):
        # the name may resolve nowhere else, so the Talos nodes need the same entry
        entry = str(host) != str(lb["address"]) and not _is_address(str(host)) and \
            r.value("populate_loadbalancer_apiserver_to_hosts_file", True, needed=False) not in (False, "false", "False")
        return s.ControlPlaneEndpoint(str(host), int(lb.get("port", port)), "loadbalancer",
                                      str(lb["address"]) if entry else None)
    first = control_planes[0]
    return s.ControlPlaneEndpoint(str(first.access_ip or first.ip or first.name), port, "first-control-plane")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _cert_sans(r: Resolution, cps: list[s.NodeSpec], dns_domain: str, apiserver_ip: str, ep: s.ControlPlaneEndpoint) -> tuple[str, ...]:
    """The apiserver certificate SANs Kubespray's kubeadm-setup.yml builds (host facts aside)."""
    sans: list[str] = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{dns_domain}",
                       apiserver_ip, str(r.value("kube_apiserver_ip", apiserver_ip, needed=False)), "localhost", "127.0.0.1"]
    lb = r.value("loadbalancer_apiserver")
    if isinstance(lb, dict) and lb.get("address"):
        sans += [ep.host, str(lb["address"])]
    sans += [str(x) for x in r.value("supplementary_addresses_in_ssl_keys", []) or []]
    for n in cps:
        sans += [a for a in (n.access_ip, n.ip, n.ip6, n.name) if a]
    if r.value("kube_vip_enabled", False) and r.value("kube_vip_address"):
        sans.append(str(r.value("kube_vip_address")))
    return tuple(dict.fromkeys(sans))


def _oidc(r: Resolution) -> s.OIDC | None:
    if not (r.value("kube_oidc_auth", False) and r.defined("kube_oidc_url") and r.defined("kube_oidc_client_id")):
        return None
    def opt(name: str) -> str | None:
        return str(r.value(name)) if r.defined(name) else None

    return s.OIDC(
        issuer_url=str(r.value("kube_oidc_url")), client_id=str(r.value("kube_oidc_client_id")),
        username_claim=opt("kube_oidc_username_claim"), username_prefix=opt("kube_oidc_username_prefix"),
        groups_claim=opt("kube_oidc_groups_claim"), groups_prefix=opt("kube_oidc_groups_prefix"),
        ca_file=opt("kube_oidc_ca_file"),
    )


def _audit(r: Resolution) -> s.Audit | None:
    if not r.value("kubernetes_audit", False):
        return None
    return s.Audit(
        log_path=str(r.value("audit_log_path", s.Audit.log_path)),
        max_age=int(r.value("audit_log_maxage", 30)), max_backups=int(r.value("audit_log_maxbackups", 10)),
        max_size=int(r.value("audit_log_maxsize", 100)),
        policy_file=str(r.value("audit_policy_file", s.Audit.policy_file)),
        policy_rules=_audit_rules(r),
    )


def _audit_rules(r: Resolution) -> tuple[dict[str, Any], ...]:
    """audit_policy_custom_rules: YAML text Kubespray indents under the policy's `rules:` (replacing its own)."""
    raw = r.value("audit_policy_custom_rules", None, needed=False)
    if raw in (None, ""):
        return ()
    try:
        rules = yaml.safe_load(raw) if isinstance(raw, str) else raw
    except yaml.YAMLError as exc:
        raise UserError(f"audit_policy_custom_rules is not YAML: {exc}", where=r.where("audit_policy_custom_rules"),
                        hint="write the rules as a YAML list, as they would appear under the Policy's `rules:`") from None
    if not isinstance(rules, list) or not all(isinstance(x, dict) and "level" in x for x in rules):
        raise UserError("audit_policy_custom_rules must be a list of audit rules, each with a `level`",
                        where=r.where("audit_policy_custom_rules"))
    return tuple(rules)


def _encryption(r: Resolution) -> s.SecretsEncryption | None:
    if not r.value("kube_encrypt_secret_data", False):
        return None
    return s.SecretsEncryption(
        provider=str(r.value("kube_encryption_algorithm", "secretbox")),
        key_name="key",  # Kubespray's secrets_encryption.yaml template names its only key "key"
        resources=tuple(r.value("kube_encryption_resources", ["secrets"]) or ["secrets"]),
    )
