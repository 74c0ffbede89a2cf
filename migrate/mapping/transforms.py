"""Named verdict transforms: rules whose verdict depends on the cluster's values or the Talos target.

Each takes the setting's value, the spec, the mapping context and the rule's parameters and returns an
Outcome; settings.yaml refers to them by name (`verdict: {transform: <name>}`).
"""
# exercised by tests/mapping/test_engine.py

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from migrate.mapping.finding import CHANGED, KEPT, MANUAL
from migrate.mapping.node_restriction import kubelet_may_set_label
from migrate.mapping.restrictions import denied_flags, flag_names, protected_kubelet_fields
from migrate.spec import ClusterSpec


@dataclass(frozen=True)
class MappingContext:
    """What the verdicts need to know about the Talos side."""

    talos: tuple[int, int] = (1, 13)
    talos_etcd: str = "v3.6.12"  # the etcd image tag the chosen Talos runs
    etcd_advice: tuple[str, str] | None = None  # (ok|warning|blocker, reason): talos.versions.etcd_step's verdict
    joinable: bool = False  # the bundle comes from the cluster's own PKI
    encryption_carried: bool = False  # the cluster's EncryptionConfiguration is rendered into the configs
    encryption_provider: str | None = None  # what the Talos API servers encrypt with (the carried file's provider)


@dataclass(frozen=True)
class Outcome:
    verdict: str
    reason: str | None = None  # None: use the rule's reason
    severity: str | None = None


Transform = Callable[[Any, ClusterSpec, MappingContext, dict[str, Any]], Outcome]
TRANSFORMS: dict[str, Transform] = {}


def transform(name: str) -> Callable[[Transform], Transform]:
    """Register a function under the name settings.yaml uses for it."""

    def register(fn: Transform) -> Transform:
        TRANSFORMS[name] = fn
        return fn

    return register


@transform("control_plane_endpoint")
def control_plane_endpoint(value: Any, spec: ClusterSpec, ctx: MappingContext, params: dict[str, Any]) -> Outcome:
    endpoint = spec.control_plane.endpoint
    if endpoint.kind == "loadbalancer":
        return Outcome(KEPT)
    return Outcome(
        MANUAL,
        f"The API endpoint {endpoint.url} is a single control plane's address. Put a load balancer, VIP or DNS name "
        "in front of all control planes (old and new) and set loadbalancer_apiserver before the first Talos node.",
        "blocker",
    )


@transform("apiserver_bind_address")
def apiserver_bind_address(value: Any, spec: ClusterSpec, ctx: MappingContext, params: dict[str, Any]) -> Outcome:
    if "bind-address" in spec.control_plane.apiserver.extra_args:
        return Outcome(KEPT, "The cluster's bind-address is written to extraArgs.")
    if any(":" in cidr for cidr in spec.network.service_subnets + spec.network.pod_subnets):
        return Outcome(KEPT, 'The cluster serves IPv6: the plan writes bind-address "::" (Talos would bind 0.0.0.0).')
    if value in (None, "", "0.0.0.0"):
        return Outcome(KEPT, "Talos binds 0.0.0.0 as well.")
    return Outcome(CHANGED, f"Talos binds 0.0.0.0 instead of {value}; on an IPv4-only cluster both reach IPv4.")


@transform("denied_flags")
def denied_flags_check(value: Any, spec: ClusterSpec, ctx: MappingContext, params: dict[str, Any]) -> Outcome:
    denied = set(flag_names(value)) & denied_flags(params["component"])
    return _passed_except(denied, params["component"], "Talos denies these flags (it manages them itself)")


@transform("protected_kubelet_fields")
def protected_kubelet_fields_check(value: Any, spec: ClusterSpec, ctx: MappingContext, params: dict[str, Any]) -> Outcome:
    fields = set(value) & protected_kubelet_fields() if isinstance(value, dict) else set()
    return _passed_except(fields, "machine.kubelet.extraConfig", "Talos protects these fields")


def _passed_except(refused: set[str], target: str, why: str) -> Outcome:
    """Kept when Talos takes every key; otherwise changed, naming the keys left out."""
    if not refused:
        return Outcome(KEPT)
    return Outcome(CHANGED, f"Passed to {target} except {', '.join(sorted(refused))}: {why}; they are dropped.")


@transform("secrets_encryption")
def secrets_encryption(value: Any, spec: ClusterSpec, ctx: MappingContext, params: dict[str, Any]) -> Outcome:
    enc = spec.control_plane.encryption
    if enc is None:
        return Outcome(KEPT, "The cluster does not encrypt secrets at rest; the generated Talos encryption secret is "
                             "removed so Talos API servers do not encrypt either.")
    if ctx.encryption_carried:
        provider = ctx.encryption_provider or enc.provider
        return Outcome(KEPT, f"The cluster's EncryptionConfiguration ({provider}, key named {enc.key_name!r}) is "
                             "written to /var on control planes (0644: Talos runs kube-apiserver as uid 65534) and "
                             "mounted over Talos's generated one, so stored secrets stay readable by old and new API "
                             "servers. Unverified on a real Talos node; re-key to a Talos key afterwards (finding "
                             "'encryption key rotation').")
    return Outcome(
        MANUAL,
        f"Secrets are encrypted with {enc.provider} under the key name {enc.key_name!r}, and no EncryptionConfiguration "
        "was imported (run fetch-pki and plan --pki). Without it Talos writes its own key (key2/key1) and old and new "
        "API servers cannot read each other's secrets. Either import the PKI, or re-key on Kubespray first: add a key "
        "named key2 (secretbox) first in secrets_encryption.yaml, restart the API servers, rewrite all secrets "
        "(kubectl get secrets -A -o json | kubectl replace -f -), then set cluster.secretboxEncryptionSecret to it.",
        "blocker" if params.get("blocker") else "warning",  # one blocker for the three encryption settings
    )


@transform("etcd_version")
def etcd_version(value: Any, spec: ClusterSpec, ctx: MappingContext, params: dict[str, Any]) -> Outcome:
    """The planner decides how Talos members join (talos.versions.etcd_step); this reports its verdict."""
    severity, reason = ctx.etcd_advice or ("ok", f"Talos runs etcd {ctx.talos_etcd}.")
    if severity == "ok":
        return Outcome(KEPT, reason)
    return Outcome(MANUAL, reason, "blocker" if severity == "blocker" else None)


@transform("ntp_servers")
def ntp_servers(value: Any, spec: ClusterSpec, ctx: MappingContext, params: dict[str, Any]) -> Outcome:
    if not spec.host.ntp_servers:
        return Outcome(MANUAL, "Kubespray did not manage NTP, so Talos would use time.cloudflare.com; set the site's "
                               "time servers in TimeSyncConfig if that is unreachable.")
    if isinstance(value, (list, tuple)) and any(" " in str(v).strip() for v in value):
        return Outcome(CHANGED, "Server names are kept; chrony/ntpd options such as iburst are stripped.")
    return Outcome(KEPT, "The same time servers are written.")


@transform("node_labels")
def node_labels(value: Any, spec: ClusterSpec, ctx: MappingContext, params: dict[str, Any]) -> Outcome:
    blocked = sorted({f"{n.name}: {k}" for n in spec.workers for k in n.labels if not kubelet_may_set_label(k)})
    if not blocked:
        return Outcome(KEPT)
    return Outcome(MANUAL, "NodeRestriction forbids workers from setting these labels, so they are left out of the "
                           f"node patches; apply them with kubectl after each node joins: {', '.join(blocked)}.")


@transform("node_taints")
def node_taints(value: Any, spec: ClusterSpec, ctx: MappingContext, params: dict[str, Any]) -> Outcome:
    tainted = sorted(n.name for n in spec.workers if n.taints)
    if not tainted:
        return Outcome(KEPT)
    return Outcome(MANUAL, "Worker taints go to registerWithTaints, which only applies at first registration; if a "
                           f"node name is reused, re-apply with kubectl taint: {', '.join(tainted)}.")
