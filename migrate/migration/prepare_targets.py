"""What `prepare` wants each cluster object to be before the first Talos node joins: pure functions of the object as
it is now and of the plan's facts.

Each target owns a few fields of one object (its "view"); a change is the view before and after. Only those fields are
compared, written and later restored, so a controller that touches the rest of the object (the bootstrap signer on
cluster-info, the DaemonSet controller's status) is not mistaken for a person changing what prepare changed.
"""
# exercised by tests/migration/test_prepare.py

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from migrate.clock import parse_rfc3339, rfc3339
from migrate.cluster.base import BootstrapToken, ObjectRef
from migrate.cluster.objects import bootstrap_token_from, bootstrap_token_secret

Obj = dict[str, Any]
Path = tuple[str, ...]
KUBEADM_NODE_GROUP = "system:bootstrappers:kubeadm:default-node-token"
LOCALHOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
# Kubespray's sed target: the kube-proxy kubeconfig's server on its nginx proxy (nothing listens there on Talos)
_LOCAL_SERVER = re.compile(r"(server:\s*)https://(?:localhost|127\.0\.0\.1|\[::1\]):\d+\b")
_ANY_SERVER = re.compile(r"(server:\s*)(\S+)")
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
                  "deletionTimestamp", "deletionGracePeriodSeconds")
MIN_TOKEN_LIFE = 3600.0  # a token with less left than this is renewed by the next prepare


@dataclass(frozen=True)
class Facts:
    """What the plan says the cluster must look like to a joining Talos node."""

    endpoint: str  # https://k8s-api.example:6443, the stable endpoint in the Talos configs
    token: BootstrapToken = field(repr=False)  # the Talos configs' cluster.token, as a kubeadm-group token
    ca_data: str = field(repr=False)  # base64 PEM of the cluster CA (public; for a new cluster-info)
    token_ttl: float = 7 * 86400.0

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).hostname or ""

    @property
    def port(self) -> str:
        return str(urlsplit(self.endpoint).port or 443)


Desire = Callable[[Obj | None, Facts, float], Obj | None]


@dataclass(frozen=True)
class Target:
    ref: ObjectRef
    title: str
    why: str
    fields: tuple[Path, ...]
    desire: Desire  # the whole object as it should be; None: not applicable here (leave it alone)
    recreate: bool = False  # the API refuses the change in place (an immutable selector): delete, then create


def view(obj: Obj | None, fields: tuple[Path, ...]) -> dict[str, Any] | None:
    """The fields a target owns, keyed by their path (`data/kubeconfig.conf`); None for a missing object."""
    if obj is None:
        return None
    shown: dict[str, Any] = {}
    for path in fields:
        node: Any = obj
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        shown["/".join(path)] = node
    return shown


def with_view(obj: Obj, shown: Mapping[str, Any]) -> Obj:
    """A copy of `obj` with the owned fields set back to `shown` (None removes a field)."""
    out = copy.deepcopy(obj)
    for key, value in shown.items():
        *parents, last = key.split("/")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    return out


def fresh(obj: Obj) -> Obj:
    """The object as a client would create it: without what the API server sets."""
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    out["metadata"] = {k: v for k, v in (out.get("metadata") or {}).items() if k not in _SERVER_FIELDS}
    return out


# --- the changes -------------------------------------------------------------------------------------------------
def _kube_proxy_kubeconfig(cm: Obj | None, facts: Facts, now: float) -> Obj | None:
    text = ((cm or {}).get("data") or {}).get("kubeconfig.conf")
    if cm is None or not isinstance(text, str):
        return None
    return with_view(cm, {"data/kubeconfig.conf": _LOCAL_SERVER.sub(rf"\g<1>{facts.endpoint}", text)})


def _service_endpoint(host_key: str, port_key: str) -> Desire:
    """Calico's kubernetes-services-endpoint and Cilium's k8s-service-host: localhost:6443 onto the endpoint."""
    def desire(cm: Obj | None, facts: Facts, now: float) -> Obj | None:
        data = (cm or {}).get("data") or {}
        if cm is None or data.get(host_key) not in LOCALHOSTS:
            return cm
        return with_view(cm, {f"data/{host_key}": facts.host, f"data/{port_key}": facts.port})
    return desire


def _cluster_info(cm: Obj | None, facts: Facts, now: float) -> Obj | None:
    if cm is None:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-info", "namespace": "kube-public"},
                "data": {"kubeconfig": _discovery_kubeconfig(facts)}}
    text = (cm.get("data") or {}).get("kubeconfig")
    if not isinstance(text, str):
        return with_view(cm, {"data/kubeconfig": _discovery_kubeconfig(facts)})
    return with_view(cm, {"data/kubeconfig": _ANY_SERVER.sub(rf"\g<1>{facts.endpoint}", text, count=1)})


def _discovery_kubeconfig(facts: Facts) -> str:
    # the shape kubeadm's bootstrap phase writes: one cluster, no users (anonymous discovery)
    return ("apiVersion: v1\nclusters:\n- cluster:\n"
            f"    certificate-authority-data: {facts.ca_data}\n    server: {facts.endpoint}\n  name: \"\"\n"
            "contexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n")


def _bootstrap_token(secret: Obj | None, facts: Facts, now: float) -> Obj | None:
    wanted = facts.token
    expiration = rfc3339(now + facts.token_ttl)
    groups: tuple[str, ...] = (KUBEADM_NODE_GROUP,)
    if secret is not None:
        have = bootstrap_token_from(secret)
        left = _seconds_left(have.expiration, now)
        if have.secret == wanted.secret and (left is None or left >= MIN_TOKEN_LIFE):
            expiration = have.expiration or expiration  # still good: a second prepare leaves its expiry alone
        groups = tuple(dict.fromkeys((*have.groups, KUBEADM_NODE_GROUP)))  # Talos's own group, if it made it, stays
    body = bootstrap_token_secret(BootstrapToken(wanted.token_id, wanted.secret, expiration,
                                                 "kubespray2talos: Talos kubelets join with this token", groups))
    return body if secret is None else with_view(secret, view(body, TOKEN_FIELDS) or {})


def _seconds_left(expiration: str | None, now: float) -> float | None:
    if not expiration:
        return None
    try:
        return parse_rfc3339(expiration) - now
    except ValueError:
        return 0.0  # unreadable: renew it


def _kube_proxy_labels(ds: Obj | None, facts: Facts, now: float) -> Obj | None:
    if ds is None:
        return None
    labels = {"k8s-app": "kube-proxy", "tier": "node"}
    selector = dict((ds.get("spec") or {}).get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), **labels}
    template = {**((((ds.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}), **labels}
    return with_view(ds, {"metadata/labels/tier": "node", "spec/selector": selector,
                          "spec/template/metadata/labels": template})


TOKEN_FIELDS: tuple[Path, ...] = (("type",), *(("data", k) for k in (
    "token-id", "token-secret", "usage-bootstrap-authentication", "usage-bootstrap-signing", "auth-extra-groups",
    "expiration")))
_CRB_FIELDS: tuple[Path, ...] = (("roleRef",), ("subjects",))
_BINDINGS = (
    ("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", KUBEADM_NODE_GROUP),
    ("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
     KUBEADM_NODE_GROUP),
    ("kubeadm:node-autoapprove-certificate-rotation",
     "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:nodes"),
)


def binding_body(name: str, role: str, group: str) -> Obj:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]}


def _missing_binding(name: str, role: str, group: str) -> Desire:
    def desire(crb: Obj | None, facts: Facts, now: float) -> Obj | None:
        return crb if crb is not None else binding_body(name, role, group)
    return desire


def targets(facts: Facts) -> list[Target]:
    """Every object prepare may change, in the order it changes them (the token before the RBAC that names its
    group; the kube-proxy DaemonSet, the one disruptive change, last)."""
    endpoint = facts.endpoint
    cm = "ConfigMap"
    return [
        Target(ObjectRef(cm, "kube-proxy", "kube-system"), "kube-proxy's kubeconfig onto the stable endpoint",
               f"Kubespray points kube-proxy at its nginx proxy on localhost:6443; nothing listens there on a Talos "
               f"node (KubePrism is 127.0.0.1:7445), so kube-proxy on Talos workers would not start. Now {endpoint}.",
               (("data", "kubeconfig.conf"),), _kube_proxy_kubeconfig),
        Target(ObjectRef(cm, "kubernetes-services-endpoint", "kube-system"), "Calico's API endpoint off localhost",
               "calico-node's install-cni and felix read KUBERNETES_SERVICE_HOST/PORT from here; localhost:6443 is "
               "Kubespray's nginx proxy, absent on Talos.",
               (("data", "KUBERNETES_SERVICE_HOST"), ("data", "KUBERNETES_SERVICE_PORT")),
               _service_endpoint("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")),
        Target(ObjectRef(cm, "cilium-config", "kube-system"), "Cilium's API endpoint off localhost",
               "Kubespray 2.30+ sets Cilium's k8sServiceHost to localhost:6443 (its nginx proxy), absent on Talos.",
               (("data", "k8s-service-host"), ("data", "k8s-service-port")),
               _service_endpoint("k8s-service-host", "k8s-service-port")),
        Target(ObjectRef(cm, "cluster-info", "kube-public"), "cluster-info names the stable endpoint",
               "Discovery (kubeadm joins, tools reading kube-public/cluster-info) should reach the API through the "
               "endpoint that outlives the old control planes.", (("data", "kubeconfig"),), _cluster_info),
        Target(ObjectRef("Secret", facts.token.secret_name, "kube-system"), "bootstrap token for Talos kubelets",
               f"Talos kubelets TLS-bootstrap with the plan's cluster.token; kubeadm's group {KUBEADM_NODE_GROUP} lets "
               "the existing RBAC approve their certificates. It expires; a later prepare renews it.",
               TOKEN_FIELDS, _bootstrap_token),
        *(Target(ObjectRef("ClusterRoleBinding", name), f"kubeadm's RBAC for {group}",
                 f"binds {group} to {role}, as kubeadm does; added only when missing.", _CRB_FIELDS,
                 _missing_binding(name, role, group)) for name, role, group in _BINDINGS),
        Target(ObjectRef("DaemonSet", "kube-proxy", "kube-system"), "kube-proxy DaemonSet labelled tier=node",
               "Talos renders kube-proxy with selector {k8s-app: kube-proxy, tier: node}; a selector cannot change in "
               "place, so a later `talosctl upgrade-k8s` fails on kubeadm's DaemonSet. It is deleted and created "
               "again with the labels (its pods restart once; the kernel's proxy rules stay meanwhile).",
               (("metadata", "labels", "tier"), ("spec", "selector"), ("spec", "template", "metadata", "labels")),
               _kube_proxy_labels, recreate=True),
    ]
