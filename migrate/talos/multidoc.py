"""Talos 1.14's form: Kubernetes settings in Kube*Config documents instead of the v1alpha1 document.

Talos 1.14 hides from its schema almost every v1alpha1 field (cluster.apiServer, machine.kubelet, …) and
names a document for each. The planner keeps one model of a config (the v1alpha1 form every Talos reads);
`split` moves it into 1.14's documents when writing, `fold` moves 1.14 documents back when reading, so the
read-back and the diff see one shape whatever version wrote a plan. The moves are the table below, one row
a field; the few that change shape (CAs as PEM, CNI, encryption, install disk) are named functions.
"""
# exercised by tests/talos/test_multidoc.py
# long: one table of moves and both its directions (split to write, fold to read); apart, the two would drift

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable
from typing import Any

import yaml

from migrate.talos.encryption import CARRIED_ENCRYPTION_CONFIG, TALOS_ENCRYPTION_CONFIG

Doc = dict[str, Any]

# (v1alpha1 path, document kind, field in that document): a plain move, value unchanged
MOVES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("cluster", "clusterName"), "KubeClusterConfig", "clusterName"),
    (("cluster", "controlPlane", "endpoint"), "KubeClusterConfig", "endpoint"),
    (("cluster", "controlPlane", "localAPIServerPort"), "KubeAPIServerConfig", "apiPort"),
    (("cluster", "network", "dnsDomain"), "KubeNetworkConfig", "dnsDomain"),
    (("cluster", "network", "podSubnets"), "KubeNetworkConfig", "podSubnets"),
    (("cluster", "network", "serviceSubnets"), "KubeNetworkConfig", "serviceSubnets"),
    (("cluster", "apiServer", "image"), "KubeAPIServerConfig", "image"),
    (("cluster", "apiServer", "extraArgs"), "KubeAPIServerConfig", "extraArgs"),
    (("cluster", "apiServer", "certSANs"), "KubeAPIServerConfig", "certExtraSANs"),
    (("cluster", "apiServer", "env"), "KubeAPIServerConfig", "env"),
    (("cluster", "apiServer", "resources"), "KubeAPIServerConfig", "resources"),
    (("cluster", "apiServer", "auditPolicy"), "KubeAuditPolicyConfig", "configuration"),
    (("cluster", "controllerManager", "image"), "KubeControllerManagerConfig", "image"),
    (("cluster", "controllerManager", "extraArgs"), "KubeControllerManagerConfig", "extraArgs"),
    (("cluster", "controllerManager", "env"), "KubeControllerManagerConfig", "env"),
    (("cluster", "controllerManager", "resources"), "KubeControllerManagerConfig", "resources"),
    (("cluster", "scheduler", "image"), "KubeSchedulerConfig", "image"),
    (("cluster", "scheduler", "extraArgs"), "KubeSchedulerConfig", "extraArgs"),
    (("cluster", "scheduler", "env"), "KubeSchedulerConfig", "env"),
    (("cluster", "scheduler", "resources"), "KubeSchedulerConfig", "resources"),
    (("cluster", "scheduler", "config"), "KubeSchedulerConfig", "config"),
    (("cluster", "proxy", "image"), "KubeProxyConfig", "image"),
    (("cluster", "proxy", "mode"), "KubeProxyConfig", "mode"),
    (("cluster", "proxy", "extraArgs"), "KubeProxyConfig", "extraArgs"),
    (("cluster", "proxy", "resources"), "KubeProxyConfig", "resources"),
    (("cluster", "coreDNS", "image"), "KubeCoreDNSConfig", "image"),
    (("cluster", "id"), "DiscoveryIdentityConfig", "clusterID"),
    (("cluster", "secret"), "DiscoveryIdentityConfig", "clusterSecret"),
    (("machine", "kubelet", "image"), "KubeletConfig", "image"),
    (("machine", "kubelet", "extraArgs"), "KubeletConfig", "extraArgs"),
    (("machine", "kubelet", "extraConfig"), "KubeletConfig", "config"),
    (("machine", "kubelet", "clusterDNS"), "KubeletConfig", "clusterDNS"),
    (("machine", "kubelet", "defaultRuntimeSeccompProfileEnabled"), "KubeletConfig",
     "defaultRuntimeSeccompProfileEnabled"),
    (("machine", "kubelet", "nodeIP"), "KubeNodeConfig", "nodeIP"),
    (("machine", "kubelet", "registerWithFQDN"), "KubeNodeConfig", "registerWithFQDN"),
    (("machine", "kubelet", "skipNodeRegistration"), "KubeNodeConfig", "skipNodeRegistration"),
    (("machine", "nodeLabels"), "KubeNodeConfig", "labels"),
    (("machine", "nodeAnnotations"), "KubeNodeConfig", "annotations"),
    (("machine", "sysctls"), "SysctlConfig", "params"),
    (("machine", "features", "kubePrism", "port"), "KubePrismConfig", "port"),
    (("machine", "features", "hostDNS"), "ResolverConfig", "hostDNS"),
)
# v1alpha1 fields 1.14 drops without a replacement the planner needs (locked or implied in multi-doc mode)
DROPPED = (("machine", "kubelet", "disableManifestsDirectory"), ("machine", "install", "grubUseUKICmdline"),
           ("machine", "features", "kubePrism", "enabled"), ("cluster", "discovery", "registries"))
# Talos registers the kind as UnattendedInstallConfig; the 1.14.0-rc.1 schema's enum says UnattendedInstall
# (an upstream naming bug): we write what Talos parses and validate.py maps the name for the schema.
INSTALL_KIND = "UnattendedInstallConfig"
CP_ROLE_LABEL = "node-role.kubernetes.io/control-plane"
CP_TAINT = {CP_ROLE_LABEL: "NoSchedule"}
ENCRYPTION_FIELDS = {"secretboxEncryptionSecret": ("secretbox", "key2"), "aescbcEncryptionSecret": ("aescbc", "key1")}
_CA_DOCS = (("ca", "KubeAPIServerCAConfig"), ("aggregatorCA", "KubeAggregatorCAConfig"))
_COMPONENT_DOCS = ("KubeAPIServerConfig", "KubeControllerManagerConfig", "KubeSchedulerConfig", "KubeProxyConfig")
_CNI_KINDS = {"KubeFlannelCNIConfig", "KubeExternalManifestConfig"}
_DISK_MATCH = re.compile(r'^disk\.dev_path == "(?P<disk>[^"]+)"$')


def is_multidoc(documents: list[Doc]) -> bool:
    """Written in 1.14's form: Kubernetes settings live in Kube*Config documents."""
    return any(str(d.get("kind", "")).startswith("Kube") for d in documents)


# --- v1alpha1 form → 1.14 documents ------------------------------------------------------------------


def split(documents: list[Doc], *, patch: bool = False) -> list[Doc]:
    """A config (or a node patch when `patch`) in v1alpha1 form → the same settings in 1.14's documents."""
    root = copy.deepcopy(next((d for d in documents if "kind" not in d), {}))
    others = [copy.deepcopy(d) for d in documents if "kind" in d]
    out: dict[tuple[str, str], Doc] = {}

    def doc(kind: str, name: str = "") -> Doc:
        key = (kind, name)
        if key not in out:
            out[key] = {"apiVersion": "v1alpha1", "kind": kind, **({"name": name} if name else {})}
        return out[key]

    is_cp = root.get("machine", {}).get("type") in ("controlplane", "init")
    for path, kind, field in MOVES:
        value = _pop(root, path)
        if value is not None:
            doc(kind)[field] = value
    for path in DROPPED:
        _pop(root, path)
    for convert in (_split_cas, _split_service_account, _split_cni, _split_encryption, _split_install,
                    _split_admission, _split_proxy_and_coredns, _split_kernel_modules):
        convert(root, doc)
    _split_node_roles(root, doc, is_cp=is_cp, patch=patch)
    if not patch:
        _split_discovery(root, doc)
        for kind in ("KubeletConfig",) + (_COMPONENT_DOCS if is_cp else ()):
            doc(kind)
    _prune(root)
    merged = _merge_into(others, list(out.values()))
    return ([root] if root or not patch else []) + merged


def _split_cas(root: Doc, doc: Callable[..., Doc]) -> None:
    cluster = root.get("cluster", {})
    for field, kind in _CA_DOCS:
        pair = cluster.pop(field, None)
        if pair and (pair.get("crt") or pair.get("key")):
            doc(kind)["issuingCA"] = {k: _pem(pair.get(b64)) for k, b64 in (("cert", "crt"), ("key", "key"))
                                      if pair.get(b64)}


def _split_service_account(root: Doc, doc: Callable[..., Doc]) -> None:
    """v1alpha1 issues service-account tokens as the control-plane endpoint; 1.14 names the issuer."""
    cluster = root.get("cluster", {})
    account = cluster.pop("serviceAccount", None)
    if account and account.get("key"):
        endpoint = cluster.get("controlPlane", {}).get("endpoint") or doc("KubeClusterConfig").get("endpoint", "")
        doc("KubeServiceAccountConfig")["issuer"] = {"issuerURL": endpoint, "privateKey": _pem(account["key"])}


def _split_cni(root: Doc, doc: Callable[..., Doc]) -> None:
    network = root.get("cluster", {}).get("network", {})
    cni = network.pop("cni", None)
    if cni is None:
        return
    if cni.get("name") == "flannel":
        doc("KubeFlannelCNIConfig")["backendType"] = "vxlan"
    for i, url in enumerate(cni.get("urls") or []):
        doc("KubeExternalManifestConfig", "custom-cni" if i == 0 else f"custom-cni-{i}")["url"] = url


def _split_encryption(root: Doc, doc: Callable[..., Doc]) -> None:
    """The carried EncryptionConfiguration goes inline (1.14 takes a whole config); else Talos's own key."""
    cluster, machine = root.get("cluster", {}), root.get("machine", {})
    volumes = cluster.get("apiServer", {}).pop("extraVolumes", None) or []
    mounted = {v.get("hostPath") for v in volumes if v.get("mountPath") == TALOS_ENCRYPTION_CONFIG}
    files = machine.get("files") or []
    carried = next((f for f in files if f.get("path") in mounted), None)
    if carried is not None:
        files.remove(carried)
        if not files:
            machine.pop("files", None)  # 1.14's v1alpha1 has no machine.files at all
        body = yaml.safe_load(carried["content"]) or {}
        doc("KubeEtcdEncryptionConfig")["config"] = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
    for field, (provider, key_name) in ENCRYPTION_FIELDS.items():
        secret = cluster.pop(field, None)
        if secret and carried is None:
            keys = [{"name": key_name, "secret": secret}]
            doc("KubeEtcdEncryptionConfig")["config"] = {
                "resources": [{"resources": ["secrets"], "providers": [{provider: {"keys": keys}}, {"identity": {}}]}]}


def _split_install(root: Doc, doc: Callable[..., Doc]) -> None:
    install = root.get("machine", {}).pop("install", None)
    if not install:
        return
    target = doc(INSTALL_KIND)
    if install.get("image"):
        target["installer"] = {"image": install["image"]}
    provisioning: Doc = {}
    if install.get("disk"):
        provisioning["diskSelector"] = {"match": f'disk.dev_path == "{install["disk"]}"'}
    if "wipe" in install:
        provisioning["wipe"] = install["wipe"]
    if provisioning:
        target["provisioning"] = provisioning


def _split_admission(root: Doc, doc: Callable[..., Doc]) -> None:
    for plugin in root.get("cluster", {}).get("apiServer", {}).pop("admissionControl", None) or []:
        doc("KubeAdmissionControlConfig", plugin["name"])["configuration"] = plugin.get("configuration", {})


def _split_proxy_and_coredns(root: Doc, doc: Callable[..., Doc]) -> None:
    cluster = root.get("cluster", {})
    if cluster.get("proxy", {}).pop("disabled", False):
        doc("KubeProxyConfig")["enabled"] = False
    coredns = cluster.pop("coreDNS", None)
    if coredns is not None:
        target = doc("KubeCoreDNSConfig")
        target["enabled"] = not coredns.get("disabled", False)
        if coredns.get("image"):
            target["image"] = coredns["image"]


def _split_kernel_modules(root: Doc, doc: Callable[..., Doc]) -> None:
    for module in root.get("machine", {}).pop("kernel", {}).get("modules", None) or []:
        target = doc("KernelModuleConfig", module["name"])
        if module.get("parameters"):
            target["parameters"] = module["parameters"]


def _split_node_roles(root: Doc, doc: Callable[..., Doc], *, is_cp: bool, patch: bool) -> None:
    """v1alpha1 implies a control plane's role label and NoSchedule taint; 1.14 spells them out."""
    machine, cluster = root.get("machine", {}), root.get("cluster", {})
    taints = machine.pop("nodeTaints", None)
    schedulable = cluster.pop("allowSchedulingOnControlPlanes", False)
    if patch and taints is None:
        return
    node = doc("KubeNodeConfig")
    if is_cp and not patch:
        node["labels"] = {CP_ROLE_LABEL: "", **node.get("labels", {})}
        node["taints"] = {} if schedulable else dict(CP_TAINT)
    if taints:
        node["taints"] = {**node.get("taints", {}), **taints}
    if not patch:
        node.setdefault("nodeIP", {})  # gen config's empty default: Talos picks the address


def _split_discovery(root: Doc, doc: Callable[..., Doc]) -> None:
    discovery = root.get("cluster", {}).pop("discovery", None)
    if discovery and discovery.get("enabled"):
        # the Kubespray cluster keeps its own discovery off Kubernetes; Talos's service registry only
        doc("DiscoveryServiceConfig", "default")["endpoint"] = "https://discovery.talos.dev/"


def _merge_into(existing: list[Doc], new: list[Doc]) -> list[Doc]:
    """Host documents the planner already wrote (ResolverConfig, …) take the moved fields instead of a twin."""
    out = list(existing)
    for doc in new:
        same = next((d for d in out if d.get("kind") == doc["kind"] and d.get("name", "") == doc.get("name", "")),
                    None)
        if same is None:
            out.append(doc)
        else:
            same.update({k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "name")})
    return out


# --- 1.14 documents → v1alpha1 form (for reading) -------------------------------------------------


def fold(documents: list[Doc]) -> list[Doc]:
    """1.14 documents → the v1alpha1 form the reader knows; a config already in that form comes back as is."""
    if not any(d.get("kind") in _FOLDED_KINDS for d in documents):
        return list(documents)
    root = copy.deepcopy(next((d for d in documents if "kind" not in d), {"version": "v1alpha1"}))
    keep: list[Doc] = []
    for d in documents:
        if "kind" not in d:
            continue
        kind = d["kind"]
        if kind not in _FOLDED_KINDS:
            keep.append(d)
            continue
        if kind == "ResolverConfig":  # a host document that also carries hostDNS: keep the rest of it
            rest = {k: v for k, v in d.items() if k != "hostDNS"}
            if set(rest) - {"apiVersion", "kind"}:
                keep.append(rest)
        for (path, _, field) in (m for m in MOVES if m[1] == kind):
            if field in d:
                _put(root, path, copy.deepcopy(d[field]))
        _FOLDERS.get(kind, _ignore)(root, d)
    kinds = {d.get("kind") for d in documents}
    machine = root.get("machine")
    if isinstance(machine, dict) and machine.get("type") in ("controlplane", "init") and not kinds & _CNI_KINDS:
        _put(root, ("cluster", "network", "cni"), {"name": "none"})  # 1.14: no CNI document, no CNI deployed
    return [root, *keep]


def _fold_ca(field: str) -> Callable[[Doc, Doc], None]:
    def fold_ca(root: Doc, d: Doc) -> None:
        ca = d.get("issuingCA") or {}
        _put(root, ("cluster", field), {"crt": _b64(ca.get("cert")), "key": _b64(ca.get("key"))})
    return fold_ca


def _fold_service_account(root: Doc, d: Doc) -> None:
    issuer = d.get("issuer") or {}
    if issuer.get("privateKey"):
        _put(root, ("cluster", "serviceAccount", "key"), _b64(issuer["privateKey"]))


def _fold_flannel(root: Doc, d: Doc) -> None:
    _put(root, ("cluster", "network", "cni", "name"), "flannel")


def _fold_manifest(root: Doc, d: Doc) -> None:
    cni = _setdefault(root, ("cluster", "network", "cni"))
    cni["name"] = "custom"
    cni.setdefault("urls", []).append(d.get("url"))


def _fold_encryption(root: Doc, d: Doc) -> None:
    """Talos's own single key reads as its v1alpha1 secret field; anything else as the carried file."""
    config = d.get("config") or {}
    own = _own_key(config)
    if own is not None:
        _put(root, ("cluster", own[0]), own[1])
        return
    content = yaml.safe_dump({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
                              **config}, sort_keys=False)
    _setdefault(root, ("machine",)).setdefault("files", []).append(
        {"content": content, "path": CARRIED_ENCRYPTION_CONFIG, "permissions": 0o644})
    _setdefault(root, ("cluster", "apiServer")).setdefault("extraVolumes", []).append(
        {"hostPath": CARRIED_ENCRYPTION_CONFIG, "mountPath": TALOS_ENCRYPTION_CONFIG, "readonly": True})


def _own_key(config: Doc) -> tuple[str, str] | None:
    resources = config.get("resources") or []
    if len(resources) != 1:
        return None
    providers = [p for p in resources[0].get("providers") or [] if "identity" not in p]
    if len(providers) != 1:
        return None
    for field, (provider, key_name) in ENCRYPTION_FIELDS.items():
        keys = (providers[0].get(provider) or {}).get("keys") or []
        if len(keys) == 1 and keys[0].get("name") == key_name and keys[0].get("secret"):
            return field, keys[0]["secret"]
    return None


def _fold_install(root: Doc, d: Doc) -> None:
    install = _setdefault(root, ("machine", "install"))
    if (d.get("installer") or {}).get("image"):
        install["image"] = d["installer"]["image"]
    provisioning = d.get("provisioning") or {}
    match = _DISK_MATCH.match(((provisioning.get("diskSelector") or {}).get("match") or "").strip())
    if match:
        install["disk"] = match.group("disk")
    if "wipe" in provisioning:
        install["wipe"] = provisioning["wipe"]


def _fold_admission(root: Doc, d: Doc) -> None:
    _setdefault(root, ("cluster", "apiServer")).setdefault("admissionControl", []).append(
        {"name": d.get("name"), "configuration": d.get("configuration", {})})


def _fold_proxy(root: Doc, d: Doc) -> None:
    if d.get("enabled") is False:
        _put(root, ("cluster", "proxy", "disabled"), True)


def _fold_coredns(root: Doc, d: Doc) -> None:
    _put(root, ("cluster", "coreDNS", "disabled"), not d.get("enabled", True))


def _fold_kernel_module(root: Doc, d: Doc) -> None:
    module = {"name": d.get("name"), **({"parameters": d["parameters"]} if d.get("parameters") else {})}
    _setdefault(root, ("machine", "kernel")).setdefault("modules", []).append(module)


def _fold_node(root: Doc, d: Doc) -> None:
    """The role label and NoSchedule taint are implied in v1alpha1: read them back as Talos would imply them."""
    machine = _setdefault(root, ("machine",))
    labels = dict(machine.get("nodeLabels") or {})
    labels.pop(CP_ROLE_LABEL, None)
    if labels:
        machine["nodeLabels"] = labels
    else:
        machine.pop("nodeLabels", None)
    taints = dict(d.get("taints") or {})
    if machine.get("type") in ("controlplane", "init") and taints.pop(CP_ROLE_LABEL, None) is None:
        _put(root, ("cluster", "allowSchedulingOnControlPlanes"), True)
    if taints:
        machine["nodeTaints"] = taints


def _fold_kubeprism(root: Doc, d: Doc) -> None:
    _put(root, ("machine", "features", "kubePrism", "enabled"), True)


def _fold_discovery(root: Doc, d: Doc) -> None:
    _put(root, ("cluster", "discovery", "enabled"), True)


def _ignore(root: Doc, d: Doc) -> None:
    return None


_FOLDERS: dict[str, Callable[[Doc, Doc], None]] = {
    "KubeAPIServerCAConfig": _fold_ca("ca"),
    "KubeAggregatorCAConfig": _fold_ca("aggregatorCA"),
    "KubeServiceAccountConfig": _fold_service_account,
    "KubeFlannelCNIConfig": _fold_flannel,
    "KubeExternalManifestConfig": _fold_manifest,
    "KubeEtcdEncryptionConfig": _fold_encryption,
    INSTALL_KIND: _fold_install,
    "KubeAdmissionControlConfig": _fold_admission,
    "KubeProxyConfig": _fold_proxy,
    "KubeCoreDNSConfig": _fold_coredns,
    "KernelModuleConfig": _fold_kernel_module,
    "KubeNodeConfig": _fold_node,
    "DiscoveryServiceConfig": _fold_discovery,
    "KubePrismConfig": _fold_kubeprism,
}
# documents whose settings the reader takes from the v1alpha1 form; others (HostnameConfig, …) it reads as they are
_FOLDED_KINDS = frozenset({kind for _, kind, _ in MOVES} | set(_FOLDERS) | {
    "KubeAuditPolicyConfig", "DiscoveryIdentityConfig", "KubePrismConfig", "SysctlConfig", "KubeletConfig",
    "KubeClusterConfig", "KubeNetworkConfig", "KubeControllerManagerConfig", "KubeSchedulerConfig"})


# --- small helpers -----------------------------------------------------------------------------------


def _pop(doc: Doc, path: tuple[str, ...]) -> Any:
    parent: Any = doc
    for key in path[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
        if parent is None:
            return None
    return parent.pop(path[-1], None) if isinstance(parent, dict) else None


def _put(doc: Doc, path: tuple[str, ...], value: Any) -> None:
    _setdefault(doc, path[:-1])[path[-1]] = value


def _setdefault(doc: Doc, path: tuple[str, ...]) -> Doc:
    node = doc
    for key in path:
        node = node.setdefault(key, {})
    return node


def _prune(node: Any) -> None:
    """Drop the sections the moves emptied, so nothing 1.14's schema lacks is left behind as `{}`."""
    if isinstance(node, dict):
        for key in list(node):
            _prune(node[key])
            if isinstance(node[key], dict) and not node[key]:
                del node[key]


def _pem(b64: str | None) -> str:
    return base64.b64decode(b64 or "").decode()


def _b64(pem: str | None) -> str:
    return base64.b64encode((pem or "").encode()).decode() if pem else ""
