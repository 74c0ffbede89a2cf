"""What each node really runs (its role's base config + its patch), read against the cluster's spec."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrate.cli import cli
from migrate.talos.plan_dir import read_plan
from tests.cli.test_diff import make_plan
from tests.conftest import FIXTURES, INVENTORIES

WORKERS = ("w1", "w2", "w3")


def _plan(out: Path, minor: str) -> Path:
    return make_plan(INVENTORIES / "demo", "--pki", FIXTURES / "pki" / "demo", "--out", out, "--talos-version", minor)


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("node-plans")
    return {minor: _plan(root / minor, minor) for minor in ("1.12", "1.13")}


def _edited_worker(plan: Path, target: Path, edit) -> Path:
    shutil.copytree(plan, target)
    path = target / "worker.yaml"
    docs = list(yaml.safe_load_all(path.read_text()))
    edit(next(d for d in docs if "kind" not in d))
    path.write_text(yaml.safe_dump_all(docs))
    return target


def _diff(a: Path, b: Path) -> dict[str, dict]:
    result = CliRunner().invoke(cli, ["diff", str(a), str(b), "--output", "json"], catch_exceptions=False)
    return {c["path"]: c for c in json.loads(result.stdout)["changes"]}


def test_a_plan_read_back_has_no_node_running_anything_else(plans):
    spec = read_plan(plans["1.12"]).spec
    assert all(n.overrides == {} and n.kubernetes_version is None for n in spec.nodes)
    assert all("clusterDNS" not in n.kubelet_config for n in spec.nodes)


def test_worker_cluster_dns_edited_is_read_per_worker_and_diffed(plans, tmp_path):
    def edit(root):
        assert root["machine"]["kubelet"]["clusterDNS"] == ["169.254.25.10"]
        root["machine"]["kubelet"]["clusterDNS"] = ["10.233.0.10"]

    edited = _edited_worker(plans["1.12"], tmp_path / "edited", edit)
    spec = read_plan(edited).spec
    assert spec.network.cluster_dns == ("169.254.25.10",), "the control planes still hand out nodelocaldns"
    assert {n.name: n.kubelet_config.get("clusterDNS") for n in spec.nodes if n.name in WORKERS} == {
        w: ["10.233.0.10"] for w in WORKERS
    }
    changes = _diff(plans["1.12"], edited)
    for w in WORKERS:
        change = changes[f"nodes.{w}.kubelet_config.clusterDNS"]
        assert (change["before"], change["after"], change["severity"]) == (["169.254.25.10"], ["10.233.0.10"],
                                                                           "breaking")
    assert not [p for p in changes if p.startswith("nodes.cp")]


def test_worker_kubelet_image_version_is_a_node_level_change(plans, tmp_path):
    def edit(root):
        assert root["machine"]["kubelet"]["image"].endswith(":v1.31.4")
        root["machine"]["kubelet"]["image"] = "ghcr.io/siderolabs/kubelet:v1.31.5"

    edited = _edited_worker(plans["1.12"], tmp_path / "edited", edit)
    spec = read_plan(edited).spec
    assert spec.kubernetes_version == "1.31.4"
    assert {n.name: n.kubernetes_version for n in spec.nodes} == {"cp1": None, "cp2": None, "cp3": None,
                                                                  **dict.fromkeys(WORKERS, "1.31.5")}
    changes = _diff(plans["1.12"], edited)
    assert {p: (c["before"], c["after"]) for p, c in changes.items()} == {
        f"nodes.{w}.kubernetes_version": ("1.31.4", "1.31.5") for w in WORKERS
    }


def test_worker_host_settings_that_disagree_with_the_control_plane_are_kept(plans, tmp_path):
    def edit(root):
        root["machine"]["kernel"]["modules"] = [{"name": "ip_vs"}]
        root["machine"]["kubelet"]["extraArgs"] = {"node-status-max-images": "10"}

    edited = _edited_worker(plans["1.12"], tmp_path / "edited", edit)
    spec = read_plan(edited).spec
    w1 = spec.node("w1")
    assert w1.overrides["host.kernel_modules"] == ["ip_vs"]
    assert w1.overrides["kubelet.extra_args"] == {"node-status-max-images": "10"}
    assert "ip_vs_rr" in spec.host.kernel_modules, "the cluster's value stays the control planes'"
    changes = _diff(plans["1.12"], edited)
    modules = changes["nodes.w1.overrides[host.kernel_modules]"]
    assert set(modules["before"]) > {"ip_vs"} and modules["after"] == ["ip_vs"]


def test_every_accepted_issuer_is_read(plans):
    cp = read_plan(plans["1.13"]).spec.control_plane
    root = next(yaml.safe_load_all((plans["1.13"] / "controlplane.yaml").read_text()))
    assert cp.accepted_issuers == tuple(root["cluster"]["apiServer"]["extraArgs"]["service-account-issuer"])
    assert cp.accepted_issuers[0] == cp.service_account_issuer and len(cp.accepted_issuers) == 2
    assert read_plan(plans["1.12"]).spec.control_plane.accepted_issuers == (cp.service_account_issuer,)
    changes = _diff(plans["1.12"], plans["1.13"])
    assert "control_plane.accepted_issuers" in changes
