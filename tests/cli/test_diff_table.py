"""`diff` in a terminal 80 columns wide, as a process renders it: no line wider, no word split, members a table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, INVENTORIES


def diff(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrate", "diff", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": str(columns)})


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("diff-table") / "plan"
    subprocess.run([sys.executable, "-m", "migrate", "plan", str(INVENTORIES / "demo"), "--out", str(out),
                    "--pki", str(FIXTURES / "pki" / "demo")], capture_output=True, timeout=120, check=True)
    return out


def test_every_change_reads_whole_at_80_columns(demo_plan):
    table = diff(str(INVENTORIES / "demo"), str(demo_plan))
    data = json.loads(diff(str(INVENTORIES / "demo"), str(demo_plan), "--output", "json").stdout)
    lines = table.stdout.splitlines()
    assert table.returncode == 1 and data["changes"]
    assert max(len(line) for line in lines) <= 80
    flowing = " ".join(table.stdout.split())  # the text as read, line breaks only between words
    for change in data["changes"]:
        if not change["path"].startswith("etcd.members."):
            assert any(change["path"] + ":" in line.split() for line in lines), change["path"]  # the field whole
        words = " ".join(change["consequence"].split())
        generic = words.replace(f" {change['path'].rsplit('.', 1)[-1]} ", " ", 1)
        assert words in flowing or generic in flowing, change["consequence"]
        for verdict in change.get("explained_by", []):
            assert verdict in flowing


def test_etcd_members_are_a_small_table_not_json(demo_plan):
    table = diff(str(INVENTORIES / "demo"), str(demo_plan)).stdout
    data = json.loads(diff(str(INVENTORIES / "demo"), str(demo_plan), "--output", "json").stdout)
    members = [c for c in data["changes"] if c["path"].startswith("etcd.members.")]
    assert members and '"peer_url"' not in table and "{" not in table.split("etcd (")[1].split("\n\n")[0]
    for change in members:
        member = change["before"] or change["after"]
        sign = "-" if change["before"] else "+"
        assert any(line.split()[:5] == [sign, member["name"], member["node"], member["peer_url"], member["client_url"]]
                   for line in table.splitlines() if line.strip().startswith(sign)), member
    consequence = "etcd member is only on one side"
    assert table.count(consequence) == 1  # said once for the members, not once a member


def test_an_unexplained_change_says_so_beside_its_field(demo_plan, tmp_path):
    wrong = tmp_path / "plan"
    subprocess.run(["cp", "-a", str(demo_plan), str(wrong)], check=True)
    config = wrong / "controlplane.yaml"
    config.write_text(config.read_text().replace("- 10.233.64.0/18", "- 10.244.0.0/16"))
    lines = diff(str(INVENTORIES / "demo"), str(wrong)).stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "network.pod_subnets:" in line)
    block = lines[at:at + 6]
    assert block[0].split()[0] == "breaking"
    assert any("plan: UNEXPLAINED" in line for line in block)
