"""Defect 1: an inventory must never run a program while it is read (inspect, plan, diff)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import assert_clean_failure, inventory, k2t_here


@pytest.mark.parametrize("verb", ["inspect", "plan"])
def test_an_unused_variable_is_never_rendered(tmp_path: Path, verb: str) -> None:
    inv = inventory(tmp_path, "filter-exec")
    marker = tmp_path / "ran"
    extra = ["--out", str(tmp_path / "plan")] if verb == "plan" else ["-o", "json"]
    run = k2t_here(verb, inv, *extra, env={"KS2T_HOSTILE_MARKER": str(marker)})
    assert not marker.exists(), "the inventory ran h.sh"
    assert run.code in (0, 1), run.err
    assert "Traceback" not in run.err


def test_a_needed_value_through_an_impure_filter_is_refused_by_name(tmp_path: Path) -> None:
    inv = inventory(tmp_path, "filter-exec-used")
    marker = tmp_path / "ran"
    run = k2t_here("inspect", inv, env={"KS2T_HOSTILE_MARKER": str(marker)})
    assert not marker.exists(), "the inventory ran h.sh"
    assert_clean_failure(run, "cluster_name", "community.sops.decrypt", "group_vars/all/all.yml")


def test_diff_of_an_inventory_runs_nothing(tmp_path: Path) -> None:
    inv = inventory(tmp_path, "filter-exec-used")
    marker = tmp_path / "ran"
    run = k2t_here("diff", inv, inventory(tmp_path, "filter-exec"), env={"KS2T_HOSTILE_MARKER": str(marker)})
    assert not marker.exists(), "the inventory ran h.sh"
    assert_clean_failure(run, "community.sops.decrypt")


def test_an_exponential_expression_nobody_needs_costs_nothing(tmp_path: Path) -> None:
    # each level doubles the work: rendered, this takes minutes
    levels = {f"bomb{i}": f"{{{{ bomb{i + 1} ~ bomb{i + 1} }}}}" for i in range(40)}
    body = "kube_version: v1.31.4\nbomb40: x\n" + "".join(f"{k}: \"{v}\"\n" for k, v in levels.items())
    inv = inventory(tmp_path, None, **{"group_vars/all/all.yml": body})
    run = k2t_here("inspect", inv, "-o", "json", timeout=30)
    assert run.code == 0, run.err


def test_lookups_that_run_commands_stay_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    body = f"kube_version: v1.31.4\ncluster_name: \"{{{{ lookup('pipe', 'touch {marker}') }}}}\"\n"
    inv = inventory(tmp_path, None, **{"group_vars/all/all.yml": body})
    run = k2t_here("inspect", inv)
    assert not marker.exists()
    assert_clean_failure(run, "cluster_name", "pipe")


def test_a_file_lookup_reads_only_inside_the_inventory(tmp_path: Path) -> None:
    private = tmp_path / "home" / ".kube" / "config"
    private.parent.mkdir(parents=True)
    private.write_text("OperatorsKubeconfigKS2T\n")
    body = f"kube_version: v1.31.4\ncluster_name: \"{{{{ lookup('file', '{private}') }}}}\"\n"
    inv = inventory(tmp_path, None, **{"group_vars/all/all.yml": body, "files/name.txt": "inside\n"})
    run = k2t_here("inspect", inv, "-o", "json")
    assert_clean_failure(run, "cluster_name", "inside the inventory directory")
    assert "OperatorsKubeconfigKS2T" not in run.both
    body = "kube_version: v1.31.4\ncluster_name: \"{{ lookup('file', inventory_dir ~ '/files/name.txt') }}\"\n"
    (inv / "group_vars/all/all.yml").write_text(body)
    ok = k2t_here("inspect", inv, "-o", "json")
    assert ok.code == 0 and '"name": "inside"' in ok.out, ok.err
