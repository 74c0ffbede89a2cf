"""A ledger belongs to its plan directory: `plan` creates it with every host, a re-run keeps its history, and the
plan's fingerprint ignores what the ledger writes itself."""

from __future__ import annotations

import shutil

import pytest

from migrate.ledger import HostState, Ledger, LedgerError, default_path, plan_id
from migrate.ledger.plandir import enter_plan, kept_across_replan, transit_dir
from tests.conftest import INVENTORIES
from tests.ledger.plans import DEMO_HOSTS, DEMO_PKI, demo_plan_fixtures, k2t

template, plan = demo_plan_fixtures()


def test_plan_creates_the_ledger_with_every_host_active(template):
    with Ledger.open(default_path(template), plan_id(template)) as ledger:
        assert [(h.name, h.state) for h in ledger.hosts()] == [(n, HostState.ACTIVE) for n in DEMO_HOSTS]
        assert {h.role for h in ledger.hosts()} == {"controlplane", "worker"}


def test_the_fingerprint_ignores_the_ledger_and_follows_every_plan_document(template, tmp_path):
    plan = shutil.copytree(template, tmp_path / "plan")
    first = plan_id(plan)
    for name in ("ledger.db-wal", "ledger.db-shm", "ledger.db-holder"):
        (plan / name).write_bytes(b"x")
    with Ledger.open(default_path(plan), first) as ledger:
        ledger.transition("w1", HostState.RETIRED, run_id="r", step="mark")
    assert plan_id(plan) == first
    for document in ("nodes/w1.yaml", "controlplane.yaml", "report.json"):
        edited = shutil.copytree(template, tmp_path / document.replace("/", "-"))
        (edited / document).write_bytes((edited / document).read_bytes() + b"\n")
        assert plan_id(edited) != first, document
    assert plan_id(template) == first


def test_rerunning_plan_keeps_the_history_and_a_changed_plan_records_the_replan(template, tmp_path):
    plan = shutil.copytree(template, tmp_path / "plan")
    with Ledger.open(default_path(plan)) as ledger:
        ledger.transition("w3", HostState.RETIRED, run_id="r", step="mark", note="powered off")
    before = default_path(plan).read_bytes()
    again = k2t("plan", INVENTORIES / "demo", "--pki", DEMO_PKI, "--out", plan)
    assert again.returncode == 0, again.stderr
    assert default_path(plan).read_bytes() == before  # same plan: nothing to record
    changed = k2t("plan", INVENTORIES / "demo", "--pki", DEMO_PKI, "--out", plan, "--talos-version", "1.12")
    assert changed.returncode == 0, changed.stderr
    with Ledger.open(default_path(plan), plan_id(plan)) as ledger:
        assert ledger.host("w3").state is HostState.RETIRED
        replan = ledger.events()[-1]
    assert replan.step == "replan" and replan.evidence["to"] == plan_id(plan) != replan.evidence["from"]
    assert not transit_dir(plan).exists()


def test_a_plan_run_that_fails_puts_the_ledger_back(template, tmp_path):
    plan = shutil.copytree(template, tmp_path / "plan")
    before = default_path(plan).read_bytes()
    with pytest.raises(RuntimeError), kept_across_replan(plan):
        assert not default_path(plan).exists()
        raise RuntimeError("rendering failed")
    assert default_path(plan).read_bytes() == before and not transit_dir(plan).exists()


def test_an_interrupted_carry_is_named_not_overwritten(template, tmp_path):
    plan = shutil.copytree(template, tmp_path / "plan")
    transit_dir(plan).mkdir()
    with pytest.raises(LedgerError, match="stopped while it carried the ledger"), kept_across_replan(plan):
        pass


def test_a_plan_for_other_hosts_does_not_adopt_the_ledger(template, tmp_path):
    plan = shutil.copytree(template, tmp_path / "plan")
    before = default_path(plan).read_bytes()
    (plan / "nodes" / "w1.yaml").write_text("machine: {}\n")  # a different plan…
    with pytest.raises(LedgerError, match="tracks other hosts"):
        enter_plan(plan, [("db1", "worker"), ("db2", "worker")])  # …for hosts the ledger never saw
    assert default_path(plan).read_bytes() == before
    enter_plan(plan, [("cp1", "controlplane"), ("w9", "worker")])  # the same cluster, a host added: adopted
    with Ledger.open(default_path(plan), plan_id(plan)) as ledger:
        assert ledger.host("w9").state is HostState.ACTIVE and ledger.events()[-2].step == "replan"


def test_prepare_before_states_are_carried_across_a_replan_with_the_ledger(template, tmp_path):
    plan = shutil.copytree(template, tmp_path / "plan")
    (plan / "prepare-state.json").write_text('{"version": 1, "objects": []}\n')
    with kept_across_replan(plan):
        assert not (plan / "prepare-state.json").exists()  # the body may replace the directory as a whole
        shutil.rmtree(plan)
        plan.mkdir()
    assert (plan / "prepare-state.json").read_text() == '{"version": 1, "objects": []}\n'
