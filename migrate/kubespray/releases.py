"""Kubespray releases we know, and how to pick the one that built a cluster."""
# exercised by tests/kubespray/test_defaults.py

from __future__ import annotations

import re
from dataclasses import dataclass

from migrate.errors import UserError
from migrate.mapping.data import load_mapping
from migrate.version import minor_of


@dataclass(frozen=True, order=True)
class Release:
    minor: int  # the x of Kubespray 2.x
    default_kube: str  # the Kubernetes version that release deploys by default
    patch: str = ""  # "2.23.1" when known to the patch: its own kube/etcd defaults (mappings/kubespray/patches.yaml)
    default_etcd: str = ""

    @property
    def name(self) -> str:
        """The minor whose defaults role is bundled (mappings/kubespray/v2.X.yaml)."""
        return f"v2.{self.minor}"

    @property
    def label(self) -> str:
        return f"v{self.patch}" if self.patch else self.name

    def at_least(self, name: str) -> bool:
        return self.minor >= release_named(name).minor


# the bundled patch release of each minor and the kube_version it deploys by default (mappings/kubespray/)
RELEASES = tuple(
    Release(minor, kube)
    for minor, kube in (
        (16, "1.20.7"), (17, "1.21.6"), (18, "1.22.8"), (19, "1.23.7"), (20, "1.24.6"), (21, "1.25.6"),
        (22, "1.26.13"), (23, "1.27.10"), (24, "1.28.14"), (25, "1.29.10"), (26, "1.30.6"), (27, "1.31.9"),
        (28, "1.32.8"), (29, "1.33.7"), (30, "1.34.3"), (31, "1.35.4"), (32, "1.36.4"),
    )
)
# minors with no tag yet: their defaults come from master at a known commit (../shared/kubespray/defaults/)
UNTAGGED = {32: "master-46dbdd399"}
_BY_MINOR = {r.minor: r for r in RELEASES}
_RELEASE_TEXT = re.compile(r"^v?2\.(\d+)(\.\d+)?([-+].*)?$")


def defaults_dirs(release: Release) -> str:
    """The glob, under Kubespray's per-release defaults folders, of the tree this release's defaults come from."""
    return UNTAGGED.get(release.minor, f"v2.{release.minor}.*")


def upgrade_path(kubernetes_version: str, target: tuple[int, int]) -> list[tuple[str, str]]:
    """The Kubespray releases to run upgrade-cluster.yml with, one Kubernetes minor a step, each at its newest
    patch with that patch's default Kubernetes: [("v2.22.2", "1.26.11"), ...] ("" where no release is known)."""
    have = minor_of(kubernetes_version)
    if have is None:
        return []
    newest: dict[tuple[int, int], tuple[str, str]] = {}
    for tag, facts in patches().items():
        minor = minor_of(facts["kube"])
        if minor is not None:
            newest[minor] = (tag, facts["kube"])  # patches.yaml lists tags oldest first
    for release in RELEASES:
        minor = minor_of(release.default_kube)
        if minor is not None and minor not in newest:
            newest[minor] = (release.name[1:], release.default_kube)
    steps = []
    for m in range(have[1] + 1, target[1] + 1):
        tag, kube = newest.get((have[0], m), ("", ""))
        steps.append((f"v{tag}", kube) if tag else ("", f"{have[0]}.{m}"))
    return steps


def patches() -> dict[str, dict[str, str]]:
    """Every tag's default kube_version and etcd_version: {"2.23.1": {"kube": "1.27.7", "etcd": "3.5.9"}}."""
    return dict(load_mapping("kubespray", "patches.yaml")["patches"])


def release_named(text: str) -> Release:
    """'2.27', 'v2.27.1', 'v2.20.0-106-g4751089' -> that release (to the patch when given); anything else is refused."""
    m = _RELEASE_TEXT.match(str(text).strip())
    if m and int(m.group(1)) in _BY_MINOR:
        release = _BY_MINOR[int(m.group(1))]
        if not m.group(2):
            return release
        tag = f"2.{m.group(1)}{m.group(2)}"
        known = patches()
        if tag not in known:
            same = ", ".join(t for t in known if t.startswith(f"2.{m.group(1)}."))
            raise UserError(f"unknown Kubespray patch release {text!r}", where="--kubespray-version",
                            hint=f"releases of 2.{m.group(1)} this tool knows: {same}; or give the minor (2.{m.group(1)})")
        return Release(release.minor, known[tag]["kube"], tag, known[tag]["etcd"])
    span = f"{RELEASES[0].name[1:]} to {RELEASES[-1].name[1:]}"
    raise UserError(
        f"unknown Kubespray release {text!r}: this tool knows releases {span}",
        where="--kubespray-version",
        hint="give the release your cluster was deployed with (e.g. 2.27), or --kubespray-dir with your Kubespray checkout",
    )


def release_for_kube_version(kube_version: str) -> tuple[Release, str]:
    """The release whose default Kubernetes minor is the cluster's, with a sentence saying so and how sure it is."""
    minor = minor_of(kube_version)
    exact_patch = [tag for tag, v in patches().items() if v["kube"] == kube_version.strip().lstrip("v")]
    if exact_patch:
        release = release_named(exact_patch[-1])
        return release, (f"Kubespray release inferred from kube_version {kube_version} (likely): it is the default of "
                         f"{', '.join('v' + t for t in exact_patch)}; pass --kubespray-version to be exact")
    if minor is None:
        latest = RELEASES[-1]
        return latest, f"no usable kube_version in the inventory; assuming the newest known release {latest.name}"
    best = min(RELEASES, key=lambda r: (abs((minor_of(r.default_kube) or (0, 0))[1] - minor[1]), -r.minor))
    exact = minor_of(best.default_kube) == minor
    why = (
        f"Kubespray release inferred from kube_version {kube_version}: {best.name} deploys {minor[0]}.{minor[1]} by default"
        if exact
        else f"Kubespray release inferred from kube_version {kube_version}: nearest known is {best.name} "
        f"(default {best.default_kube}); pass --kubespray-version to be exact"
    )
    return best, why
