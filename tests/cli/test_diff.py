"""`kubespray2talos diff` driven as a user would: real inventories, real plans, the twin for --live."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrate.cli import cli
from tests.conftest import CLUSTERS, FIXTURES, INVENTORIES, shared_path
from tests.talos.plan_fixtures import PLANNABLE, vault_password

DEMO_PKI = FIXTURES / "pki" / "demo"


def run(*args: str):
    result = CliRunner().invoke(cli, ["diff", *map(str, args)], catch_exceptions=False)
    return result


def run_json(*args: str) -> tuple[int, dict]:
    result = run(*args, "--output", "json")
    return result.exit_code, json.loads(result.stdout)


def make_plan(*args: str) -> Path:
    """`kubespray2talos plan ... --out DIR`: written (exit 0, or 1 when it has blocker findings), DIR returned."""
    result = CliRunner().invoke(cli, ["plan", *map(str, args)], catch_exceptions=False)
    out = Path(args[list(args).index("--out") + 1])
    assert result.exit_code in (0, 1) and (out / "controlplane.yaml").is_file(), result.output
    return out


def copy_of_demo(tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(INVENTORIES / "demo", target)
    return target


def _edit(inventory: Path, old: str, new: str) -> None:
    path = inventory / "group_vars" / "k8s_cluster" / "k8s-cluster.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_same_inventory_twice_is_equal_exit_0():
    code, data = run_json(INVENTORIES / "demo", INVENTORIES / "demo")
    assert code == 0 and data["equal"] is True and data["changes"] == []


def test_one_group_vars_edit_shows_exactly_that_change(tmp_path):
    edited = copy_of_demo(tmp_path)
    _edit(edited, "kube_pods_subnet: 10.233.64.0/18", "kube_pods_subnet: 10.233.128.0/18")
    code, data = run_json(INVENTORIES / "demo", edited)
    assert code == 1
    (change,) = data["changes"]
    assert change["path"] == "network.pod_subnets"
    assert (change["before"], change["after"]) == (["10.233.64.0/18"], ["10.233.128.0/18"])
    assert (change["area"], change["severity"]) == ("network", "breaking")


def test_fail_on_breaking_ignores_risky_changes(tmp_path):
    edited = copy_of_demo(tmp_path)
    _edit(edited, "kube_proxy_mode: ipvs", "kube_proxy_mode: iptables")
    assert run(INVENTORIES / "demo", edited, "--fail-on", "breaking").exit_code == 0
    assert run(INVENTORIES / "demo", edited, "--fail-on", "risky").exit_code == 1


def test_markdown_output_is_a_review_comment(tmp_path):
    edited = copy_of_demo(tmp_path)
    _edit(edited, "kube_service_addresses: 10.233.0.0/18", "kube_service_addresses: 10.96.0.0/18")
    result = run(INVENTORIES / "demo", edited, "--output", "markdown")
    assert result.exit_code == 1
    md = result.stdout
    assert md.startswith("### kubespray2talos diff")
    assert "#### network" in md and "| breaking | `network.service_subnets` |" in md
    assert "ClusterIPs the new API server does not own" in md


def test_trouble_is_exit_2_with_one_message(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "foo.yaml").write_text("a: 1\n")
    cases = {
        "neither a plan": (empty, INVENTORIES / "demo"),
        "nor a Kubespray inventory (no hosts.yaml": (stray, INVENTORIES / "demo"),
        "neither a plan (no controlplane.yaml)": (DEMO_PKI, INVENTORIES / "demo"),
        "no such file": (tmp_path / "nope", INVENTORIES / "demo"),
        "needs two things": (INVENTORIES / "demo",),
    }
    for message, args in cases.items():
        proc = subprocess.run(
            [sys.executable, "-m", "migrate", "diff", *map(str, args)], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr
        assert proc.stdout == ""


def test_plan_dir_against_itself_from_talos_gen_config(tmp_path):
    gen = shared_path("talos", "gen-config-reference", "v1.13")
    plan = tmp_path / "plan"
    plan.mkdir()
    shutil.copy(gen / "base-controlplane.yaml", plan / "controlplane.yaml")
    shutil.copy(gen / "base-worker.yaml", plan / "worker.yaml")
    assert run(plan, plan).exit_code == 0
    other = tmp_path / "other"
    shutil.copytree(plan, other)
    shutil.copy(gen / "overrides-controlplane.yaml", other / "controlplane.yaml")
    code, data = run_json(plan, other)
    assert code == 1
    paths = {c["path"]: c for c in data["changes"]}
    assert paths["network.dns_domain"]["severity"] == "breaking"
    assert data["before"]["kind"] == data["after"]["kind"] == "plan"
    text = json.dumps(data)
    for secret in ("secretboxEncryptionSecret", "45yd2Ke+sytiICojDf8aibTfgt99nzJmO53cjDqrCto="):
        assert secret not in text


def test_help_teaches_with_examples():
    result = CliRunner().invoke(cli, ["diff", "--help"])
    assert result.exit_code == 0
    for text in ("INVENTORY PLAN_DIR", "--live", "--fail-on", "Examples:", "Exit code"):
        assert text in result.output


# --- against a plan made from the inventory ----------------------------------------------------


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory) -> Path:
    return make_plan(INVENTORIES / "demo", "--out", tmp_path_factory.mktemp("plan") / "demo", "--pki", DEMO_PKI)


def test_plan_against_its_own_inventory_shows_only_intended_changes(demo_plan):
    code, data = run_json(INVENTORIES / "demo", demo_plan)
    assert code == 1 and data["changes"]
    assert [c["path"] for c in data["changes"] if not c["intended"]] == []
    assert all(
        any(v in e for e in c["explained_by"] for v in ("(changed)", "(dropped)", "(manual)")) for c in data["changes"]
    )
    paths = {c["path"] for c in data["changes"]}
    # what Talos really does differently, each with its verdict
    assert "etcd.members.etcd1" in paths  # members are named after hosts on Talos
    assert "control_plane.api_audiences" in paths  # the Talos endpoint becomes an accepted audience
    # what the plan keeps does not show up: the cluster's own encryption file is mounted over Talos's
    for kept in ("network.service_subnets", "network.pod_subnets", "network.cluster_dns", "network.kube_proxy_mode",
                 "control_plane.encryption.key_name", "control_plane.audit"):
        assert kept not in paths
    assert run(INVENTORIES / "demo", demo_plan, "--fail-on", "unexplained").exit_code == 0


@pytest.mark.parametrize("name", [n for n in PLANNABLE if n != "demo"])
def test_every_fixture_plan_explains_all_its_changes(name, tmp_path):
    plan = tmp_path / "plan"
    vault = [] if vault_password(name) is None else ["--vault-password-file", str(vault_password(name))]
    make_plan(INVENTORIES / name, "--out", plan, *vault)
    _, data = run_json(INVENTORIES / name, plan, *vault)
    assert [c["path"] for c in data["changes"] if not c["intended"]] == []
    assert run(INVENTORIES / name, plan, *vault, "--fail-on", "unexplained").exit_code == 0


def test_edited_inventory_against_the_old_plan_shows_exactly_that_edit(demo_plan, tmp_path):
    edited = copy_of_demo(tmp_path)
    _edit(edited, "kube_pods_subnet: 10.233.64.0/18", "kube_pods_subnet: 10.233.128.0/18")
    _, before = run_json(INVENTORIES / "demo", demo_plan)
    _, after = run_json(edited, demo_plan)
    new = [c for c in after["changes"] if c not in before["changes"]]
    (change,) = new
    assert (change["path"], change["severity"], change["intended"]) == ("network.pod_subnets", "breaking", False)


def test_plan_with_a_forced_wrong_pod_cidr_is_flagged_breaking(demo_plan, tmp_path):
    wrong = tmp_path / "plan"
    shutil.copytree(demo_plan, wrong)
    config = wrong / "controlplane.yaml"
    text = config.read_text()
    assert "- 10.233.64.0/18" in text
    config.write_text(text.replace("- 10.233.64.0/18", "- 10.244.0.0/16"))
    code, data = run_json(INVENTORIES / "demo", wrong)
    assert code == 1
    (change,) = [c for c in data["changes"] if c["path"] == "network.pod_subnets"]
    assert (change["severity"], change["intended"], change["after"]) == ("breaking", False, ["10.244.0.0/16"])
    assert run(INVENTORIES / "demo", wrong, "--fail-on", "breaking").exit_code == 1
    table = run(INVENTORIES / "demo", wrong).stdout
    assert "UNEXPLAINED" in table and "network.pod_subnets" in table


def test_plan_against_itself_is_equal_and_secrets_stay_out(demo_plan):
    code, data = run_json(demo_plan, demo_plan)
    assert code == 0 and data["equal"]
    bundle = (demo_plan / "secrets.yaml").read_text()
    secret = next(line.split(":", 1)[1].strip() for line in bundle.splitlines() if "secretbox" in line.lower())
    for fmt in ("json", "markdown", "table"):
        assert secret not in run(INVENTORIES / "demo", demo_plan, "--output", fmt).stdout


# --- the live cluster (the twin, seeded from the demo snapshot) --------------------------------


@pytest.fixture
def live_demo(tmp_path):
    from migrate.cluster.twin import Twin, serve_in_thread

    handle = serve_in_thread(Twin.from_snapshot(CLUSTERS / "demo.json"))
    yield handle, handle.write_kubeconfig(tmp_path / "kubeconfig")
    handle.stop()


def test_live_equal_then_planted_drift(live_demo):
    handle, kubeconfig = live_demo
    code, data = run_json(INVENTORIES / "demo", "--live", "--kubeconfig", kubeconfig)
    assert code == 0 and data["after"]["kind"] == "live", data["changes"]
    from migrate.cluster.kube import KubeCluster

    cluster = KubeCluster(kubeconfig, attempts=1)
    cluster.set_labels("w3", {"node.kubernetes.io/disk": "ssd"})
    cluster.close()
    code, data = run_json(INVENTORIES / "demo", "--live", "--kubeconfig", kubeconfig)
    assert code == 1
    (change,) = data["changes"]
    assert (change["path"], change["before"], change["after"]) == (
        "nodes.w3.labels[node.kubernetes.io/disk]",
        "nvme",
        "ssd",
    )
    assert "intended" not in change, "verdicts belong to plans only"


def test_live_with_an_unreachable_cluster_is_trouble(tmp_path):
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters: [{name: x, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: x, user: {}}]\ncontexts: [{name: x, context: {cluster: x, user: x}}]\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "migrate", "diff", str(INVENTORIES / "demo"), "--live", "--kubeconfig", str(kubeconfig)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr


def test_talos_version_bump_changes_nothing_the_cluster_runs(tmp_path):
    """1.10 writes time, proxy and resolvers into v1alpha1; 1.13 into TimeSyncConfig, EnvironmentConfig, ResolverConfig."""
    plans = {}
    for version in ("1.10", "1.13"):
        plans[version] = tmp_path / version
        make_plan(INVENTORIES / "oidc-proxy-ntp", "--out", plans[version], "--talos-version", version)
    assert "TimeSyncConfig" in (plans["1.13"] / "controlplane.yaml").read_text()
    assert "TimeSyncConfig" not in (plans["1.10"] / "controlplane.yaml").read_text()
    code, data = run_json(plans["1.10"], plans["1.13"])
    # each plan made without --pki has its own fresh CAs and tokens: only those differ, redacted
    (issuers,) = [c for c in data["changes"] if not c["path"].startswith("identity.secrets.")]
    assert (issuers["path"], issuers["severity"]) == ("control_plane.accepted_issuers", "cosmetic")
    root = next(yaml.safe_load_all((plans["1.13"] / "controlplane.yaml").read_text()))
    endpoint = root["cluster"]["controlPlane"]["endpoint"]
    assert issuers["after"] == [*issuers["before"], endpoint], "1.13 accepts the Talos endpoint as a second issuer"
    assert {c["path"] for c in data["changes"]} >= {"identity.secrets.kubernetes_ca", "identity.secrets.etcd_ca"}
    _, against_inventory = run_json(INVENTORIES / "oidc-proxy-ntp", plans["1.10"])
    changes = {c["path"]: c for c in against_inventory["changes"]}
    assert not [p for p in changes if p.startswith(("host.ntp", "control_plane.oidc"))], changes
    assert all(c["intended"] for p, c in changes.items() if p.startswith("host.proxy")), "no_proxy gains the node IPs"


def test_fail_on_unexplained_without_a_plan_counts_every_change(tmp_path):
    edited = copy_of_demo(tmp_path)
    _edit(edited, "kube_pods_subnet: 10.233.64.0/18", "kube_pods_subnet: 10.233.128.0/18")
    assert run(INVENTORIES / "demo", edited, "--fail-on", "unexplained").exit_code == 1
    assert run(INVENTORIES / "demo", INVENTORIES / "demo", "--fail-on", "unexplained").exit_code == 0


def test_json_unexplained_counts_what_fail_on_unexplained_fails_on(demo_plan, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(demo_plan, other)
    config = other / "controlplane.yaml"
    config.write_text(config.read_text().replace("- 10.233.64.0/18", "- 10.244.0.0/16"))
    cases = [(demo_plan, other), (INVENTORIES / "demo", demo_plan), (INVENTORIES / "demo", other)]
    for args in cases:
        code, data = run_json(*args, "--fail-on", "unexplained")
        assert code == (1 if data["summary"]["unexplained"] else 0), args
        assert data["summary"]["matched_plan_report"] == (args[0] == INVENTORIES / "demo"), args
    _, plans = run_json(demo_plan, other)
    assert plans["summary"]["unexplained"] == len(plans["changes"]) > 0, "no report: nothing is explained"
