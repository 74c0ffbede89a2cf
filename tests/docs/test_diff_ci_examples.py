"""The CI examples in docs/diff.md work as written: each job's commands, taken from the page, run in a checkout
laid out as the page assumes (inventory/prod, talos/accepted-blockers.yaml, $PKI_DIR, $KUBECONFIG)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrate.cluster.twin import Twin, serve_in_thread
from migrate.mapping.acceptance import read_accept_file
from tests.conftest import CLUSTERS, FIXTURES, INVENTORIES, REPO

DOC = REPO / "docs" / "diff.md"
SETUP = ("pip install kubespray2talos",)  # what the jobs do before our commands: this checkout is installed already


def ci_blocks() -> list[Any]:
    text = DOC.read_text()
    start = text.index("## CI\n")
    section = text[start:text.index("\n## ", start + 1)]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.S)]


def commands(lines: list[str]) -> list[str]:
    ours = [line for line in lines if line not in SETUP]
    assert ours and all(line.startswith("kubespray2talos ") for line in ours), ours
    return ours


def gitlab_job() -> dict[str, Any]:
    (job,) = [b for b in ci_blocks() if isinstance(b, dict) and "talos-plan-diff" in b]
    return job["talos-plan-diff"]  # type: ignore[no-any-return]


def github_steps(job: str) -> list[str]:
    (workflow,) = [b for b in ci_blocks() if isinstance(b, dict) and "jobs" in b]
    return commands([step["run"] for step in workflow["jobs"][job]["steps"] if "run" in step])


def checkout(tmp_path: Path, inventory: str) -> Path:
    """A repository as the page assumes it: inventory/prod and talos/ beside it."""
    work = tmp_path / "repo"
    shutil.copytree(INVENTORIES / inventory, work / "inventory" / "prod")
    (work / "talos").mkdir()
    (work / "talos" / "accepted-blockers.yaml").write_text("[]\n")
    return work


def run(line: str, work: Path, **env: str) -> subprocess.CompletedProcess:
    """One script line as a CI runner runs it: bash in the checkout, the tool on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(["bash", "-c", line], cwd=work, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PATH": path, "PKI_DIR": str(FIXTURES / "pki" / "demo"), **env})


def test_the_example_accept_file_is_one_the_tool_reads(tmp_path):
    (example,) = [b for b in ci_blocks() if isinstance(b, list)]
    path = tmp_path / "accepted-blockers.yaml"
    path.write_text(yaml.safe_dump(example))
    (entry,) = read_accept_file(path)
    assert entry.id and entry.who and entry.why and entry.expires is not None


def test_the_gitlab_job_stops_on_open_blockers_and_passes_once_a_person_acknowledged_them(tmp_path):
    work = checkout(tmp_path, "localhost-proxy")  # its endpoint is one control plane's address: a blocker
    script = commands(gitlab_job()["script"])
    first = run(script[0], work)
    assert first.returncode == 1 and "open blocker" in first.stdout  # the gate holds until someone reads them
    blockers = json.loads((work / "plan" / "report.json").read_text())["blockers"]
    (work / "talos" / "accepted-blockers.yaml").write_text(yaml.safe_dump(
        [{"id": b["id"], "who": "jane@example.com", "why": f"read: {b['setting']} is handled in CHG-1234"}
         for b in blockers]))
    for line in script:
        done = run(line, work)
        assert done.returncode == 0, f"{line}\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
    for artifact in gitlab_job()["artifacts"]["paths"]:
        assert (work / artifact).is_file() and (work / artifact).stat().st_size > 0, artifact
    assert json.loads((work / "diff.json").read_text())["summary"]["unexplained"] == 0
    report = (work / "plan" / "report.md").read_text()
    assert all(f"`{b['id']}`" in report for b in blockers) and "acknowledged by jane@example.com" in report


def test_the_github_diff_job_runs_as_written(tmp_path):
    work = checkout(tmp_path, "demo")
    summary = tmp_path / "step-summary.md"
    for line in github_steps("diff"):
        done = run(line, work, GITHUB_STEP_SUMMARY=str(summary))
        assert done.returncode == 0, f"{line}\n{done.stderr[-1500:]}"
    assert summary.read_text().startswith("### kubespray2talos diff")


def test_the_nightly_drift_job_runs_against_a_live_cluster(tmp_path):
    work = checkout(tmp_path, "demo")
    served = serve_in_thread(Twin.from_snapshot(CLUSTERS / "demo.json"))  # the demo cluster, running
    try:
        kubeconfig = served.write_kubeconfig(tmp_path / "kubeconfig")
        for line in github_steps("drift"):
            done = run(line, work, KUBECONFIG=str(kubeconfig))
            assert done.returncode == 0, f"{line}\n{done.stderr[-1500:]}"
            assert "live cluster" in done.stdout
    finally:
        served.stop()


@pytest.mark.parametrize("line", [line for job in ("diff", "drift") for line in github_steps(job)]
                         + commands(gitlab_job()["script"]))
def test_every_option_in_the_examples_exists(line):
    verb = line.split()[1]
    help_text = subprocess.run([sys.executable, "-m", "migrate", verb, "--help"], capture_output=True, text=True,
                               timeout=60).stdout
    for option in re.findall(r"(?<= )--[a-z-]+", line):
        assert option in help_text, f"{option} is not an option of {verb}"
