"""Defect 13: ordinary bad input (malformed kubeconfig, malformed snapshot objects) is exit 2 with a message,
never exit 70 ("internal error")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import HOSTILE, assert_clean_failure, k2t_here

MALFORMED = HOSTILE / "malformed"


@pytest.mark.parametrize("name", ["unclosed", "string", "wrong-shape"])
def test_a_malformed_kubeconfig_is_bad_input(tmp_path: Path, name: str) -> None:
    kubeconfig = MALFORMED / f"{name}.kubeconfig"
    run = k2t_here("snapshot", "--kubeconfig", kubeconfig, "-o", tmp_path / "s.json")
    assert_clean_failure(run, "kubeconfig", str(kubeconfig))
    assert not (tmp_path / "s.json").exists()


def test_diff_live_with_a_malformed_kubeconfig_is_bad_input() -> None:
    assert_clean_failure(k2t_here("diff", HOSTILE / "base", "--live", "--kubeconfig", MALFORMED / "wrong-shape.kubeconfig"),
                         "malformed kubeconfig")


@pytest.mark.parametrize("name, needle", [
    ("objects-not-objects", "objects.pods[0] is not an object"),
    ("spec-not-mapping", "objects.pods[0].spec is not a mapping"),
    ("name-not-string", "metadata.name is not a name"),
    ("containers-not-list", "cannot load"),
])
def test_a_malformed_snapshot_is_bad_input(tmp_path: Path, name: str, needle: str) -> None:
    run = k2t_here("twin", "serve", MALFORMED / f"{name}.json", "--kubeconfig", tmp_path / "k", timeout=30)
    assert_clean_failure(run, needle)
    assert not (tmp_path / "k").exists()
