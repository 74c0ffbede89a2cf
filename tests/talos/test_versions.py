"""Talos version contracts: picking a version for a cluster, and the per-version facts against the schemas."""

from __future__ import annotations

import json

import pytest

from migrate.errors import UserError
from migrate.talos.validate import SCHEMA_KIND_ALIASES
from migrate.talos.versions import all_versions, choose
from tests.conftest import shared_path


@pytest.mark.parametrize("kubernetes, expected", [
    ("1.31.4", "1.13"), ("1.30.4", "1.12"), ("v1.29.5", "1.11"), ("1.26.0", "1.8"), ("1.36.1", "1.14"), ("1.37.0", "1.14"),
])
def test_auto_picks_the_newest_talos_that_runs_the_cluster(kubernetes, expected):
    assert choose("auto", kubernetes).minor == expected


def test_explicit_version_outside_the_range_is_refused_with_the_range():
    with pytest.raises(UserError) as caught:
        choose("1.13", "1.30.4")
    assert "1.31–1.36" in str(caught.value) and "1.30.4" in str(caught.value)


@pytest.mark.parametrize("requested", ["1.7", "2.0", "latest"])
def test_unknown_versions_are_refused(requested):
    with pytest.raises(UserError):
        choose(requested, "1.31.0")


def test_a_cluster_too_old_for_any_talos_is_refused():
    with pytest.raises(UserError) as caught:
        choose("auto", "1.22.5")
    assert "1.26" in str(caught.value)


def test_ranges_are_contiguous_and_advance_one_minor_per_release():
    versions = all_versions()
    for older, newer in zip(versions, versions[1:], strict=False):
        assert newer.key[1] == older.key[1] + 1
        assert int(newer.kubernetes_min.split(".")[1]) == int(older.kubernetes_min.split(".")[1]) + 1


@pytest.mark.parametrize("talos", all_versions(), ids=lambda v: v.minor)
def test_version_facts_agree_with_the_published_schema(talos):
    schema = json.loads(shared_path("talos", "schemas", f"v{talos.release}", "config.schema.json").read_text())
    defs = schema["$defs"]
    kinds = {d["properties"]["kind"]["enum"][0] for d in defs.values() if d.get("properties", {}).get("kind", {}).get("enum")}
    assert {SCHEMA_KIND_ALIASES.get(k, k) for k in talos.documents} <= kinds
    section = "k8s.KubeAPIServerConfigV1Alpha1" if talos.kubernetes_documents else "v1alpha1.APIServerConfig"
    extra_args = defs[section]["properties"]["extraArgs"]
    accepts_lists = "array" in json.dumps(extra_args.get("additionalProperties", {}))
    assert accepts_lists == talos.extra_args_lists
    machine = defs["v1alpha1.MachineConfig"]["properties"]
    # a kind listed here replaced a v1alpha1 field that this version's schema no longer offers, or offers as deprecated
    assert ("time" in machine) == (not talos.has("TimeSyncConfig"))
    assert ("env" in machine) == (not talos.has("EnvironmentConfig"))


@pytest.mark.parametrize("kubernetes, talos, says", [
    ("1.31.4", "1.14", ["--talos-version 1.13 runs Kubernetes 1.31.4", "one minor a step", ": Kubernetes 1.32;"]),
    ("1.25.0", "1.14", ["no supported Talos runs it today", "Kubernetes 1.26 → Kubernetes 1.27 → Kubernetes 1.28",
                        "Kubernetes 1.31 → Kubernetes 1.32;"]),
    ("1.37.1", "1.12", ["--talos-version 1.14 runs Kubernetes 1.37.1", "cannot be downgraded"]),
])
def test_a_target_outside_the_range_names_the_way_out(kubernetes, talos, says):
    with pytest.raises(UserError) as caught:
        choose(talos, kubernetes)
    assert all(s in caught.value.hint for s in says), caught.value.hint


def test_the_newest_talos_is_the_auto_target_and_splits_kubernetes_settings():
    newest = all_versions()[-1]
    assert newest.minor == "1.14" and newest.kubernetes_documents and choose("auto", "1.33.5") == newest
