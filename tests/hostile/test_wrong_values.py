"""Defects 2 and 10: host names and values that would write outside --out or go wrong into the configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import HOSTILE, assert_clean_failure, k2t_here


@pytest.mark.parametrize("case, needles", [
    ("host-traversal", ["'../../../x'", "not a valid Kubernetes node name"]),
    ("shared-ansible-host", ["w1 and w2", "203.0.113.7", "set ip"]),
    ("invalid-ip", ["ip of host w1", "10.0.20.321", "hosts.yaml:9"]),
    ("kube-version-shell", ["kube_version", "rm -rf", "all.yml:1"]),
    ("kube-version-float", ["kube_version", "1.31", "as a number"]),
])
def test_plan_refuses_the_value_and_writes_nothing(tmp_path: Path, case: str, needles: list[str]) -> None:
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    run = k2t_here("plan", HOSTILE / case, "--out", work / "plan", cwd=work)
    assert_clean_failure(run, *needles)
    assert not (work / "plan").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "c"], "a file was written"


def test_inspect_refuses_the_same_values(tmp_path: Path) -> None:
    assert_clean_failure(k2t_here("inspect", HOSTILE / "invalid-ip"), "10.0.20.321")
