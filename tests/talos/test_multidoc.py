"""Talos 1.14's form (Kube*Config documents): what we write moves every setting out of v1alpha1, and reading either
form gives one spec — checked on Talos's own gen-config output and on our plans of one cluster for 1.13 and 1.14."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from deepdiff import DeepDiff

from migrate.spec import to_dict
from migrate.talos import multidoc
from migrate.talos.read import read_documents
from tests.conftest import REPO, shared_path

GEN = ("talos", "gen-config-reference")


@pytest.mark.parametrize("kind", ["base-controlplane", "base-worker", "overrides-controlplane"])
def test_talos_own_1_13_and_1_14_configs_read_the_same(kind):
    old = to_dict(read_documents(shared_path(*GEN, "v1.13", f"{kind}.yaml").read_text()))
    new = to_dict(read_documents(shared_path(*GEN, "v1.14", f"{kind}.yaml").read_text()))
    changes = DeepDiff(old, new).to_dict()
    if kind.startswith("overrides"):
        # upstream's stability test patches the 1.14 overrides with a KubeletConfig setting clusterDNS 3.3.3.3
        assert changes == {"values_changed": {"root['network']['cluster_dns'][0]": {
            "new_value": "3.3.3.3", "old_value": "10.96.0.10"}}}
    else:
        assert changes == {}


def test_split_then_fold_gives_back_the_v1alpha1_form():
    docs = list(multidoc.fold(_gen("v1.14", "base-controlplane")))
    assert _same_spec(multidoc.split(docs), docs)


def test_a_written_1_14_config_keeps_in_v1alpha1_only_what_the_1_14_schema_documents():
    schema = json.loads(shared_path("talos", "schemas", "v1.14.0-rc.1", "config.schema.json").read_text())
    defs = schema["$defs"]
    root = multidoc.split(multidoc.fold(_gen("v1.13", "base-controlplane")))[0]
    assert set(root["cluster"]) <= set(defs["v1alpha1.ClusterConfig"]["properties"])
    assert set(root["machine"]) <= set(defs["v1alpha1.MachineConfig"]["properties"])
    assert "kubelet" not in root["machine"] and "apiServer" not in root["cluster"]


def test_a_field_1_14_cannot_hold_stays_where_validation_sees_it():
    """kubelet extraMounts are "removed in multi-doc config": never dropped silently, the schema check names it."""
    root = multidoc.split(multidoc.fold(_gen("v1.13", "overrides-controlplane")))[0]
    assert root["machine"]["kubelet"] == {"extraMounts": [{"destination": "/var/opt", "type": "bind",
                                                            "source": "/var/opt", "options": ["rshared"]}]}


@pytest.mark.parametrize("inventory", ["ha-external-lb", "dual-stack"])
def test_a_1_13_plan_and_a_1_14_plan_of_one_cluster_differ_in_nothing(inventory, tmp_path):
    """The move between documents is not a change for the cluster: `diff` of the two plans is empty (exit 0)."""
    inv = REPO / "playbook_fixtures" / "inventories" / inventory
    plans = {}
    for minor in ("1.13", "1.14"):
        plans[minor] = tmp_path / minor
        args = ["plan", str(inv), "--out", str(plans[minor]), "--talos-version", minor]
        if minor == "1.14":
            args += ["--secrets", str(plans["1.13"] / "secrets.yaml")]
        run = _cli(*args)
        assert run.returncode in (0, 1), run.stderr  # 1: written with blockers (no --pki)
        assert "invalid output" not in run.stderr
    assert "KubeAPIServerConfig" in (plans["1.14"] / "controlplane.yaml").read_text()
    diff = _cli("diff", str(plans["1.13"]), str(plans["1.14"]), "--output", "json")
    assert diff.returncode == 0, diff.stdout + diff.stderr


def _gen(version: str, kind: str) -> list[dict]:
    from migrate.talos.merge import load_documents

    return load_documents(shared_path(*GEN, version, f"{kind}.yaml").read_text())


def _same_spec(a: list[dict], b: list[dict]) -> bool:
    from migrate.talos.read import MachineConfig, read_config

    specs = [to_dict(read_config(MachineConfig(tuple(d)), [MachineConfig(tuple(d))])) for d in (a, b)]
    return specs[0] == specs[1]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrate", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=False)

