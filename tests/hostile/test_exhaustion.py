"""Defect 7: inputs built to exhaust memory, stack or time end in one message naming the limit, quickly."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import CLUSTERS, FIXTURES
from tests.hostile.conftest import HOSTILE, assert_clean_failure, inventory, k2t, k2t_here

BOMB = HOSTILE / "alias-bomb" / "bomb.yml"


def timed(*args: str | Path, **kwargs: object) -> tuple[object, float]:
    started = time.monotonic()
    run = k2t(*args, **kwargs)  # type: ignore[arg-type]
    return run, time.monotonic() - started


def test_an_alias_bomb_in_a_symlinked_group_vars_directory(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(BOMB, outside / "bomb.yml")
    inv = inventory(tmp_path)
    (inv / "group_vars" / "k8s_cluster").symlink_to(outside, target_is_directory=True)
    run, took = timed("inspect", inv)
    assert_clean_failure(run, "alias bomb", "bomb.yml")
    assert took < 20


def test_an_alias_bomb_in_a_plan_directory_read_by_diff(tmp_path: Path) -> None:
    plan = tmp_path / "plan"
    plan.mkdir()
    (plan / "controlplane.yaml").write_text("version: v1alpha1\n" + BOMB.read_text())
    (plan / "worker.yaml").write_text("version: v1alpha1\n")
    run, took = timed("diff", HOSTILE / "base", plan)
    assert_clean_failure(run, "alias bomb", "controlplane.yaml")
    assert took < 20


DEEP = {
    "flow": "deep:\n" + "[\n" * 50_000 + "]\n" * 50_000,
    "block": "deep:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 3000)) + " " * 3000 + "x: 1\n",
    "dashes": "deep:\n" + "- " * 30_000 + "x\n",
}


def test_an_alias_bomb_in_a_kubespray_dir(tmp_path: Path) -> None:
    defaults = tmp_path / "kubespray" / "roles" / "kubespray_defaults" / "defaults" / "main"
    defaults.mkdir(parents=True)
    shutil.copy(BOMB, defaults / "main.yml")
    run, took = timed("inspect", HOSTILE / "base", "--kubespray-dir", tmp_path / "kubespray")
    assert_clean_failure(run, "alias bomb", "main.yml")
    assert took < 20


@pytest.mark.parametrize("where", ["group_vars/all/deep.yml", "hosts.yaml"])
@pytest.mark.parametrize("shape", sorted(DEEP))
def test_deeply_nested_yaml_is_refused_not_crashed(tmp_path: Path, where: str, shape: str) -> None:
    inv = inventory(tmp_path)
    deep = DEEP[shape]
    target = inv / where
    target.write_text((target.read_text() if target.exists() else "") + deep)
    run = k2t("inspect", inv)
    assert_clean_failure(run, "nested more than")


def test_deeply_nested_json_snapshot_is_refused(tmp_path: Path) -> None:
    snap = tmp_path / "deep.json"
    snap.write_text('{"kind": "ClusterSnapshot", "objects": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}")  # one line
    assert_clean_failure(k2t("twin", "serve", snap, "--kubeconfig", tmp_path / "k"), "nested more than")


def test_a_4mb_single_line_hosts_file_is_refused_at_once(tmp_path: Path) -> None:
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "hosts").write_text("[all]\n" + "a" * (4 * 1024 * 1024) + "\n")
    run, took = timed("inspect", inv / "hosts")
    assert_clean_failure(run, "line 2", "characters long")
    assert took < 15


def test_a_fifo_as_a_pki_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    pki = Path(shutil.copytree(FIXTURES / "pki" / "demo", tmp_path / "pki"))
    (pki / "ca.crt").unlink()
    os.mkfifo(pki / "ca.crt")
    run, took = timed("plan", HOSTILE / "base", "--pki", pki, "--out", tmp_path / "plan", timeout=30)
    assert_clean_failure(run, "not a regular file", "ca.crt")
    assert not (tmp_path / "plan").exists()


def test_a_fifo_as_a_snapshot_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "cluster.json")
    assert_clean_failure(k2t("twin", "serve", tmp_path / "cluster.json", "--kubeconfig", tmp_path / "k", timeout=30),
                         "not a regular file")
    assert CLUSTERS.is_dir()


@pytest.mark.parametrize("name", ["worker.yaml", "nodes/cp1.yaml", "secrets.yaml"])
def test_a_plan_directory_cannot_make_diff_read_the_operators_files(tmp_path: Path, name: str) -> None:
    plan = tmp_path / "plan"
    code = k2t_here("plan", HOSTILE / "base", "--out", plan).code
    assert code in (0, 1)
    private = tmp_path / "home" / ".kube" / "config"
    private.parent.mkdir(parents=True)
    private.write_text("version: v1alpha1\nmachine:\n  token: OperatorsOwnS3cretKS2T\n")
    (plan / name).unlink()
    (plan / name).symlink_to(private)
    run = k2t_here("diff", HOSTILE / "base", plan)
    assert_clean_failure(run, "outside the directory being read", name)
    assert "OperatorsOwnS3cretKS2T" not in run.both
