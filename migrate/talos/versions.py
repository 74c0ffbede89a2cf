"""Talos version contracts 1.8–1.14: which Kubernetes each supports and which document kinds it reads.

The facts live in mappings/talos/versions.yaml; this module only picks and checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from migrate.errors import UserError
from migrate.mapping.data import load_mapping
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
    gen_defaults: dict = field(default_factory=dict, compare=False)  # section -> fields gen config adds

    def defaults_for(self, section: str) -> dict:
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
    return load_mapping("talos", "versions.yaml")["images"]


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
            gen_defaults=v.get("gen_defaults", {}),
        )
        for minor, v in data.items()
    ]
    return tuple(sorted(found, key=lambda t: t.key))


def choose(requested: str, kubernetes_version: str) -> TalosVersion:
    """`auto`: the newest Talos supporting the cluster's Kubernetes; an explicit minor must support it too."""
    versions = all_versions()
    if requested == AUTO:
        fitting = [v for v in versions if v.supports(kubernetes_version)]
        if not fitting:
            span = f"{versions[0].kubernetes_min}–{versions[-1].kubernetes_max}"
            raise UserError(
                f"no supported Talos version runs Kubernetes {kubernetes_version}",
                hint=f"Talos {versions[0].minor}–{versions[-1].minor} cover Kubernetes {span}; "
                "upgrade the cluster with Kubespray first",
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
                    hint="use --talos-version auto, or a Talos minor whose range contains the cluster's version",
                )
            return v
    known = ", ".join(v.minor for v in versions)
    raise UserError(f"unsupported Talos version {requested!r}", where="--talos-version", hint=f"use auto or one of {known}")
