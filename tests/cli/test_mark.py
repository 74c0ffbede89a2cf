"""`mark`: steps done by hand become events like any other; refusals are exit 2 and change nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from migrate.ledger import HostState, Ledger, default_path
from tests.conftest import REPO
from tests.ledger.plans import demo_plan_fixtures, k2t

template, plan = demo_plan_fixtures()

def test_help_teaches_with_examples():
    result = k2t("mark", "--help")
    assert result.returncode == 0 and "Examples:" in result.stdout and "--finding" in result.stdout


def test_a_host_retired_by_hand_is_an_event_with_actor_and_note(plan):
    result = k2t("mark", plan, "w3", "retired", "--note", "powered off in the DC, OPS-1234", "-o", "json")
    assert result.returncode == 0, result.stderr
    with Ledger.open(default_path(plan)) as ledger:
        host = ledger.host("w3")
        event = ledger.events("w3")[-1]
    assert host.state is HostState.RETIRED and host.note == "powered off in the DC, OPS-1234"
    assert (event.before, event.after, event.step, event.note) == (HostState.ACTIVE, HostState.RETIRED, "mark",
                                                                   "powered off in the DC, OPS-1234")
    assert "@" in event.actor and event.run_id.startswith("mark-")


def test_an_illegal_move_is_refused_naming_the_legal_ones_and_records_nothing(plan):
    before = default_path(plan).read_bytes()
    result = k2t("mark", plan, "cp1", "decommissioned", "--note", "too early")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "active to decommissioned" in result.stderr and "replacement-ready" in result.stderr
    with Ledger.open(default_path(plan)) as ledger:
        assert ledger.host("cp1").state is HostState.ACTIVE and len(ledger.events()) == 6
    assert default_path(plan).read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (("w9", "retired"), "unknown host 'w9'"),
    (("w1", "gone"), "unknown host state 'gone'"),
    (("w1",), "give HOST and STATE"),
    (("--finding", "no-such-setting", "done"), "no manual finding 'no-such-setting'"),
    (("--finding", "etcd_version", "finished"), "say `done`"),
])
def test_bad_input_is_one_clear_message_and_exit_2(plan, args, message):
    result = k2t("mark", plan, *args, "--note", "n")
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_a_note_is_required(plan):
    result = k2t("mark", plan, "w3", "retired")
    assert result.returncode == 2 and "--note" in result.stderr


def test_a_manual_finding_marked_done_leaves_the_open_items(plan):
    assert k2t("mark", plan, "--finding", "etcd_version", "done", "--note", "etcd 3.5.26 everywhere").returncode == 0
    report = k2t("report", plan, "--output", "json")
    import json

    items = json.loads(report.stdout)["clusters"][0]["open_items"]
    open_settings = {i["subject"] for i in items if i["kind"] == "manual-finding"}
    assert "etcd_version" not in open_settings and "etcd_deployment_type" in open_settings
    with Ledger.open(default_path(plan)) as ledger:
        event = ledger.events()[-1]
    assert event.host == "" and event.evidence == {"setting": "etcd_version", "status": "done"}


def test_a_second_writer_is_told_who_holds_the_ledger(plan):
    hold = textwrap.dedent("""
        import sys
        from pathlib import Path
        from migrate.ledger import HostState, Ledger
        with Ledger.open(Path(sys.argv[1])) as ledger, ledger.batch(run_id="migrate-42"):
            ledger.transition("cp1", HostState.REPLACEMENT_READY, run_id="migrate-42", step="join")
            print("holding", flush=True)
            sys.stdin.readline()
    """)
    holder = subprocess.Popen([sys.executable, "-c", hold, str(default_path(plan))], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "holding"
        result = k2t("mark", plan, "w3", "retired", "--note", "n", "--wait", "0.5")
    finally:
        holder.communicate("go\n", timeout=30)
    assert result.returncode == 2 and "another writer holds the ledger" in result.stderr
    assert f"pid {holder.pid}" in result.stderr and "migrate-42" in result.stderr
    with Ledger.open(default_path(plan)) as ledger:  # the holder's change landed, ours did not: nothing lost
        assert ledger.host("cp1").state is HostState.REPLACEMENT_READY and ledger.host("w3").state is HostState.ACTIVE
