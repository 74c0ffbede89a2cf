"""`kubespray2talos plan` as a user runs it: a real process, exit codes, what lands on disk and on screen."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, INVENTORIES

DEMO = str(INVENTORIES / "demo")
DEMO_PKI = str(FIXTURES / "pki" / "demo")
BLOCKED = 1  # written, but with blocker findings: without --pki the plan cannot join the cluster


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrate", "plan", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_help_teaches_with_an_example():
    result = run("--help")
    assert result.returncode == 0
    assert "kubespray2talos plan inventory/mycluster --pki pki/ --out plan/" in result.stdout
    assert "--talos-version" in result.stdout and "NOT joinable" in result.stdout


def test_table_summary_lists_counts_and_manual_items(tmp_path):
    result = run(DEMO, "--out", str(tmp_path / "plan"), "--pki", str(FIXTURES / "pki" / "demo"))
    assert result.returncode == 0, result.stderr
    assert "manual" in result.stdout and "kube-public/cluster-info" in result.stdout
    assert "NOT JOINABLE" not in result.stderr and "Talos 1.13 configs" in result.stdout


def test_json_summary_and_the_not_joinable_warning(tmp_path):
    result = run(DEMO, "--out", str(tmp_path / "plan"), "--talos-version", "1.11", "--output", "json")
    assert result.returncode == BLOCKED, result.stderr
    data = json.loads(result.stdout)
    assert data["talos"]["version"] == "1.11" and data["joinable"] is False
    assert sum(data["summary"][v] for v in ("kept", "changed", "dropped", "manual")) == (
        data["summary"]["settings"] + data["summary"]["derived"])
    assert "cluster identity" in data["manual"]
    assert "NOT JOINABLE" in result.stderr


def test_unsupported_talos_version_is_refused_with_the_range(tmp_path):
    out = tmp_path / "plan"
    result = run(str(INVENTORIES / "single-node"), "--out", str(out), "--talos-version", "1.13")
    assert result.returncode == 2
    assert "1.31–1.36" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_unknown_talos_version_is_a_usage_error(tmp_path):
    result = run(DEMO, "--out", str(tmp_path / "plan"), "--talos-version", "1.7")
    assert result.returncode == 2 and "1.7" in result.stderr


def test_a_cluster_no_talos_supports_is_refused(tmp_path):
    result = run(str(INVENTORIES / "legacy-ini-2.16"), "--out", str(tmp_path / "plan"))
    assert result.returncode == 2 and "Kubernetes 1.20.7" in result.stderr and "Traceback" not in result.stderr


def test_out_dir_with_other_secrets_is_refused_unless_forced(tmp_path):
    out = tmp_path / "plan"
    assert run(DEMO, "--out", str(out)).returncode == BLOCKED
    before = snapshot(out)
    refused = run(DEMO, "--out", str(out), "--pki", str(FIXTURES / "pki" / "demo"))
    assert refused.returncode == 2 and "different secrets bundle" in refused.stderr and "--force" in refused.stderr
    assert snapshot(out) == before
    forced = run(DEMO, "--out", str(out), "--pki", str(FIXTURES / "pki" / "demo"), "--force")
    assert forced.returncode == 0 and snapshot(out) != before
    previous = tmp_path / "plan.previous"
    assert snapshot(previous) == before and "plan.previous" in forced.stderr  # the old bundle survives, said so
    assert stat.S_IMODE(previous.stat().st_mode) == 0o700
    assert stat.S_IMODE((previous / "secrets.yaml").stat().st_mode) == 0o600


def test_rerun_gives_byte_identical_files(tmp_path):
    out = tmp_path / "plan"
    assert run(DEMO, "--out", str(out), "--pki", DEMO_PKI).returncode == 0
    first = snapshot(out)
    assert run(DEMO, "--out", str(out), "--pki", DEMO_PKI).returncode == 0
    assert snapshot(out) == first


def test_secrets_file_option_uses_that_bundle(tmp_path):
    assert run(DEMO, "--out", str(tmp_path / "a"), "--pki", DEMO_PKI).returncode == 0
    result = run(DEMO, "--out", str(tmp_path / "b"), "--secrets", str(tmp_path / "a" / "secrets.yaml"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a" / "controlplane.yaml").read_bytes() == (tmp_path / "b" / "controlplane.yaml").read_bytes()


def test_talosctl_validate_runs_when_installed_and_its_verdict_is_reported(tmp_path):
    """A stand-in talosctl on PATH: rejects worker configs, accepts the rest (records what it was asked)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    fake = bin_dir / "talosctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\ncase "$3" in *worker.yaml) '
                    'echo "1 error occurred: * install disk or diskSelector should be defined" >&2; exit 1;; esac\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    out = tmp_path / "plan"
    result = subprocess.run([sys.executable, "-m", "migrate", "plan", DEMO, "--out", str(out), "--pki", DEMO_PKI],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert "install disk or diskSelector" in result.stderr
    assert all(line.split()[:1] == ["validate"] and "--mode metal" in line for line in calls.read_text().splitlines())
    validation = json.loads((out / "report.json").read_text())["validation"]
    assert validation["talosctl"] == "failed" and any("worker.yaml" in p for p in validation["problems"])


def test_blockers_make_the_exit_status_1_after_writing_the_plan(tmp_path):
    """CI gates on it: localhost-proxy's endpoint is one node's IP (a blocker) even with a joinable bundle."""
    out = tmp_path / "plan"
    result = run(str(INVENTORIES / "localhost-proxy"), "--out", str(out), "--output", "json")
    assert result.returncode == BLOCKED, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["blockers"] > 0 and (out / "controlplane.yaml").is_file()
    assert "blocker" in result.stderr


def test_rerun_refuses_files_a_plan_does_not_write_and_names_them(tmp_path):
    out = tmp_path / "plan"
    assert run(DEMO, "--out", str(out), "--pki", DEMO_PKI).returncode == 0
    (out / "REVIEW-NOTES.md").write_text("signed off by the reviewer")
    before = snapshot(out)
    refused = run(DEMO, "--out", str(out), "--pki", DEMO_PKI)
    assert refused.returncode == 2 and "REVIEW-NOTES.md" in refused.stderr and "Traceback" not in refused.stderr
    assert snapshot(out) == before


def test_force_on_a_directory_that_is_not_a_plan_keeps_it_beside(tmp_path):
    out = tmp_path / "work"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "notes.txt").write_text("mine")
    refused = run(DEMO, "--out", str(out), "--pki", DEMO_PKI)
    assert refused.returncode == 2 and "sub/notes.txt" in refused.stderr
    assert run(DEMO, "--out", str(out), "--pki", DEMO_PKI, "--force").returncode == 0
    assert (tmp_path / "work.previous" / "sub" / "notes.txt").read_text() == "mine"
    assert (out / "report.md").is_file() and not (out / "sub").exists()
    assert run(DEMO, "--out", str(out), "--pki", DEMO_PKI, "--force").returncode == 0
    assert (tmp_path / "work.previous.1" / "report.md").is_file()  # an earlier backup is never overwritten
    assert (tmp_path / "work.previous" / "sub" / "notes.txt").read_text() == "mine"


def test_a_split_inventory_is_read_from_all_its_paths(tmp_path):
    split = INVENTORIES / "split-sources"
    out = tmp_path / "plan"
    result = run(str(split / "hosts"), str(split / "workers.yml"), "--out", str(out), "--output", "json")
    assert result.returncode in (0, BLOCKED), result.stderr
    nodes = {n["name"]: n["role"] for n in json.loads(result.stdout)["nodes"]}
    workers = {"sp-wk1", "sp-wk2", "sp-wk3", "sp-wk4"}  # only workers.yml names them
    assert {name for name, role in nodes.items() if role == "worker"} == workers
    assert {f"nodes/{name}.yaml" for name in nodes} <= set(snapshot(out))


def test_a_guessed_kubernetes_version_is_a_blocker_until_the_release_is_named(tmp_path):
    import re
    import shutil

    inv = tmp_path / "inv"
    shutil.copytree(INVENTORIES / "demo", inv)
    for f in inv.rglob("*.yml"):
        f.write_text(re.sub(r"(?m)^kube_version:.*$", "", f.read_text()))
    guessed = run(str(inv), "--pki", str(FIXTURES / "pki" / "demo"), "--out", str(tmp_path / "a"), "-o", "json")
    blockers = [f for f in json.loads(guessed.stdout)["findings"] if f["severity"] == "blocker"]
    assert guessed.returncode == 1 and [f["setting"] for f in blockers] == ["kube_version"]
    assert "--kubespray-version" in blockers[0]["reason"]
    # Talos 1.14 with the cluster's PKI: the carried EncryptionConfiguration moves into KubeEtcdEncryptionConfig
    assert "invalid output" not in guessed.stderr and "KubeEtcdEncryptionConfig" in (tmp_path / "a" / "controlplane.yaml").read_text()
    named = run(str(inv), "--pki", str(FIXTURES / "pki" / "demo"), "--out", str(tmp_path / "b"),
                "--kubespray-version", "2.28.0", "-o", "json")
    report = json.loads(named.stdout)
    assert named.returncode == 0 and report["kubernetes_version"] == "1.32.5"  # 2.28.0's default, not 2.28.1's


def test_a_plan_never_holds_a_document_its_validation_rejects_silently(tmp_path):
    """Talos 1.8 has no machine.network.searchDomains: the domains become a manual finding, not a schema error;
    and any document validation does reject is a blocker finding, counted in the exit status."""
    import shutil

    inv = tmp_path / "inv"
    shutil.copytree(INVENTORIES / "demo", inv)
    with (inv / "group_vars" / "all" / "all.yml").open("a") as fh:
        fh.write("\nsearchdomains: [corp.example]\n")
    old = run(str(inv), "--out", str(tmp_path / "p18"), "--talos-version", "1.8", "-o", "json")
    findings = {f["setting"]: f for f in json.loads(old.stdout)["findings"]}
    assert "invalid output" not in old.stderr and findings["host search domains"]["verdict"] == "manual"
    new = run(str(inv), "--out", str(tmp_path / "p19"), "--talos-version", "1.9", "-o", "json")
    assert "host search domains" not in {f["setting"] for f in json.loads(new.stdout)["findings"]}
    assert "corp.example" in (tmp_path / "p19" / "controlplane.yaml").read_text()
