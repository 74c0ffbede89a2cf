"""migrate/sides.py: what diff compares, read from real fixtures; what a person should know arrives as notices."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.errors import UserError
from migrate.sides import InventoryOptions, Notice, compare, plan_to_match, read_pair, read_side
from migrate.talos.plan import PlanRequest, plan_cluster
from tests.conftest import FIXTURES, INVENTORIES
from tests.talos.plan_fixtures import resolved


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sides") / "plan"
    plan_cluster(resolved("demo"), PlanRequest(inventory=INVENTORIES / "demo", out=out, pki=FIXTURES / "pki" / "demo"))
    return out


def test_a_plan_beside_its_inventory_is_matched_and_every_change_explained(demo_plan: Path) -> None:
    notices: list[Notice] = []
    before, after = read_pair(INVENTORIES / "demo", demo_plan, InventoryOptions(), notices.append)
    assert (before.kind, after.kind) == ("inventory", "plan")
    assert plan_to_match(before, after) is after
    changes = compare(before, after)
    assert changes and all(c.intended is True for c in changes)  # the plan report explains what it changed
    assert [n.level for n in notices] == ["warning"] and "Kubespray release inferred" in notices[0].text


def test_plan_first_still_carries_the_inventory_and_matches_the_report(demo_plan: Path) -> None:
    before, after = read_pair(demo_plan, INVENTORIES / "demo", InventoryOptions(), lambda n: None)
    assert (before.kind, after.kind) == ("plan", "inventory") and plan_to_match(before, after) is before
    forward = {c.path: c for c in compare(*read_pair(INVENTORIES / "demo", demo_plan, InventoryOptions(), lambda n: None))}
    backward = {c.path: c for c in compare(before, after)}
    both = forward.keys() & backward.keys()
    assert both and all((forward[p].before, forward[p].after) == (backward[p].after, backward[p].before) for p in both)
    assert all(c.intended is not None for c in backward.values())


def test_two_copies_of_one_plan_are_equal(demo_plan: Path) -> None:
    before, after = read_pair(demo_plan, demo_plan, InventoryOptions(), lambda n: None)
    assert plan_to_match(before, after) is None and compare(before, after) == []


def test_a_vaulted_secret_without_its_password_is_a_note_not_a_failure() -> None:
    notices: list[Notice] = []
    side = read_side(INVENTORIES / "vault-inline", InventoryOptions(), notices.append, carried=None)
    assert side.kind == "inventory"
    assert Notice("note", "kube_encrypt_token is vaulted and cannot be decrypted here: not compared") in notices


def test_a_directory_that_is_neither_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("not an inventory")
    with pytest.raises(UserError, match="neither a plan .* nor a Kubespray inventory .*hosts.yaml") as info:
        read_side(tmp_path, InventoryOptions(), lambda n: None, carried=None)
    assert info.value.where == str(tmp_path)
