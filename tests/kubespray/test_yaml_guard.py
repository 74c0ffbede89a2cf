"""migrate/kubespray/yaml_guard.py: an alias bomb is refused by name before Ansible expands it; real anchors pass."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.errors import UserError
from migrate.kubespray.yaml_guard import MAX_EXPANDED_NODES, check_expansion
from tests.conftest import BROKEN


def test_the_bundled_bomb_is_refused_quickly_naming_file_and_line() -> None:
    from migrate.kubespray import load_cluster

    started = time.monotonic()
    with pytest.raises(UserError, match="through YAML aliases") as info:
        load_cluster(BROKEN / "yaml-bomb")
    assert time.monotonic() - started < 30
    assert info.value.where and info.value.where.endswith("group_vars/k8s_cluster/k8s-cluster.yml:9")


def _nested(width: int, depth: int) -> tuple[str, list[int]]:
    """YAML whose level k is a list of `width` aliases to level k-1, and the node count each level expands to."""
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    sizes = [1 + width]
    for k in range(1, depth + 1):
        lines.append(f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * width)}]")
        sizes.append(1 + width * sizes[-1])
    return "\n".join(lines) + "\n", sizes


@settings(max_examples=40, deadline=None)
@given(width=st.integers(1, 12), depth=st.integers(1, 8))
def test_refused_exactly_when_the_expansion_passes_the_limit(tmp_path_factory: pytest.TempPathFactory, width: int,
                                                             depth: int) -> None:
    text, sizes = _nested(width, depth)
    path = tmp_path_factory.mktemp("yaml") / "vars.yml"
    path.write_text(text)
    over = [k for k, size in enumerate(sizes) if size > MAX_EXPANDED_NODES]
    if over:  # the first level past the limit is the one named
        with pytest.raises(UserError, match=f"l{over[0]} expands to more than"):
            check_expansion(path)
    else:
        check_expansion(path)  # an inventory's ordinary anchors are left to Ansible


def test_a_file_ansible_cannot_parse_is_left_to_ansible_to_report(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("a: &a [1\nb: *a\n")
    check_expansion(path)  # Ansible names the syntax error with its line; the guard does not guess
