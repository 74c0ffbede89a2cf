"""Bundled Kubespray defaults are exactly what the extraction reads from each release's defaults role."""

from __future__ import annotations

import pytest
import yaml

from migrate.kubespray.defaults import MAPPINGS, extract
from migrate.kubespray.releases import RELEASES, defaults_dirs, release_for_kube_version, release_named
from tests.conftest import SHARED


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.name)
def test_bundled_defaults_are_current(release):
    roles = [p for p in (SHARED / "kubespray" / "defaults").glob(f"{defaults_dirs(release)}/*") if p.is_dir()]
    assert roles, f"no defaults role for v2.{release.minor} under ../shared/kubespray/defaults"
    bundled = yaml.safe_load((MAPPINGS / f"{release.name}.yaml").read_text())
    fresh = extract(roles[0])
    assert bundled["defaults"] == fresh["defaults"] and bundled["vars"] == fresh["vars"], (
        "regenerate: python -m migrate.kubespray.defaults ../shared/kubespray/defaults mappings/kubespray")
    assert str(bundled["defaults"]["kube_version"]).lstrip("v") == release.default_kube


def test_release_names_and_inference():
    assert release_named("v2.20.0-106-g4751089").minor == 20
    assert release_for_kube_version("v1.25.4")[0].name == "v2.21"
    release, why = release_for_kube_version("v1.13.2")
    assert release.name == "v2.16" and "nearest" in why
