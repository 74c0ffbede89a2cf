"""report.md as a reviewer reads it, from a real plan of a public inventory (neviadomski: kube-vip, NTP off)."""

from __future__ import annotations

import re

import pytest

from migrate.mapping.acceptance import Acceptance, blocker_id
from migrate.mapping.finding import counted
from migrate.talos.plan import PlanRequest, plan_cluster
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory):
    from migrate.kubespray import load_cluster

    inventory = shared_path("kubespray", "real-world", "neviadomski__kubespray-config__root", "hosts.yml")
    out = tmp_path_factory.mktemp("report") / "plan"
    accepted = (Acceptance(blocker_id("cluster identity"), "jane@example.com", "a rehearsal: fresh CAs wanted"),)
    result = plan_cluster(load_cluster([inventory]), PlanRequest(inventory=inventory, out=out, acceptances=accepted))
    return result, (out / "report.md").read_text()


def rows(markdown: str, section: str) -> list[str]:
    body = markdown.split(f"\n## {section} (", 1)[1].split("\n## ", 1)[0]
    return [line for line in body.splitlines() if line.startswith("| `")]


def test_each_manual_step_once_with_every_setting_it_covers(planned):
    result, markdown = planned
    manual = rows(markdown, "manual")
    vip = [f.setting for f in result.findings if f.setting.startswith("kube_vip_") and f.verdict == "manual"]
    assert len(vip) >= 2
    (row,) = [r for r in manual if "kube_vip_" in r]  # one hand-over, one entry
    assert all(f"`{name}`" in row for name in vip)
    steps = len({f.reason for f in result.findings if f.verdict == "manual"})
    assert len(manual) == steps and f"in {counted(steps, 'step')})" in markdown


def test_every_changed_finding_shows_its_value_before(planned):
    result, markdown = planned
    changed = "\n".join(rows(markdown, "changed"))
    for f in result.findings:
        if f.verdict == "changed" and f.source == "setting" and not f.secret:
            assert re.search(rf"`{re.escape(f.setting)}` = \S", changed), f.setting


def test_not_used_by_this_cluster_is_apart_from_dropped(planned):
    result, markdown = planned
    unused, dropped = "\n".join(rows(markdown, "not used by this cluster")), "\n".join(rows(markdown, "dropped"))
    assert unused and dropped
    assert "Not in effect on this cluster" in unused and "Not in effect on this cluster" not in dropped
    assert "is not set on this cluster" not in dropped
    n_dropped = sum(f.verdict == "dropped" for f in result.findings)
    listed = rows(markdown, "dropped") + rows(markdown, "not used by this cluster")
    assert n_dropped == sum(len(r.split(" | ")[0].split("<br>")) for r in listed)  # each setting once


def test_kubespray_words_and_plurals(planned):
    _, markdown = planned
    assert " is None" not in markdown and "= None" not in markdown
    assert not re.search(r"\b1 (blockers|nodes|settings|steps)\b", markdown)
    assert "(kubernetes_audit_webhook is not set)" in markdown  # a gate as group_vars say it, not `is None`
    assert (counted(1, "blocker"), counted(2, "blocker"), counted(2, "node patch", "node patches")) == (
        "1 blocker", "2 blockers", "2 node patches")


def test_an_acknowledged_blocker_says_who_and_why(planned):
    result, markdown = planned
    bid = blocker_id("cluster identity")
    assert f"| `{bid}` | cluster identity | acknowledged by jane@example.com: a rehearsal: fresh CAs wanted |" in markdown
    assert result.acknowledged is not None and bid in result.acknowledged.accepted

