"""`kubespray2talos inspect` as a user runs it: a real process, exit codes, stdout/stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrate.kubespray.releases import RELEASES
from tests.conftest import BROKEN, INVENTORIES


def run(*args: str, cwd: Path | None = None, columns: int = 200) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrate", "inspect", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env={**os.environ, "COLUMNS": str(columns)})


def test_json_output_is_the_spec_and_the_settings():
    result = run(str(INVENTORIES / "demo"), "--output", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["spec"]["network"]["service_subnets"] == ["10.233.0.0/18"]
    assert data["settings"]["kube_proxy_mode"]["value"] == "ipvs"
    assert data["kubespray_release"] == "v2.27.0"
    assert set(data["groups"]["kube_control_plane"]) == {"cp1", "cp2", "cp3"}


def test_table_names_hosts_and_origins():
    result = run(str(INVENTORIES / "demo"))
    assert result.returncode == 0
    assert "cp1" in result.stdout and "10.0.10.21" in result.stdout
    assert "group_vars/k8s_cluster/k8s-cluster.yml:" in result.stdout
    assert "inferred from kube_version" in result.stderr  # the guess is said, not hidden


def test_at_80_columns_names_values_and_origins_stay_whole():
    """A reviewer's terminal: each key setting's name, its value's words and a file:line each whole on a line."""
    import yaml

    result = run(str(INVENTORIES / "demo"), columns=80)
    data = yaml.safe_load(run(str(INVENTORIES / "demo"), "--output", "yaml").stdout)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and max(len(line) for line in lines) <= 80
    words = set(result.stdout.split())
    for name in ("kube_version", "supplementary_addresses_in_ssl_keys", "apiserver_loadbalancer_domain_name"):
        (row,) = [line for line in lines if line.startswith(name + " ")]
        origin = data["settings"][name]["origin"]  # group_vars/all/all.yml:11 shows as all.yml:11
        assert row.rstrip().endswith(origin.rsplit("/", 1)[-1])
    assert {"10.0.10.10,", "k8s-api.demo.internal"} <= words  # list items wrap between items, never inside
    assert "etcd1" in words and "{" not in result.stdout.split("Key settings")[0]


def test_every_setting_at_80_columns_keeps_its_name_and_value_whole():
    """--all lists names up to 40+ characters: each stays on one line with its origin, its value under it."""
    import yaml

    result = run(str(INVENTORIES / "demo"), "--all", columns=80)
    data = yaml.safe_load(run(str(INVENTORIES / "demo"), "--output", "yaml", "--all").stdout)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and max(len(line) for line in lines) <= 80
    shown = [name for name, s in data["settings"].items() if not isinstance(s, dict) or s.get("origin") != "undefined"]
    assert max(len(n) for n in shown) > 36  # long enough that a value column beside it could not fit
    for name in shown:  # the name whole at the start of its own line, its origin at the end of that line
        (row,) = [line for line in lines if line.split() and line.split()[0] == name]
        assert len(row.split()) >= 2, row
    index = lines.index(next(line for line in lines if line.startswith("audit_log_path ")))
    assert lines[index + 1].strip() == "/var/log/audit/kube-apiserver-audit.log"  # a path is never folded


def test_secrets_never_reach_the_output(tmp_path):
    password = INVENTORIES / "registry-mirrors"
    result = run(str(password), "--output", "yaml", "--all")
    assert result.returncode == 0, result.stderr
    auth_files = [p for p in password.rglob("*.yml") if "password" in p.read_text()]
    for path in auth_files:
        for line in path.read_text().splitlines():
            if "password:" in line and not line.strip().startswith("#"):
                secret = line.split("password:", 1)[1].strip().strip("\"'")
                if secret and "{{" not in secret:
                    assert secret not in result.stdout


def test_vault_needs_a_password_file():
    result = run(str(INVENTORIES / "vault-file"))
    assert result.returncode == 2
    assert "--vault-password-file" in result.stderr and "Traceback" not in result.stderr
    ok = run(str(INVENTORIES / "vault-file"), "--vault-password-file", str(INVENTORIES / "vault-file.pass"), "-o", "json")
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize("case", sorted(p.name for p in BROKEN.iterdir() if p.is_dir() and any(p.iterdir())) if BROKEN.is_dir() else [])
def test_every_broken_input_is_one_clear_error(case):
    result = run(str(BROKEN / case))
    out = result.stderr + result.stdout
    assert "Traceback" not in out
    if case == "undefined-unneeded":
        assert result.returncode == 0 and "warning" in result.stderr
        return
    assert result.returncode == 2, out
    assert sum(line.startswith("error:") for line in result.stderr.splitlines()) == 1
    assert result.stdout == ""  # nothing half-printed


def test_unknown_release_flag():
    result = run(str(INVENTORIES / "demo"), "--kubespray-version", "9.99")
    assert result.returncode == 2
    newest = RELEASES[-1].name.lstrip("v")
    assert "9.99" in result.stderr and f"2.16 to {newest}" in result.stderr


def test_help_teaches_with_examples():
    result = run("--help")
    assert result.returncode == 0
    assert "Examples:" in result.stdout and "--kubespray-version" in result.stdout
