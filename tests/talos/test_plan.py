"""The plan directory: every file, its permissions, its reproducibility, and a finding for every setting read."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from migrate.errors import UserError
from migrate.talos.plan import PlanRequest, plan_cluster
from migrate.talos.secrets import load_bundle
from migrate.talos.versions import choose
from tests.conftest import FIXTURES, SHARED, shared_path
from tests.talos.plan_fixtures import inventory, matrix, resolved

DEMO_PKI = FIXTURES / "pki" / "demo"


def make(name: str, out: Path, minor: str = "auto", **options):
    return plan_cluster(resolved(name), PlanRequest(inventory=inventory(name), out=out, talos_version=minor, **options))


def secret_strings(bundle) -> list[str]:
    """Every secret in the bundle, as it could appear in a file: raw, and base64 for PEM keys."""
    values = [bundle.cluster_secret, bundle.bootstrap_token, bundle.trustd_token, bundle.secretbox_encryption_secret,
              bundle.aescbc_encryption_secret]
    for pair in (bundle.etcd, bundle.k8s, bundle.k8s_aggregator, bundle.k8s_service_account, bundle.os):
        if pair.key:
            values += [pair.key.strip().splitlines()[1], base64.b64encode(pair.key.encode()).decode()[:60]]
    return [v for v in values if v]


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name, minor", matrix())
def test_plan_files_secrets_and_findings(name, minor, tmp_path):
    out = tmp_path / "plan"
    result = make(name, out, minor)
    written = files(out)
    nodes = resolved(name).spec.nodes
    assert {"controlplane.yaml", "worker.yaml", "secrets.yaml", "talosconfig", "report.md", "report.json"} <= set(written)
    assert {f"nodes/{n.name}.yaml" for n in nodes} <= set(written)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    secrets = secret_strings(load_bundle(out / "secrets.yaml"))
    for rel, data in written.items():
        text = data.decode()
        if any(s in text for s in secrets):
            assert stat.S_IMODE((out / rel).stat().st_mode) == 0o600, f"{rel} holds a secret but is not 0600"
    for report in ("report.md", "report.json"):
        assert not any(s in written[report].decode() for s in secrets)
    data = json.loads(written["report.json"])
    read = [f["setting"] for f in data["findings"] if f["source"] == "setting"]
    assert sorted(read) == sorted(resolved(name).settings)  # exactly one finding per setting read
    assert data["summary"]["settings"] == len(resolved(name).settings)
    assert data["talos"]["version"] == minor and data["validation"]["problems"] == []
    assert result.problems == []


@pytest.mark.parametrize("name", ["demo", "dual-stack", "registry-mirrors", "oidc-proxy-ntp"])
def test_rerun_is_byte_identical_and_reuses_the_bundle(name, tmp_path):
    out = tmp_path / "plan"
    make(name, out)
    first = files(out)
    make(name, out)
    assert files(out) == first


def test_pki_makes_the_plan_joinable_and_reruns_keep_its_tokens(tmp_path):
    out = tmp_path / "plan"
    result = make("demo", out, pki=DEMO_PKI)
    assert result.joinable and result.report["joinable"]
    blockers = [f.setting for f in result.findings if f.severity == "blocker"]
    assert blockers == []  # identity imported, encryption carried, LB endpoint
    first = files(out)
    make("demo", out, pki=DEMO_PKI)
    assert files(out) == first
    assert (DEMO_PKI / "ca.crt").read_text().strip() in load_bundle(out / "secrets.yaml").k8s.crt


def test_without_pki_the_plan_says_it_is_not_joinable(tmp_path):
    result = make("demo", tmp_path / "plan")
    identity = next(f for f in result.findings if f.setting == "cluster identity")
    assert not result.joinable and identity.severity == "blocker"
    assert "NOT JOINABLE" in (tmp_path / "plan" / "report.md").read_text()


def test_different_secrets_in_the_out_dir_are_refused_and_left_untouched(tmp_path):
    out = tmp_path / "plan"
    make("demo", out)  # fresh bundle
    before = files(out)
    with pytest.raises(UserError, match="different secrets bundle"):
        make("demo", out, pki=DEMO_PKI)
    assert files(out) == before
    make("demo", out, pki=DEMO_PKI, force=True)
    assert load_bundle(out / "secrets.yaml").joinable


def test_a_non_plan_directory_is_not_replaced(tmp_path):
    out = tmp_path / "plan"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="files a plan does not write: notes.txt"):
        make("demo", out)
    assert (out / "notes.txt").read_text() == "mine"
    forced = make("demo", out, force=True)
    assert forced.previous == tmp_path / "plan.previous" and (forced.previous / "notes.txt").read_text() == "mine"


def test_derived_manual_items_appear_where_the_cluster_needs_them(tmp_path):
    proxy = {f.setting: f for f in make("localhost-proxy", tmp_path / "a").findings}
    assert proxy["workers' localhost API proxy"].verdict == "manual"
    assert proxy["loadbalancer_apiserver"].severity == "blocker"  # endpoint is a single node's IP
    lb = {f.setting: f for f in make("demo", tmp_path / "b").findings}
    assert "workers' localhost API proxy" not in lb
    for name in ("kube-public/cluster-info", "kube-proxy DaemonSet labels", "CNI host paths", "etcd_version",
                 "install disk", "node networking"):
        assert lb[name].verdict == "manual", name


def _real_world_cases() -> list[str]:
    expected = SHARED / "kubespray" / "expected"
    return sorted(p.stem for p in expected.glob("*.json") if not p.stem.startswith("sample-")) if expected.is_dir() else []


@pytest.mark.parametrize("case", _real_world_cases())
def test_real_public_inventories_plan_cleanly(case, tmp_path):
    """Inventories we never wrote: one Kubespray reads must load here too; whatever Talos can run must plan with
    valid documents and full accounting, and a Kubernetes no Talos runs is refused by name, never skipped."""
    from migrate.kubespray import load_cluster
    from migrate.talos.versions import all_versions

    expected = json.loads(shared_path("kubespray", "expected", f"{case}.json").read_text())
    path = shared_path("kubespray", "real-world", case, expected["inventory_sources"][0])
    if expected["status"] != "ok":  # Kubespray itself cannot read it: we may refuse too, but only with a UserError
        try:
            cluster = load_cluster(path)
        except UserError:
            return
    else:
        cluster = load_cluster(path)
    version = cluster.spec.kubernetes_version
    if not any(t.supports(version) for t in all_versions()):
        with pytest.raises(UserError, match=f"no supported Talos version runs Kubernetes {version}"):
            choose("auto", version)
        return
    result = plan_cluster(cluster, PlanRequest(inventory=path, out=tmp_path / "plan"))
    assert result.problems == []
    assert sorted(f.setting for f in result.findings if f.source == "setting") == sorted(cluster.settings)


def test_a_password_nested_in_a_plain_setting_is_redacted_in_the_report(tmp_path):
    from migrate.mapping.finding import Finding
    from migrate.talos.report import report_data

    leaky = Finding("containerd_registries_mirrors", "kept", None, "why", "info",
                    value=[{"prefix": "quay.io", "auth": {"password": "hunter2-not-real"}}])
    assert "hunter2" not in json.dumps(report_data({}, [leaky]))


def test_force_replaces_a_directory_whose_secrets_yaml_is_not_a_bundle_and_keeps_it(tmp_path):
    out = tmp_path / "plan"
    out.mkdir()
    (out / "secrets.yaml").write_text("password: not-a-talos-bundle\n")
    with pytest.raises(UserError):
        make("demo", out)
    result = make("demo", out, pki=DEMO_PKI, force=True)
    assert (result.previous / "secrets.yaml").read_text() == "password: not-a-talos-bundle\n"
    assert load_bundle(out / "secrets.yaml").joinable


def _bundled_fixtures() -> list[str]:
    return sorted(p.name for p in (FIXTURES / "inventories").iterdir()
                  if p.is_dir() and p.name not in ("single-node",) and not p.name.startswith("vault"))


@pytest.mark.parametrize("case", [f"fixture:{n}" for n in _bundled_fixtures()] + _real_world_cases())
def test_talos_1_14_documents_validate_for_every_cluster(case):
    """Talos 1.14 is the target for new migrations: every cluster we can read, rendered for 1.14 at a Kubernetes it
    runs (the version the cluster reaches through Kubespray upgrades), gives only documents 1.14's schema accepts."""
    from dataclasses import replace

    from migrate.kubespray import load_cluster
    from migrate.talos.plan import check_documents
    from migrate.talos.render import render
    from migrate.talos.secrets import generate_bundle
    from migrate.talos.versions import all_versions

    if case.startswith("fixture:"):
        path = FIXTURES / "inventories" / case.split(":", 1)[1]
    else:
        expected = json.loads(shared_path("kubespray", "expected", f"{case}.json").read_text())
        if expected["status"] != "ok":
            return  # Kubespray itself cannot read it (test_real_public_inventories_plan_cleanly covers the refusal)
        path = shared_path("kubespray", "real-world", case, expected["inventory_sources"][0])
    talos = all_versions()[-1]
    assert talos.minor == "1.14"
    spec = load_cluster(path).spec
    if not talos.supports(spec.kubernetes_version):
        spec = replace(spec, kubernetes_version=f"{talos.kubernetes_min}.0")
    rendered = render(spec, generate_bundle(), talos)
    problems, state = check_documents(rendered, talos, {n.name for n in spec.control_planes})
    assert problems == [] and state.startswith("checked against Talos 1.14")
    assert any(d.get("kind") == "KubeAPIServerConfig" for d in rendered.controlplane)
