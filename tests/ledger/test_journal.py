"""The step journal the migration engine resumes from: intent before acting, outcome after."""

from __future__ import annotations

import pytest

from migrate.clock import VirtualClock
from migrate.ledger import Ledger, LedgerError


def test_a_step_without_an_outcome_is_what_a_crash_leaves_and_last_step_says_so(tmp_path):
    clock = VirtualClock()
    path = tmp_path / "ledger.db"
    with Ledger.create(path, "p1", [("cp1", "controlplane")], clock=clock) as ledger:
        done = ledger.begin_step("cp1", "cordon", run_id="r1", intent={"node": "cp1"})
        clock.advance(5)
        ledger.finish_step(done, "ok", {"unschedulable": True})
        ledger.begin_step("cp1", "drain", run_id="r1", intent={"grace": 30})
    with Ledger.open(path, "p1") as ledger:  # the "crash": a new process asks what happened last
        last = ledger.last_step("cp1")
        assert last is not None and (last.step, last.outcome, last.finished_at) == ("drain", None, None)
        assert last.intent == {"grace": 30}
        assert [s.outcome for s in ledger.steps("cp1")] == ["ok", None]
        first = ledger.steps()[0]
        assert first.finished_at == first.started_at + 5 and first.evidence == {"unschedulable": True}


def test_finish_step_is_idempotent_for_the_same_outcome_and_refuses_a_different_one(tmp_path):
    with Ledger.create(tmp_path / "ledger.db", "p1", [("w1", "worker")]) as ledger:
        step = ledger.begin_step("w1", "remove", run_id="r")
        ledger.finish_step(step, "failed", {"error": "etcd member busy"})
        ledger.finish_step(step, "failed")
        with pytest.raises(LedgerError, match="already finished"):
            ledger.finish_step(step, "ok")
        with pytest.raises(LedgerError, match="'ok' or 'failed'"):
            ledger.finish_step(step, "maybe")
        with pytest.raises(LedgerError, match="no step 99"):
            ledger.finish_step(99, "ok")
        assert ledger.last_step("w1").evidence == {"error": "etcd member busy"}
        assert ledger.last_step("nobody") is None


def test_evidence_never_stores_a_secret(tmp_path):
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEsecretbytes\n-----END RSA PRIVATE KEY-----"
    with Ledger.create(tmp_path / "ledger.db", "p1", [("w1", "worker")]) as ledger:
        ledger.begin_step("w1", "join", run_id="r", intent={"bootstrap_token": "abcdef.0123456789abcdef"})
        from migrate.ledger import HostState
        ledger.transition("w1", HostState.REPLACEMENT_READY, run_id="r", step="join",
                          evidence={"playbook": {"stdout": pem, "encryption_key": "c2VjcmV0a2V5"}, "pods": 2})
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (b"abcdef.0123456789abcdef", b"MIIEsecretbytes", b"c2VjcmV0a2V5"):
        assert secret not in raw
    assert b'"pods":2' in raw


def test_events_are_append_only_even_for_raw_sql(tmp_path):
    import sqlite3

    Ledger.create(tmp_path / "ledger.db", "p1", [("w1", "worker")]).close()
    conn = sqlite3.connect(tmp_path / "ledger.db")
    for sql in ("UPDATE events SET actor = 'someone-else'", "DELETE FROM events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    conn.close()


def test_latest_events_and_counts_agree_with_the_full_history(tmp_path):
    from migrate.ledger import HostState

    clock = VirtualClock()
    with Ledger.create(tmp_path / "ledger.db", "p1", [("cp1", "controlplane"), ("w1", "worker"), ("w2", "worker")],
                       clock=clock) as ledger:
        for i in range(7):
            clock.advance(10)
            ledger.transition("w1", HostState.FAILED if i % 2 == 0 else HostState.ACTIVE, run_id="r", step=str(i),
                              evidence={"i": i})
        ledger.transition("w2", HostState.RETIRED, run_id="r", step="mark")
        ledger.mark_finding("etcd_version", "done", run_id="m")
        full = ledger.events()
        latest = ledger.events(latest=2, evidence=False)
        counts = ledger.event_counts()
    for host in ("cp1", "w1", "w2", ""):
        mine = [e for e in full if e.host == host]
        assert [e.id for e in latest if e.host == host] == [e.id for e in mine[-2:]]
        assert counts[host] == (len(mine), mine[0].at)
    assert all(e.evidence == {} for e in latest) and full[-3].evidence == {"i": 6}


def test_a_plan_wide_record_keeps_intent_then_outcome_without_secrets(tmp_path):
    clock = VirtualClock(100.0)
    with Ledger.create(tmp_path / "ledger.db", "p1", [("w1", "worker")], clock=clock) as ledger:
        intent = ledger.record("prepare Secret kube-system/bootstrap-token-ab12cd", run_id="r", outcome="intent",
                               evidence={"diff": "+token: ab12cd.q7x2m9k4p1v8c3n6"})
        clock.advance(2.0)
        done = ledger.record("prepare Secret kube-system/bootstrap-token-ab12cd", run_id="r")
        events = [e for e in ledger.events() if e.step.startswith("prepare ")]
    assert [(e.host, e.outcome, e.at) for e in events] == [("", "intent", 100.0), ("", "ok", 102.0)]
    assert events[0].id == intent.id and events[1].id == done.id and events[0].before is None
    assert b"q7x2m9k4p1v8c3n6" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
