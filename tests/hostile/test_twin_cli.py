"""Defects 3 and 13 (twin): never overwrite or delete a file the twin did not write; bad ports are bad input."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CLUSTERS
from tests.hostile.conftest import assert_clean_failure, k2t

SNAPSHOT = CLUSTERS / "demo.json"


def test_an_existing_kubeconfig_is_neither_overwritten_nor_deleted(tmp_path: Path) -> None:
    mine = tmp_path / "config"
    mine.write_text("apiVersion: v1\nkind: Config\n# the user's real kubeconfig\n")
    run = k2t("twin", "serve", SNAPSHOT, "--kubeconfig", mine)
    assert_clean_failure(run, "already exists", str(mine))
    assert mine.read_text().endswith("# the user's real kubeconfig\n")


def test_a_kubeconfig_replaced_while_serving_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "twin.kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "migrate", "twin", "serve", str(SNAPSHOT), "--kubeconfig", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert path.exists(), proc.stderr.read() if proc.poll() is not None else "no kubeconfig in 30 s"
        replacement = tmp_path / "other"
        replacement.write_text("the user's file now\n")
        replacement.replace(path)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert path.read_text() == "the user's file now\n"


def test_a_busy_port_is_one_message(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = k2t("twin", "serve", SNAPSHOT, "--kubeconfig", tmp_path / "k", "--port", str(port))
    assert_clean_failure(run, f"127.0.0.1:{port}", "--port")
    assert not (tmp_path / "k").exists()


@pytest.mark.parametrize("port, needle", [("80", "privileged"), ("70000", "65535"), ("-1", "--port")])
def test_ports_out_of_range_or_privileged_are_bad_input(tmp_path: Path, port: str, needle: str) -> None:
    run = k2t("twin", "serve", SNAPSHOT, "--kubeconfig", tmp_path / "k", "--port", port)
    assert run.code == 2 and needle in run.err and "Traceback" not in run.err, run.err
