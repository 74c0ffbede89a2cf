"""`kubespray2talos twin serve` as a user runs it: a kubeconfig appears, kubectl works, SIGTERM ends it cleanly."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CLUSTERS

BIN = Path(sys.executable).parent


def test_serve_writes_a_kubeconfig_and_stops_on_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "twin.kubeconfig"
    proc = subprocess.Popen([str(BIN / "kubespray2talos"), "twin", "serve", str(CLUSTERS / "demo.json"), "--kubeconfig", str(kubeconfig),
                             "--output", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not kubeconfig.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert kubeconfig.stat().st_mode & 0o777 == 0o600
        kubectl = shutil.which("kubectl", path=str(BIN))
        if kubectl:
            out = subprocess.run([kubectl, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"), "get", "nodes"],
                                 capture_output=True, text=True, timeout=30)
            assert out.returncode == 0 and [line.split()[0] for line in out.stdout.splitlines()[1:]] == ["cp1", "cp2", "cp3", "w1", "w2", "w3"]
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert not kubeconfig.exists()  # it pointed at a port nothing listens on any more
    info = json.loads(stdout)
    assert info["url"].startswith("http://127.0.0.1:") and info["version"] == "v1.31.4"
    assert "Traceback" not in stderr


def test_serve_rejects_a_file_that_is_not_a_snapshot(tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text("[]")
    out = subprocess.run([str(BIN / "kubespray2talos"), "twin", "serve", str(bogus), "--kubeconfig", str(tmp_path / "kc")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "not a cluster snapshot" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "kc").exists()


def test_serve_refuses_a_kubeconfig_in_a_missing_directory_and_can_keep_it(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistentdir" / "q.kc"
    out = subprocess.run([str(BIN / "kubespray2talos"), "twin", "serve", str(CLUSTERS / "demo.json"), "--kubeconfig", str(missing)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "directory does not exist" in out.stderr and "Traceback" not in out.stderr
    assert not missing.parent.exists()

    kept = tmp_path / "kept.kc"
    proc = subprocess.Popen([str(BIN / "kubespray2talos"), "twin", "serve", str(CLUSTERS / "demo.json"), "--kubeconfig", str(kept),
                             "--keep-kubeconfig"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not kept.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert kept.exists()


@pytest.mark.parametrize("args", [["twin", "--help"], ["twin", "serve", "--help"], ["snapshot", "--help"]])
def test_help_teaches_with_an_example(args: list[str]) -> None:
    out = subprocess.run([str(BIN / "kubespray2talos"), *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "Example" in out.stdout or "Rehearse" in out.stdout
    assert f"kubespray2talos {args[0]}" in out.stdout  # the example is a command line to copy
