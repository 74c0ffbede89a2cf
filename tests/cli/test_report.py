"""`report`: the decommission report for one plan or a fleet, as md, csv, json and a self-contained HTML page
that a real headless Chromium renders (DOM and screenshot)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from html.parser import HTMLParser

import pytest

from migrate.clock import VirtualClock
from migrate.ledger import HostState, Ledger, default_path, plan_id
from tests.ledger.browser import dump_dom, png_pixels, screenshot
from tests.ledger.plans import DEMO_HOSTS, DEMO_PKI, copy_plan, k2t, make_demo_plan, secret_strings

DAY = 86400.0
LINE_COLOUR = (0xB4, 0x46, 0x1B)  # the burn-down line in the template


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Two clusters a week into their migration: one host decommissioned, one retired by hand, one failed."""
    root = tmp_path_factory.mktemp("report")
    eu = make_demo_plan(root / "eu")
    us = copy_plan(eu, root / "us", cluster="prod-us")
    pem = (DEMO_PKI / "ca.key").read_text()
    clock = VirtualClock(start=time.time() - 7 * DAY)
    for plan in (eu, us):  # the plans were made a week ago: their ledgers start then
        default_path(plan).unlink()
        Ledger.create(default_path(plan), plan_id(plan), [(h, "worker") for h in DEMO_HOSTS], clock=clock).close()
    with Ledger.open(default_path(eu), plan_id(eu), clock=clock) as ledger:
        for state in (HostState.REPLACEMENT_READY, HostState.CORDONED, HostState.DRAINED, HostState.REMOVED,
                      HostState.DECOMMISSIONING, HostState.DECOMMISSIONED):
            clock.advance(DAY / 2)
            ledger.transition("w1", state, run_id="run-1", step=f"to-{state}",
                              evidence={"pods_evicted": 12, "playbook": {"stdout": pem}, "ca_key": pem})
        clock.advance(DAY)
        ledger.transition("w2", HostState.RETIRED, run_id="mark-1", step="mark", note="powered off by hand, OPS-9")
        failed = ledger.begin_step("w3", "drain", run_id="run-2", intent={"grace_seconds": 30})
        ledger.finish_step(failed, "failed", {"error": "PDB web-pdb allows 0 disruptions"})
        ledger.transition("w3", HostState.FAILED, run_id="run-2", step="drain", outcome="failed")
        ledger.mark_finding("etcd_version", "done", run_id="mark-2", note="upgraded")
    with Ledger.open(default_path(us), clock=clock) as ledger:
        ledger.transition("cp1", HostState.RETIRED, run_id="mark-3", step="mark", note="=HYPERLINK(\"x\")")
    return eu, us


def report(*args):
    result = k2t("report", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_json_has_progress_timelines_and_open_items_per_cluster(fleet):
    data = json.loads(report(*fleet, "--output", "json"))
    assert data["progress"] == {"hosts": 12, "ended": 3, "alive": 9}
    eu, us = data["clusters"]
    assert (eu["cluster"], us["cluster"]) == ("cluster.local", "prod-us")
    assert eu["progress"]["by_state"] == {"active": 3, "decommissioned": 1, "failed": 1, "retired": 1}
    w1 = next(h for h in eu["hosts"] if h["name"] == "w1")
    assert [e["after"] for e in w1["timeline"]] == ["active", "replacement-ready", "cordoned", "drained", "removed",
                                                    "decommissioning", "decommissioned"]
    assert w1["ended"] == w1["timeline"][-1]["at"] and w1["timeline"][1]["evidence"]["pods_evicted"] == 12
    kinds = {(i["kind"], i["subject"]) for i in eu["open_items"]}
    assert {("failed-host", "w3"), ("failed-step", "w3"), ("manual-finding", "etcd_deployment_type")} <= kinds
    assert ("manual-finding", "etcd_version") not in kinds  # marked done
    assert ("manual-finding", "etcd_version") in {(i["kind"], i["subject"]) for i in us["open_items"]}
    alive = [p["alive"] for p in data["burndown"]]
    assert max(alive) == 12 and alive[-1] == 9 and alive == sorted(alive[:alive.index(12) + 1]) + alive[alive.index(12) + 1:]


def test_csv_opens_as_a_header_and_a_row_per_host(fleet):
    rows = list(csv.DictReader(io.StringIO(report(*fleet, "--output", "csv"))))
    assert [(r["cluster"], r["host"]) for r in rows] == [(c, h) for c in ("cluster.local", "prod-us") for h in DEMO_HOSTS]
    w2 = next(r for r in rows if r["host"] == "w2" and r["cluster"] == "cluster.local")
    assert (w2["state"], w2["note"]) == ("retired", "powered off by hand, OPS-9") and w2["ended_utc"]
    cp1 = next(r for r in rows if r["host"] == "cp1" and r["cluster"] == "prod-us")
    assert cp1["note"].startswith("'=")  # a note is never a spreadsheet formula


def test_markdown_names_progress_clusters_and_who_did_what(fleet):
    text = report(*fleet)
    assert "**3 of 12** old hosts decommissioned or retired across 2 cluster(s)" in text
    assert "## cluster.local" in text and "## prod-us" in text
    assert re.search(r"\d{4}-\d\d-\d\dT\S+Z \S+@\S+ `mark`: active → retired \(ok, run mark-1\) — powered off", text)


def test_report_written_to_a_file_and_bad_input_exits_2(fleet, tmp_path):
    out = tmp_path / "r.md"
    assert k2t("report", fleet[0], "--out", out).returncode == 0 and out.read_text().startswith("# Decommission report")
    refused = k2t("report", fleet[0], fleet[0])
    assert refused.returncode == 2 and "same plan" in refused.stderr
    not_a_plan = k2t("report", tmp_path)
    assert not_a_plan.returncode == 2 and "report.json" in not_a_plan.stderr and "Traceback" not in not_a_plan.stderr


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hosts: list[tuple[str, str]] = []
        self.paths: dict[str, str] = {}
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and "data-host" in a:
            self.hosts.append((a["data-host"] or "", a.get("data-state") or ""))
        if tag == "path" and a.get("class"):
            self.paths[a["class"] or ""] = a.get("d") or ""
        for name in ("src", "href"):
            if a.get(name) and not (a[name] or "").startswith("#"):
                self.external.append(f"{tag} {name}={a[name]}")
        if tag in ("script", "link", "img", "iframe"):
            self.external.append(tag)


def test_html_renders_in_chromium_with_the_chart_every_host_and_no_secret(fleet, tmp_path):
    page = tmp_path / "report.html"
    assert k2t("report", *fleet, "--output", "html", "--out", page).returncode == 0
    source = page.read_text()
    dom = dump_dom(page)
    parsed = _Page()
    parsed.feed(dom)
    assert sorted(parsed.hosts) == sorted([(h, "active") for h in DEMO_HOSTS if h not in ("w1", "w2", "w3")]
                                          + [("w1", "decommissioned"), ("w2", "retired"), ("w3", "failed")]
                                          + [(h, "retired" if h == "cp1" else "active") for h in DEMO_HOSTS])
    line = parsed.paths["burndown-line"]
    levels = [float(v) for v in re.findall(r"V([\d.]+)", line)]
    assert line.startswith("M") and len(levels) >= 2 and levels == sorted(levels)  # only ever falls (y grows down)
    assert levels[0] > float(line.split()[1].split("H")[0])  # below where it started: 12 alive, then fewer
    assert parsed.external == [] and "url(" not in source and "@import" not in source  # self-contained
    assert "3 of 12" in dom and "PDB web-pdb" not in dom  # step evidence stays in JSON; the page says what failed
    for secret in secret_strings(fleet[0]):
        assert secret not in source and secret not in dom
    assert "BEGIN RSA PRIVATE KEY" not in source
    width, height, pixels = png_pixels(screenshot(page, tmp_path / "report.png", (900, 700)))
    drawn = [i for i, p in enumerate(pixels) if all(abs(p[k] - LINE_COLOUR[k]) < 16 for k in range(3))]
    assert len(drawn) > 300, "the burn-down line is not on the screenshot"
    rows, columns = {i // width for i in drawn}, {i % width for i in drawn}
    assert max(columns) - min(columns) > 600  # across the chart's width
    assert max(rows) - min(rows) > 40  # and falling: 12 alive to 9 is a quarter of its height
