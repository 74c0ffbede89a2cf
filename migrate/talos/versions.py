"""Talos version contracts 1.8–1.14: which Kubernetes each supports and which document kinds it reads.

The facts live in mappings/talos/versions.yaml; this module only picks and checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from migrate.errors import UserError
from migrate.mapping.data import load_mapping
from migrate.version import minor_of
from migrate.version import require_minor as minor_key

AUTO = "auto"


@dataclass(frozen=True)
class TalosVersion:
    minor: str  # "1.13"
    release: str  # "1.13.9": the patch release whose schema and installer we pin
    kubernetes_min: str
    kubernetes_max: str
    etcd: str  # default etcd image tag, e.g. "v3.6.12"
    extra_args_lists: bool  # extraArgs values may be lists (repeated flags)
    documents: frozenset[str]  # multi-doc kinds this version reads
    kubernetes_documents: bool = False  # ≥1.14: Kubernetes settings live in Kube*Config documents
    etcd_bridge: str | None = None  # an older etcd tag this Talos also runs, pinned while the cluster catches up
    gen_defaults: dict[str, Any] = field(default_factory=dict, compare=False)  # section -> fields gen config adds

    def defaults_for(self, section: str) -> dict[str, Any]:
        return dict(self.gen_defaults.get(section, {}))

    def has(self, kind: str) -> bool:
        return kind in self.documents

    @property
    def key(self) -> tuple[int, int]:
        return minor_key(self.minor)

    @property
    def installer_image(self) -> str:
        return f"{images()['installer']}:v{self.release}"

    @property
    def kubernetes_range(self) -> str:
        return f"{self.kubernetes_min}–{self.kubernetes_max}"

    def supports(self, kubernetes_version: str) -> bool:
        k = minor_key(kubernetes_version)
        return minor_key(self.kubernetes_min) <= k <= minor_key(self.kubernetes_max)


def images() -> dict[str, str]:
    table: dict[str, str] = load_mapping("talos", "versions.yaml")["images"]
    return table


def all_versions() -> tuple[TalosVersion, ...]:
    """Every supported Talos minor, oldest first."""
    data = load_mapping("talos", "versions.yaml")["versions"]
    found = [
        TalosVersion(
            minor=minor,
            release=v["release"],
            kubernetes_min=v["kubernetes"]["min"],
            kubernetes_max=v["kubernetes"]["max"],
            etcd=v["etcd"],
            extra_args_lists=bool(v["extra_args_lists"]),
            documents=frozenset(v["documents"]),
            kubernetes_documents=bool(v.get("kubernetes_documents", False)),
            etcd_bridge=v.get("etcd_bridge"),
            gen_defaults=v.get("gen_defaults", {}),
        )
        for minor, v in data.items()
    ]
    return tuple(sorted(found, key=lambda t: t.key))


# target Kubernetes -> the Kubespray releases that step up to it, one minor each: [("v2.19.1", "1.23.7"), ...]
Upgrades = Callable[[str], list[tuple[str, str]]]


def choose(requested: str, kubernetes_version: str, upgrades: Upgrades | None = None) -> TalosVersion:
    """`auto`: the newest Talos supporting the cluster's Kubernetes; an explicit minor must support it too.
    `upgrades` names the Kubespray releases to step through when the cluster is too old for the target."""
    versions = all_versions()
    if requested == AUTO:
        fitting = [v for v in versions if v.supports(kubernetes_version)]
        if not fitting:
            span = f"{versions[0].kubernetes_min}–{versions[-1].kubernetes_max}"
            raise UserError(
                f"no supported Talos version runs Kubernetes {kubernetes_version}",
                hint=f"Talos {versions[0].minor}–{versions[-1].minor} cover Kubernetes {span}; "
                + _upgrade_first(kubernetes_version, versions[0], upgrades),
            )
        return fitting[-1]
    wanted = ".".join(str(p) for p in minor_key(requested))
    for v in versions:
        if v.minor == wanted:
            if not v.supports(kubernetes_version):
                raise UserError(
                    f"Talos {v.minor} supports Kubernetes {v.kubernetes_range}, "
                    f"the cluster runs {kubernetes_version}",
                    where="--talos-version",
                    hint=_way_out(v, kubernetes_version, versions, upgrades),
                )
            return v
    known = ", ".join(v.minor for v in versions)
    raise UserError(f"unsupported Talos version {requested!r}", where="--talos-version", hint=f"use auto or one of {known}")


@dataclass(frozen=True)
class EtcdStep:
    """How Talos members join the cluster's etcd: etcd runs mixed only with the adjacent minor."""

    image_tag: str | None  # pin cluster.etcd.image to this tag; None: Talos's own default
    severity: str  # ok | warning | blocker
    reason: str


def etcd_step(cluster_etcd: str | None, talos: TalosVersion) -> EtcdStep:
    """The etcd the Talos control planes run beside the cluster's members, and what the operator must do."""
    running, default = minor_of(cluster_etcd or ""), minor_of(talos.etcd)
    if running is None or default is None or running == default:
        return EtcdStep(None, "ok", f"Talos {talos.minor} runs etcd {talos.etcd}, the cluster's minor.")
    if running > default:
        return EtcdStep(None, "blocker", f"The cluster runs etcd {cluster_etcd}, newer than Talos {talos.minor}'s "
                        f"{talos.etcd}; a member cannot be downgraded. Pin cluster.etcd.image to the cluster's version.")
    if default[1] - running[1] == 1:
        return EtcdStep(None, "warning", f"The cluster runs etcd {cluster_etcd}, Talos {talos.minor} {talos.etcd} (the "
                        f"next minor, which may run mixed). Upgrade every {_m(running)} member to its newest patch "
                        "(≥3.5.26 for 3.5) with Kubespray before the first Talos control plane joins.")
    bridge = minor_of(talos.etcd_bridge or "")
    if bridge is not None and bridge[1] - running[1] == 1:
        return EtcdStep(talos.etcd_bridge, "warning", f"The cluster runs etcd {cluster_etcd}; Talos {talos.minor}'s "
                        f"default {talos.etcd} cannot join it ({_m(running)} runs mixed only with {_m(bridge)}). The "
                        f"plan pins cluster.etcd.image to {talos.etcd_bridge}, which Talos {talos.minor} also runs. "
                        f"Upgrade every {_m(running)} member to its newest patch (≥3.5.26 for 3.5) first; after the "
                        f"last old member is gone, remove the pin and apply the config to one control plane at a time "
                        f"(`talosctl apply-config`) to step each member up to {talos.etcd}.")
    return EtcdStep(None, "blocker", f"The cluster runs etcd {cluster_etcd}; Talos {talos.minor} runs {talos.etcd}"
                    + (f" (or {talos.etcd_bridge})" if talos.etcd_bridge else "") + ", too far apart to run mixed. "
                    "Upgrade etcd with Kubespray first (etcd_version, one minor at a time), or target an older Talos.")


def _way_out(target: TalosVersion, kubernetes_version: str, versions: tuple[TalosVersion, ...],
             upgrades: Upgrades | None = None) -> str:
    """The newest Talos that runs the cluster as it is, and the Kubespray upgrades that reach the target's range."""
    fitting = [v for v in versions if v.supports(kubernetes_version)]
    now = f"--talos-version {fitting[-1].minor} runs Kubernetes {kubernetes_version} today" if fitting else (
        "no supported Talos runs it today")
    have, low, high = minor_key(kubernetes_version), minor_key(target.kubernetes_min), minor_key(target.kubernetes_max)
    if have < low:
        return f"{now}; to target Talos {target.minor}, " + _upgrade_first(kubernetes_version, target, upgrades)
    return f"{now}; Talos {target.minor} runs at most Kubernetes {_m(high)} and a cluster cannot be downgraded"


def _upgrade_first(kubernetes_version: str, target: TalosVersion, upgrades: Upgrades | None) -> str:
    """Kubespray upgrades one Kubernetes minor per release: name each step, and how to preview the end state."""
    have, low = minor_key(kubernetes_version), minor_key(target.kubernetes_min)
    releases = upgrades(target.kubernetes_min) if upgrades else []
    steps = [f"{tag} (Kubernetes {kube})" for tag, kube in releases if tag]
    steps = steps or [f"Kubernetes {have[0]}.{m}" for m in range(have[1] + 1, low[1] + 1)]
    end = releases[-1][1] if releases and releases[-1][1] else f"{_m(low)}.x"
    return (f"upgrade Kubernetes with Kubespray first, one minor a step (upgrade-cluster.yml with each release): "
            f"{' → '.join(steps)}; preview the plan at that version with --kubernetes-version {end}")


def _m(minor: tuple[int, int]) -> str:
    return f"{minor[0]}.{minor[1]}"
