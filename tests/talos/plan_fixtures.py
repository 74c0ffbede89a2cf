"""Fixture inventories read once per test process, and the Talos versions each one can run."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from migrate.talos.versions import TalosVersion, all_versions
from tests.conftest import INVENTORIES

# the inventories a supported Talos can run (legacy-ini-2.16 and encryption-aescbc are Kubernetes 1.20/1.22)
PLANNABLE = ("demo", "single-node", "ha-external-lb", "localhost-proxy", "dual-stack", "registry-mirrors",
             "oidc-proxy-ntp", "flatcar", "vault-file", "vault-inline", "large-ha", "mixed-legacy-names",
             "hosts-and-sample-ini")
TOO_OLD = ("legacy-ini-2.16", "encryption-aescbc")


def inventory(name: str) -> Path:
    return INVENTORIES / name


def vault_password(name: str) -> Path | None:
    candidate = INVENTORIES / f"{name}.pass"
    return candidate if candidate.is_file() else None


@cache
def resolved(name: str):
    from migrate.kubespray import load_cluster

    return load_cluster(inventory(name), vault_password_file=vault_password(name))


def versions_for(name: str) -> list[TalosVersion]:
    k8s = resolved(name).spec.kubernetes_version
    return [v for v in all_versions() if v.supports(k8s)]


def matrix() -> list[tuple[str, str]]:
    """(inventory, talos minor) for every fixture inventory and every Talos version whose range holds it."""
    return [(name, v.minor) for name in PLANNABLE for v in versions_for(name)]
