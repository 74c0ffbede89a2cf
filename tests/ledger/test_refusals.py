"""Files the ledger must refuse, each with one clear message: never a traceback, never a half-written change."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest

from migrate.ledger import HostState, Ledger, LedgerError
from migrate.ledger.schema import SCHEMA_VERSION

HOSTS = [(f"node{i:03}", "worker") for i in range(300)]  # enough rows for a file of many pages


def made(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    with Ledger.create(path, "plan-a", HOSTS) as ledger:
        ledger.transition("node001", HostState.RETIRED, run_id="r", step="by-hand", note="powered off")
    return path


def test_another_plans_ledger_is_refused_on_open_and_on_create(tmp_path):
    path = made(tmp_path)
    with pytest.raises(LedgerError, match="another plan"):
        Ledger.open(path, "plan-b")
    with pytest.raises(LedgerError, match="another plan"):
        Ledger.create(path, "plan-b", HOSTS)
    with Ledger.open(path, "plan-a") as ledger:
        assert ledger.host("node001").state is HostState.RETIRED


def test_create_again_keeps_history_and_adds_only_new_hosts(tmp_path):
    path = made(tmp_path)
    with Ledger.create(path, "plan-a", [*HOSTS, ("node999", "controlplane")]) as ledger:
        assert ledger.host("node001").state is HostState.RETIRED
        assert ledger.host("node999").role == "controlplane"
        assert [e.step for e in ledger.events("node999")] == ["register"]
        assert len(ledger.hosts()) == 301


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "ledger.db"
    path.write_bytes(b"this was a ledger before someone saved a text file over it\n" * 100)
    with pytest.raises(LedgerError, match="not an SQLite database"):
        Ledger.open(path)


def test_a_truncated_ledger_is_refused(tmp_path):
    path = made(tmp_path)
    size = path.stat().st_size
    assert size > 8 * 4096
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(LedgerError, match="truncated"):
        Ledger.open(path, "plan-a")


def test_a_damaged_page_is_reported_as_corruption(tmp_path):
    path = made(tmp_path)
    data = bytearray(path.read_bytes())
    data[4096 * 2:4096 * 6] = b"\xff" * (4096 * 4)  # b-tree pages overwritten; the header stays plausible
    path.write_bytes(bytes(data))
    with pytest.raises(LedgerError, match="corrupted"):
        with Ledger.open(path, "plan-a") as ledger:
            ledger.hosts()
            ledger.events()


def test_a_newer_schema_is_refused_naming_both_versions(tmp_path):
    path = made(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(LedgerError, match=f"schema version {SCHEMA_VERSION + 1}.*up to {SCHEMA_VERSION}"):
        Ledger.open(path)


def test_an_sqlite_file_of_another_tool_is_not_adopted(tmp_path):
    path = tmp_path / "ledger.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE inventory (x)")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="not a ledger"):
        Ledger.open(path)
    assert [r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")] == ["inventory"]


def test_a_missing_ledger_says_where_it_comes_from(tmp_path):
    with pytest.raises(LedgerError, match="no ledger here") as refused:
        Ledger.open(tmp_path / "ledger.db")
    assert "plan" in str(refused.value)


def _open_as_nobody(path: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    os.setgid(65534)
    os.setuid(65534)  # root ignores directory permissions; an unprivileged user does not
    try:
        Ledger.open(Path(path)).close()
        queue.put("opened")
    except LedgerError as exc:
        queue.put(str(exc))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become an unprivileged user")
def test_a_read_only_directory_is_refused_with_the_reason():
    base = Path(tempfile.mkdtemp(prefix="ledger-ro-"))  # pytest's own tmp root is 0700: nobody could not enter it
    plan = base / "plan"
    plan.mkdir()
    made(plan)
    for p in (base, plan):
        p.chmod(0o555)
    (plan / "ledger.db").chmod(0o644)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_open_as_nobody, args=(str(plan / "ledger.db"), queue))
    child.start()
    child.join(30)
    message = queue.get(timeout=5)
    plan.chmod(0o755)
    shutil.rmtree(base)
    assert "read-only" in message and str(plan) in message
