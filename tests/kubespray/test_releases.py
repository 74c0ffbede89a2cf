"""Kubespray releases to the patch: each tag's own kube/etcd defaults, and detection that says how sure it is."""

from __future__ import annotations

import csv
import re
import shutil

import pytest

from migrate.errors import UserError
from migrate.kubespray import load_cluster
from migrate.kubespray.releases import patches, release_for_kube_version, release_named
from tests.conftest import INVENTORIES, shared_path


def test_every_tag_in_kubesprays_version_table_is_known_with_its_defaults():
    rows = csv.DictReader(shared_path("kubespray", "defaults", "versions.tsv").open(), delimiter="\t")
    upstream = {r["tag"][1:]: {"kube": r["kube_version"], "etcd": r["etcd_version"]} for r in rows
                if r["tag"].startswith("v2.")}
    assert patches() == upstream


def test_a_patch_release_has_its_own_defaults_not_the_minors_newest():
    assert (release_named("2.23.1").default_kube, release_named("2.23.1").default_etcd) == ("1.27.7", "3.5.9")
    assert release_named("v2.28.0").default_kube == "1.32.5" and release_named("2.28").default_kube != "1.32.5"
    assert release_named("2.23.1").label == "v2.23.1" and release_named("2.23").label == "v2.23"


def test_an_unknown_patch_is_refused_with_the_ones_known():
    with pytest.raises(UserError) as caught:
        release_named("2.23.9")
    assert "2.23.0, 2.23.1, 2.23.2, 2.23.3" in caught.value.hint


def test_an_inventory_without_kube_version_reads_its_patch_releases_default(tmp_path):
    inv = tmp_path / "demo"
    shutil.copytree(INVENTORIES / "demo", inv)
    for f in inv.rglob("*.yml"):
        f.write_text(re.sub(r"(?m)^kube_version:.*$", "", f.read_text()))
    assert load_cluster(inv, kubespray_version="2.23.1").spec.kubernetes_version == "1.27.7"
    assert load_cluster(inv, kubespray_version="2.23.3").spec.kubernetes_version == "1.27.10"


def test_detection_names_its_evidence_and_how_sure_it_is():
    release, why = release_for_kube_version("v1.27.7")
    assert release.label == "v2.23.1" and "likely" in why and "default of v2.23.1" in why
    release, why = release_for_kube_version("v1.27.3")
    assert release.name == "v2.23" and "1.27.3" in why
