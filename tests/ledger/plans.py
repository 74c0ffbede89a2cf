"""Real plan directories for the ledger's verb tests: `plan` run once per module on the demo inventory + PKI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import FIXTURES, INVENTORIES, REPO

DEMO_PKI = FIXTURES / "pki" / "demo"
DEMO_HOSTS = ["cp1", "cp2", "cp3", "w1", "w2", "w3"]


def k2t(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrate", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def make_demo_plan(out: Path) -> Path:
    result = k2t("plan", INVENTORIES / "demo", "--pki", DEMO_PKI, "--out", out)
    assert result.returncode == 0, result.stderr
    return out


def copy_plan(template: Path, target: Path, cluster: str | None = None) -> Path:
    """A copy of a plan; with `cluster`, a different plan (its report names another cluster) and a fresh ledger."""
    shutil.copytree(template, target)
    if cluster is not None:
        report = json.loads((target / "report.json").read_text())
        report["cluster"] = cluster
        (target / "report.json").write_text(json.dumps(report))
        for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
            (target / name).unlink(missing_ok=True)
        from migrate.ledger import Ledger, default_path, plan_id

        Ledger.create(default_path(target), plan_id(target), [(n["name"], n["role"]) for n in report["nodes"]]).close()
    return target


def secret_strings(plan: Path) -> list[str]:
    """Every secret of the fixture PKI, inventory and the plan's bundle, as substrings an output must not hold."""
    found: list[str] = []
    for key in DEMO_PKI.rglob("*.key"):
        found += [line for line in key.read_text().splitlines() if len(line) >= 32 and "-----" not in line]
    encryption = yaml.safe_load((DEMO_PKI / "secrets_encryption.yaml").read_text())
    found += [k["secret"] for r in encryption["resources"] for p in r["providers"] for v in p.values() if v
              for k in v.get("keys", [])]
    stack = [yaml.safe_load((plan / "secrets.yaml").read_text())]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and len(item) >= 16:
            found.append(item[:40])
    assert len(found) > 20, "the fixture should hold many secrets"
    return found



def demo_plan_fixtures() -> tuple[Any, Any]:
    """`template` (one real demo plan per test module: a `plan` run costs seconds) and `plan` (a test's own copy
    of it and its ledger), for `template, plan = demo_plan_fixtures()` at the top of a test module."""

    @pytest.fixture(scope="module", name="template")
    def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return make_demo_plan(tmp_path_factory.mktemp("demo") / "plan")

    @pytest.fixture(name="plan")
    def plan(template: Path, tmp_path: Path) -> Path:
        return copy_plan(template, tmp_path / "plan")

    return template, plan
