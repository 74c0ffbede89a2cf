"""Real processes on a real file: two writers at once lose nothing; a writer killed mid-transaction leaves the last
committed state; a writer that holds the lock too long is named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from migrate.ledger import HostState, Ledger, LedgerError

HOSTS = [("cp1", "controlplane"), ("w1", "worker"), ("w2", "worker"), ("w3", "worker")]
ROUNDS = 40


def child(code: str, *args: str) -> subprocess.Popen[str]:
    script = "import sys\nfrom pathlib import Path\nfrom migrate.ledger import HostState, Ledger\n" + textwrap.dedent(code)
    return subprocess.Popen([sys.executable, "-c", script, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])


WRITER = """
    path, host, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    while not go.exists():
        pass
    with Ledger.open(path, "p1", busy_timeout=30) as ledger:
        for i in range(int(sys.argv[4])):
            step = ledger.begin_step("cp1", f"probe-{host}-{i}", run_id=host)
            ledger.transition(host, HostState.FAILED if i % 2 == 0 else HostState.ACTIVE, run_id=host, step=str(i))
            ledger.finish_step(step, "ok")
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path, go = tmp_path / "ledger.db", tmp_path / "go"
    Ledger.create(path, "p1", HOSTS).close()
    writers = [child(WRITER, str(path), host, str(go), str(ROUNDS)) for host in ("w1", "w2")]
    go.touch()
    for w in writers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    with Ledger.open(path, "p1") as ledger:
        for host in ("w1", "w2"):
            moves = [e for e in ledger.events(host) if e.step != "register"]
            assert [e.step for e in moves] == [str(i) for i in range(ROUNDS)]
            assert ledger.host(host).state is HostState.ACTIVE  # an even number of toggles
        probes = ledger.steps("cp1")
        assert len(probes) == 2 * ROUNDS and all(s.outcome == "ok" for s in probes)
        ids = [e.id for e in ledger.events()]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


HELD = """
    path = Path(sys.argv[1])
    with Ledger.open(path, "p1") as ledger:
        ledger.transition("w1", HostState.REPLACEMENT_READY, run_id="committed", step="join")
        with ledger.batch(run_id="doomed"):
            for host in ("w2", "w3", "cp1"):
                ledger.transition(host, HostState.RETIRED, run_id="doomed", step="by-hand")
            ledger.begin_step("w1", "cordon", run_id="doomed")
            print("inside", flush=True)
            sys.stdin.readline()  # holds the transaction (and the write lock) until killed
"""


def test_a_writer_killed_mid_transaction_leaves_the_last_committed_state(tmp_path):
    path = tmp_path / "ledger.db"
    Ledger.create(path, "p1", HOSTS).close()
    holder = child(HELD, str(path))
    assert holder.stdout is not None and holder.stdout.readline().strip() == "inside"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(30)
    with Ledger.open(path, "p1") as ledger:
        states = {h.name: h.state for h in ledger.hosts()}
        assert states == {"cp1": HostState.ACTIVE, "w1": HostState.REPLACEMENT_READY,
                          "w2": HostState.ACTIVE, "w3": HostState.ACTIVE}
        assert [e.run_id for e in ledger.events() if e.step != "register"] == ["committed"]
        assert ledger.steps() == []
        ledger.transition("w2", HostState.RETIRED, run_id="after", step="by-hand")  # and it is writable again


def test_a_second_writer_waits_a_bounded_time_then_names_the_holder(tmp_path):
    path = tmp_path / "ledger.db"
    Ledger.create(path, "p1", HOSTS).close()
    holder = child(HELD, str(path))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "inside"
        started = time.monotonic()
        with Ledger.open(path, "p1", busy_timeout=0.5) as ledger:
            assert ledger.host("w2").state is HostState.ACTIVE  # readers are never blocked (WAL)
            with pytest.raises(LedgerError) as busy:
                ledger.transition("w2", HostState.FAILED, run_id="mine", step="s")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(30)
    text = str(busy.value)
    assert f"pid {holder.pid}" in text and "run doomed" in text and "@" in text
    assert 0.4 < waited < 10
