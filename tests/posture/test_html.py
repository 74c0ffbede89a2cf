"""The posture page in real headless Chromium: every control a row with its posture, weakened ones red, values
from the inventory shown as text (never markup), nothing fetched from elsewhere."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from migrate.cli import cli
from tests.conftest import INVENTORIES
from tests.ledger.browser import dump_dom, png_pixels, screenshot

WEAKER_BACKGROUND = (0xFB, 0xD9, 0xD6)  # .posture-weaker in posture.html.j2
HOSTILE_PATH = "/var/log/audit/<img src=x onerror=alert(1)>.log"


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, str]] = []
        self.external: list[str] = []
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("class") == "control":
            self.rows.append((a["data-cis"] or "", a["data-control"] or "", a["data-posture"] or ""))
        if tag in ("script", "link", "iframe") or (tag == "img"):
            self.external.append(tag)


def k2t(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_the_page_shows_every_control_and_weakened_ones_in_red(tmp_path: Path) -> None:
    inventory = tmp_path / "inv"
    shutil.copytree(INVENTORIES / "hardened", inventory)
    settings = inventory / "group_vars" / "k8s_cluster" / "k8s-cluster.yml"
    values = yaml.safe_load(settings.read_text())
    del values["audit_policy_custom_rules"]  # Kubespray's built-in policy: Talos's Metadata policy is weaker
    values["audit_log_path"] = HOSTILE_PATH
    settings.write_text(yaml.safe_dump(values))
    assert k2t("plan", inventory, "--out", tmp_path / "plan").exit_code in (0, 1)
    data = json.loads(k2t("diff", inventory, tmp_path / "plan", "--security", "--format", "json").stdout)
    proc = k2t("diff", inventory, tmp_path / "plan", "--security", "--format", "html")
    assert proc.exit_code == 0, proc.output
    page = tmp_path / "posture.html"
    page.write_text(proc.stdout)
    parsed = _Rows()
    parsed.feed(dump_dom(page))
    assert sorted(parsed.rows) == sorted((r["cis"], r["control"], r["posture"]) for r in data["controls"])
    assert ("3.2.2", "kube-apiserver.audit-policy-level", "weaker") in parsed.rows
    assert parsed.external == [] and "url(" not in proc.stdout  # self-contained, and the hostile value stayed text
    assert "&lt;img src=x onerror=alert(1)&gt;" in proc.stdout
    width, _, pixels = png_pixels(screenshot(page, tmp_path / "posture.png", (1200, 900)))
    red = [i for i, p in enumerate(pixels) if all(abs(p[k] - WEAKER_BACKGROUND[k]) < 6 for k in range(3))]
    assert len(red) > 100, "the weakened control's badge is not at the top of the page"
