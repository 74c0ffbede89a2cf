"""A plan ends with a summary naming its blockers by id; a person acknowledges them and CI passes."""

from __future__ import annotations

import json

from tests.cli.test_plan import BLOCKED, run
from tests.conftest import INVENTORIES

PROXY = str(INVENTORIES / "localhost-proxy")  # its endpoint is one node's IP, and no --pki: blockers


def test_blockers_by_stable_id_then_acknowledged_in_a_file_and_in_the_report(tmp_path):
    first = run(PROXY, "--out", str(tmp_path / "a"), "--output", "json")
    assert first.returncode == BLOCKED, first.stderr
    blockers = json.loads(first.stdout)["blockers"]
    assert blockers and all(b["id"] in first.stderr for b in blockers)  # the closing note names each open id
    accepted = tmp_path / "accepted.yaml"
    accepted.write_text("".join(f"- id: {b['id']}\n  who: jane@example.com\n  why: read it, {b['setting']} is planned\n"
                                for b in blockers[1:]))
    second = run(PROXY, "--out", str(tmp_path / "b"), "--accept-file", str(accepted), "--accept", blockers[0]["id"])
    assert second.returncode == 0, second.stdout + second.stderr
    assert "open blocker" not in second.stdout and "error" not in second.stderr
    report = (tmp_path / "b" / "report.md").read_text()
    again = json.loads((tmp_path / "b" / "report.json").read_text())
    assert [b["id"] for b in again["blockers"]] == [b["id"] for b in blockers]  # same ids in another run and dir
    for b in blockers[1:]:
        assert f"| `{b['id']}` | {b['setting']} | acknowledged by jane@example.com: read it" in report
    assert again["summary"]["blockers_open"] == 0


def test_the_table_summary_comes_last_with_counts_and_open_ids(tmp_path):
    result = run(PROXY, "--out", str(tmp_path / "plan"), env={"COLUMNS": "80"})
    assert result.returncode == BLOCKED
    tail = result.stdout[result.stdout.index("plan written"):]
    data = json.loads((tmp_path / "plan" / "report.json").read_text())
    s = data["summary"]
    assert f"{s['settings']} settings read: {s['kept']} kept, {s['changed']} changed" in " ".join(tail.split())
    for b in data["blockers"]:
        assert b["id"] in tail
    assert tail.rstrip().endswith("(or --accept-file).") and "blocker finding(s)" not in result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_a_bad_accept_file_stops_before_anything_is_written(tmp_path):
    accepted = tmp_path / "accepted.yaml"
    accepted.write_text("- id: cluster-identity-dff485\n  who: jane\n")
    result = run(PROXY, "--out", str(tmp_path / "plan"), "--accept-file", str(accepted))
    assert result.returncode == 2 and f"{accepted}:1" in result.stderr and "lacks why" in result.stderr
    assert not (tmp_path / "plan").exists() and "Traceback" not in result.stderr


def test_an_id_that_names_no_blocker_is_said_and_does_not_pass(tmp_path):
    result = run(PROXY, "--out", str(tmp_path / "plan"), "--accept", "no-such-blocker-000000")
    assert result.returncode == BLOCKED
    assert "no-such-blocker-000000 names no blocker of this plan" in result.stderr
