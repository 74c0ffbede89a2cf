"""`diff INVENTORY PLAN_DIR --security` driven as a user would: real inventories, real plans, the patch applied."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from migrate.cli import cli
from migrate.talos.merge import apply_patch, load_documents
from migrate.talos.render import to_yaml
from tests.conftest import INVENTORIES

HARDENED = INVENTORIES / "hardened"


def plan(inventory: Path, out: Path, *extra: str) -> Path:
    result = CliRunner().invoke(cli, ["plan", str(inventory), "--out", str(out), *extra], catch_exceptions=False)
    assert result.exit_code in (0, 1) and (out / "controlplane.yaml").is_file(), result.output
    return out


def security(inventory: Path, plan_dir: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["diff", str(inventory), str(plan_dir), "--security", "--format", "json", *extra],
                                catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{r['cis']} {r['control']}": r for r in data["controls"]}


@pytest.fixture(scope="module")
def hardened_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return plan(HARDENED, tmp_path_factory.mktemp("hardened") / "plan")


def test_audit_logging_and_a_custom_admission_configuration_are_kept(hardened_plan: Path) -> None:
    out = hardened_plan
    code, data = security(HARDENED, out, "--fail-on", "weaker")
    assert code == 0 and data["summary"]["weaker"] == 0
    by = rows(data)
    for ident in ("3.2.2 kube-apiserver.audit-policy-level", "5.2.1 pod-security.enforce",
                  "1.2.29 kube-apiserver.tls-min-version", "1.2.17 kube-apiserver.audit-log-maxage",
                  "4.2.13 kubelet.podPidsLimit", "4.2.11 kubelet.serverTLSBootstrap"):
        assert by[ident]["posture"] == "same" and by[ident]["carried_over"], (ident, by[ident])
    assert by["3.2.2 kube-apiserver.audit-policy-level"]["after"] == "RequestResponse"
    assert by["5.2.1 pod-security.enforce"]["after"] == "restricted"
    assert by["1.2.11 kube-apiserver.enable-admission-plugins"]["posture"] == "same"
    assert by["1.2.9 kube-apiserver.enable-admission-plugins"]["carried_over"]  # enabled, and configured
    assert by["1.3.7 kube-controller-manager.bind-address"]["posture"] == "stronger"
    assert by["1.4.2 kube-scheduler.bind-address"]["posture"] == "stronger"
    assert {r["posture"] for r in data["controls"] if r["section"] == "host"} == {"n/a on Talos"}
    # each before-value says where inspect found it: the inventory's file and line, or the release's default
    lines = (HARDENED / "group_vars" / "k8s_cluster" / "k8s-cluster.yml").read_text().splitlines()
    where = by["4.2.13 kubelet.podPidsLimit"]["before_from"]
    assert where.startswith("group_vars/k8s_cluster/k8s-cluster.yml:")
    assert lines[int(where.rsplit(":", 1)[1]) - 1].startswith("kubelet_pod_pids_limit:")
    assert "v2.28" in by["1.2.15 kube-apiserver.profiling"]["before_from"]
    # the policy the cluster wrote is the one the Talos API servers get, rule for rule
    documents = load_documents((out / "controlplane.yaml").read_text())
    policy = next(d for d in documents if d.get("kind") == "KubeAuditPolicyConfig")  # Talos 1.14's document
    inventory_rules = yaml.safe_load(yaml.safe_load((HARDENED / "group_vars" / "k8s_cluster" / "k8s-cluster.yml")
                                                    .read_text())["audit_policy_custom_rules"])
    assert policy["configuration"]["rules"] == inventory_rules
    # and so is the EventRateLimit configuration Kubespray wrote from kube_apiserver_admission_event_rate_limits
    limits = next(d for d in documents if d.get("kind") == "KubeAdmissionControlConfig" and d.get("name") ==
                  "EventRateLimit")["configuration"]["limits"]
    assert [(x["type"], x["qps"], x["burst"], x.get("cacheSize")) for x in limits] == [
        ("Namespace", 50, 100, 2000), ("User", 50, 100, None)]
    report = json.loads((out / "report.json").read_text())
    assert report["posture"]["summary"] == data["summary"]
    assert "Security posture" in (out / "report.md").read_text()


def test_the_built_in_audit_policy_is_weakened_and_fail_on_weaker_gates_it(tmp_path: Path) -> None:
    inventory = tmp_path / "inv"
    shutil.copytree(HARDENED, inventory)
    settings = inventory / "group_vars" / "k8s_cluster" / "k8s-cluster.yml"
    values = yaml.safe_load(settings.read_text())
    del values["audit_policy_custom_rules"]  # Kubespray's own rule set, which logs known APIs at RequestResponse
    settings.write_text(yaml.safe_dump(values))
    out = plan(inventory, tmp_path / "plan")
    code, data = security(inventory, out)
    assert code == 0  # a report, not a gate, unless asked
    row = rows(data)["3.2.2 kube-apiserver.audit-policy-level"]
    assert (row["before"], row["after"], row["posture"]) == ("RequestResponse", "Metadata", "weaker")
    assert "/audit-policy/apiserver-audit-policy.yaml" in row["patch"]
    code, _ = security(inventory, out, "--fail-on", "weaker")
    assert code == 1
    report = json.loads((out / "report.json").read_text())
    manual = [f for f in report["findings"] if f["verdict"] == "manual" and f["setting"].startswith("posture CIS 3.2.2")]
    assert manual and "apiserver-audit-policy.yaml" in manual[0]["reason"]


def test_a_weakened_plan_is_flagged_with_the_patch_that_restores_it(hardened_plan: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    shutil.copytree(hardened_plan, out)
    cp_file = out / "controlplane.yaml"
    documents = load_documents(cp_file.read_text())
    for doc in documents:  # a reviewer "tidies" the plan: the PID limit and TLS 1.3 minimum go
        if doc.get("kind") == "KubeletConfig":
            doc["config"].pop("podPidsLimit")
        if doc.get("kind") == "KubeAPIServerConfig":
            doc["extraArgs"].pop("tls-min-version")
    cp_file.write_text(to_yaml(documents))
    code, data = security(HARDENED, out, "--fail-on", "weaker")
    assert code == 1
    weaker = {ident: r for ident, r in rows(data).items() if r["posture"] == "weaker"}
    assert set(weaker) == {"4.2.13 kubelet.podPidsLimit", "1.2.29 kube-apiserver.tls-min-version"}
    for row in weaker.values():  # the patch, applied as talosctl would, brings the old strength back
        documents = apply_patch(documents, load_documents(row["patch"]))
    cp_file.write_text(to_yaml(documents))
    code, data = security(HARDENED, out, "--fail-on", "weaker")
    assert code == 0, [r for r in data["controls"] if r["posture"] == "weaker"]
    assert rows(data)["4.2.13 kubelet.podPidsLimit"]["after"] == 4096


def test_markdown_is_the_default_and_bad_combinations_are_refused(tmp_path: Path) -> None:
    out = plan(INVENTORIES / "demo", tmp_path / "plan")
    result = CliRunner().invoke(cli, ["diff", str(INVENTORIES / "demo"), str(out), "--security"])
    assert result.exit_code == 0 and "| CIS | control | before (Kubespray) | after (Talos) |" in result.stdout
    for args, says in ((["diff", str(out), str(INVENTORIES / "demo"), "--security"], "INVENTORY with the PLAN_DIR"),
                       (["diff", str(INVENTORIES / "demo"), str(out), "--format", "html"], "belong to --security"),
                       (["diff", str(INVENTORIES / "demo"), "--live", "--security"], "not the live cluster")):
        proc = subprocess.run([sys.executable, "-m", "migrate", *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and says in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and not proc.stdout
