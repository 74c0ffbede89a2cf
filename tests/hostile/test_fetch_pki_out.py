"""Defects 4 and 12 (fetch-pki): --out is data, never a template; --force keeps what it replaces; SIGINT cleans up."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from playbook_fixtures.pki import generate as fake
from tests.conftest import FIXTURES, INVENTORIES
from tests.hostile.conftest import assert_clean_failure, k2t

DEMO_PKI = FIXTURES / "pki" / "demo"


def _cluster(tmp_path: Path) -> Path:
    node = fake.node_filesystem(DEMO_PKI, tmp_path / "node")
    return fake.local_node(shutil.copytree(INVENTORIES / "demo", tmp_path / "inventory"), "cp1", node)


def test_a_template_in_out_is_a_directory_name_and_force_keeps_the_old_directory(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    out = tmp_path / "pki-{{ lookup('pipe', 'touch ' ~ lookup('env', 'KS2T_HOSTILE_MARKER')) }}"
    env = {"KS2T_HOSTILE_MARKER": str(marker)}
    out.mkdir()
    (out / "notes.txt").write_text("the operator's notes, not a PKI\n")
    refused = k2t("fetch-pki", _cluster(tmp_path), "--out", out, env=env)
    assert_clean_failure(refused, "not a PKI", "notes.txt")
    run = k2t("fetch-pki", _cluster(tmp_path / "again"), "--out", out, "--force", env=env, timeout=120)
    assert run.code == 0, run.err
    assert not marker.exists(), "--out was rendered as Jinja and ran a command"
    assert (out / "ca.key").read_bytes() == (DEMO_PKI / "ca.key").read_bytes()
    previous = out.with_name(out.name + ".previous")
    assert (previous / "notes.txt").read_text() == "the operator's notes, not a PKI\n"
    assert oct(previous.stat().st_mode & 0o777) == "0o700"
    assert_clean_failure(k2t("fetch-pki", _cluster(tmp_path / "dollar"), "--out", tmp_path / "$HOME"), "'$'")


def test_extravars_reach_ansible_as_unsafe_data(tmp_path: Path) -> None:
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    from migrate.ansible import _write_unsafe_extravars

    marker = tmp_path / "ran"
    path = _write_unsafe_extravars(tmp_path, {"ks2t_out": f"x/{{{{ lookup('pipe', 'touch {marker}') }}}}",
                                              "nested": {"list": ["{{ 7 * 6 }}", 3, True]}})
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    data = DataLoader().load_from_file(path)
    rendered = Templar(loader=DataLoader(), variables=data).template(trust_as_template("{{ nested.list[0] }} {{ ks2t_out }}"))
    assert rendered == f"{{{{ 7 * 6 }}}} x/{{{{ lookup('pipe', 'touch {marker}') }}}}"
    assert not marker.exists()


def test_sigint_stops_the_playbook_exits_130_and_leaves_no_files(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "pki"
    proc = subprocess.Popen([sys.executable, "-m", "migrate", "fetch-pki", str(_cluster(tmp_path)), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmp)})
    deadline = time.monotonic() + 60
    while not list(tmp.glob("ks2t-ansible-*/artifacts")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    private = next(tmp.glob("ks2t-ansible-*"))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not list(tmp.iterdir()), "ansible-runner's private dir was left behind"
    assert not out.exists() and not list(tmp_path.glob(".pki*")), "a stage with CA keys was left behind"
    time.sleep(0.3)
    assert not _processes_mentioning(str(private)), "ansible-playbook outlived the command"


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and text in cmdline:
            found.append(cmdline)
    return found


def test_sigkill_leaves_no_playbook_running(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "pki"
    inventory = _cluster(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "migrate", "fetch-pki", str(inventory), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(tmp)})
    deadline = time.monotonic() + 60
    while not list(tmp.glob("ks2t-ansible-*/artifacts")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    private = next(tmp.glob("ks2t-ansible-*"))
    proc.kill()
    proc.communicate(timeout=30)
    time.sleep(0.5)  # the kernel kills the playbook at once; an orphan would run on for seconds
    assert not _processes_mentioning(str(private)), "ansible-playbook outlived a SIGKILLed kubespray2talos"
    # the stage it left (0700) is removed by the next run into --out: tests/hostile/test_output_dir.py
    assert all(oct(p.stat().st_mode & 0o777) == "0o700" for p in tmp_path.glob(".pki.stage-*"))
