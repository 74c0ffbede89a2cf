"""`prepare` against the twin of a Kubespray cluster whose workers reach the API through the localhost:6443 nginx
proxy, driven over HTTP with the official client: diffs, dry run, apply, second run, revert, refusals, ledger."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate.cluster.base import BootstrapToken, ObjectRef
from migrate.cluster.kube import KubeCluster
from migrate.cluster.twin import Twin, VirtualClock, serve_in_thread
from migrate.cluster.twin.http import ServedTwin
from migrate.cluster.twin.resources import CONFIGMAPS
from migrate.errors import UserError
from migrate.ledger import Ledger
from migrate.migration import prepare as prep
from migrate.migration.prepare_host import host_steps, load_facts, old_issuers
from migrate.migration.prepare_targets import MIN_TOKEN_LIFE, Facts, targets, view, with_view
from tests.conftest import CLUSTERS

ENDPOINT = "https://lb.prod.example:6443"
TOKEN_SECRET = "q7x2m9k4p1v8c3n6"
FACTS = Facts(endpoint=ENDPOINT, token=BootstrapToken("ab12cd", TOKEN_SECRET),
              ca_data="LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=", token_ttl=86400.0)
KUBE_PROXY = ObjectRef("ConfigMap", "kube-proxy", "kube-system")
CALICO = ObjectRef("ConfigMap", "kubernetes-services-endpoint", "kube-system")
CLUSTER_INFO = ObjectRef("ConfigMap", "cluster-info", "kube-public")
TOKEN = ObjectRef("Secret", "bootstrap-token-ab12cd", "kube-system")
PROXY_DS = ObjectRef("DaemonSet", "kube-proxy", "kube-system")
BINDING = ObjectRef("ClusterRoleBinding", "kubeadm:kubelet-bootstrap")
# kube-proxy's kubeconfig after Kubespray's sed (loadbalancer_apiserver_localhost: true)
PROXY_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
"""
CLUSTER_INFO_KUBECONFIG = ("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: "
                           "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=\n    server: https://10.0.10.11:6443\n"
                           "  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n")


@dataclass
class Rig:
    twin: Twin
    cluster: KubeCluster
    plan_dir: Path
    ledger: Ledger
    served: ServedTwin

    def now(self) -> float:
        return self.twin.clock.now()

    def changes(self) -> list[prep.Change]:
        return prep.plan_changes(self.cluster, FACTS, self.now())

    def apply(self) -> list[prep.Change]:
        return prep.apply(self.cluster, self.ledger, self.changes(), self.plan_dir, run_id="prepare-1")

    def revert(self) -> list[prep.Change]:
        return prep.revert(self.cluster, self.ledger, prep.plan_revert(self.cluster, self.plan_dir), self.plan_dir,
                           run_id="prepare-revert")

    def versions(self) -> dict[str, str | None]:
        refs = (KUBE_PROXY, CALICO, CLUSTER_INFO, TOKEN, PROXY_DS, BINDING)
        return {str(r): ((self.cluster.read_object(r) or {}).get("metadata") or {}).get("resourceVersion") for r in refs}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    twin = Twin.from_snapshot(CLUSTERS / "demo.json", VirtualClock())
    proxy = twin.api.get(CONFIGMAPS, "kube-system", "kube-proxy")
    proxy["data"]["kubeconfig.conf"] = PROXY_KUBECONFIG
    twin.api.replace(CONFIGMAPS, "kube-system", "kube-proxy", proxy)
    twin.api.create(CONFIGMAPS, "kube-system", {"metadata": {"name": "kubernetes-services-endpoint"}, "data": {
        "KUBERNETES_SERVICE_HOST": "localhost", "KUBERNETES_SERVICE_PORT": "6443"}})
    twin.api.create(CONFIGMAPS, "kube-public", {"metadata": {"name": "cluster-info"}, "data": {
        "kubeconfig": CLUSTER_INFO_KUBECONFIG, "jws-kubeconfig-xyz123": "eyJhbGciOiJIUzI1NiIsImtpZCI6Inh5ejEyMyJ9..sig"}})
    twin.settle()
    served = serve_in_thread(twin)
    cluster = KubeCluster(served.write_kubeconfig(tmp_path / "kubeconfig"), clock=twin.clock, seed=1)
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    ledger = Ledger.create(plan_dir / "ledger.db", "test-plan", [("cp1", "controlplane")], clock=twin.clock)
    try:
        yield Rig(twin, cluster, plan_dir, ledger, served)
    finally:
        ledger.close()
        cluster.close()
        served.stop()


def test_the_diffs_say_what_changes_and_a_dry_run_changes_nothing(rig: Rig) -> None:
    before = rig.versions()
    changes = {str(c.ref): c for c in rig.changes()}
    assert {k: c.action for k, c in changes.items()} == {
        str(KUBE_PROXY): "update", str(CALICO): "update", str(CLUSTER_INFO): "update", str(TOKEN): "create",
        "ClusterRoleBinding kubeadm:kubelet-bootstrap": "create",
        "ClusterRoleBinding kubeadm:node-autoapprove-bootstrap": "create",
        "ClusterRoleBinding kubeadm:node-autoapprove-certificate-rotation": "create", str(PROXY_DS): "recreate"}
    proxy = changes[str(KUBE_PROXY)].diff().splitlines()
    assert "-      server: https://127.0.0.1:6443" in proxy and f"+      server: {ENDPOINT}" in proxy
    assert sum(line.startswith(("+", "-")) and not line.startswith(("+++", "---")) for line in proxy) == 2
    calico = changes[str(CALICO)].diff()
    assert "-data/KUBERNETES_SERVICE_HOST: localhost" in calico and "+data/KUBERNETES_SERVICE_HOST: lb.prod.example" in calico
    token = changes[str(TOKEN)].diff()
    assert "system:bootstrappers:kubeadm:default-node-token" in token and "+data/token-id: ab12cd" in token
    assert TOKEN_SECRET not in token and "<redacted>" in token
    assert "+    tier: node" in changes[str(PROXY_DS)].diff()
    assert rig.versions() == before  # reading and diffing wrote nothing
    assert not (rig.plan_dir / prep.STATE_FILE).exists()


def test_apply_reaches_the_endpoint_and_a_second_prepare_changes_nothing(rig: Rig) -> None:
    done = rig.apply()
    assert len(done) == 8
    proxy = rig.cluster.read_object(KUBE_PROXY) or {}
    assert f"server: {ENDPOINT}" in proxy["data"]["kubeconfig.conf"] and "127.0.0.1" not in proxy["data"]["kubeconfig.conf"]
    assert (rig.cluster.read_object(CALICO) or {})["data"] == {"KUBERNETES_SERVICE_HOST": "lb.prod.example",
                                                              "KUBERNETES_SERVICE_PORT": "6443"}
    info = rig.cluster.read_object(CLUSTER_INFO) or {}
    assert f"server: {ENDPOINT}" in info["data"]["kubeconfig"] and "jws-kubeconfig-xyz123" in info["data"]
    token = rig.cluster.get_bootstrap_token("ab12cd")
    assert token is not None and token.secret == TOKEN_SECRET
    assert token.groups == ("system:bootstrappers:kubeadm:default-node-token",) and token.expiration
    ds = rig.cluster.read_object(PROXY_DS) or {}
    assert ds["spec"]["selector"]["matchLabels"] == {"k8s-app": "kube-proxy", "tier": "node"}
    rig.twin.settle()
    proxies = rig.cluster.list_pods(namespace="kube-system", label_selector="k8s-app=kube-proxy")
    assert len(proxies) == 6 and all(p.labels.get("tier") == "node" and not p.terminating for p in proxies)

    versions = rig.versions()
    again = rig.changes()
    assert [str(c.ref) for c in again if c.changes] == []
    assert prep.apply(rig.cluster, rig.ledger, again, rig.plan_dir, run_id="prepare-2") == []
    assert rig.versions() == versions


def test_every_change_is_journalled_intent_then_outcome_without_the_token(rig: Rig) -> None:
    rig.apply()
    events = [e for e in rig.ledger.events() if e.step.startswith("prepare ")]
    assert [e.outcome for e in events] == ["intent", "ok"] * 8
    assert {e.evidence["object"] for e in events} >= {str(KUBE_PROXY), str(TOKEN), str(PROXY_DS)}
    assert all(e.run_id == "prepare-1" and e.host == "" for e in events)
    stored = json.dumps([dict(e.evidence) for e in rig.ledger.events()])
    state = rig.plan_dir / prep.STATE_FILE
    assert TOKEN_SECRET not in stored and TOKEN_SECRET not in state.read_text()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_revert_puts_back_every_before_state(rig: Rig) -> None:
    original = {str(r): view(rig.cluster.read_object(r), fields) for r, fields in (
        (KUBE_PROXY, (("data",),)), (CALICO, (("data",),)), (CLUSTER_INFO, (("data",),)),
        (PROXY_DS, (("metadata", "labels"), ("spec", "selector"), ("spec", "template", "metadata", "labels"))))}
    rig.apply()
    reverted = rig.revert()
    assert len(reverted) == 8
    for ref, fields in ((KUBE_PROXY, (("data",),)), (CALICO, (("data",),)), (CLUSTER_INFO, (("data",),)),
                        (PROXY_DS, (("metadata", "labels"), ("spec", "selector"), ("spec", "template", "metadata", "labels")))):
        assert view(rig.cluster.read_object(ref), fields) == original[str(ref)], ref
    assert rig.cluster.read_object(TOKEN) is None and rig.cluster.read_object(BINDING) is None
    assert json.loads((rig.plan_dir / prep.STATE_FILE).read_text())["objects"] == []
    assert [c.action for c in rig.changes() if c.changes]  # the cluster needs preparing again
    assert {e.outcome for e in rig.ledger.events() if e.step.startswith("prepare revert ")} == {"intent", "ok"}


def test_revert_refuses_an_object_changed_since_and_names_it(rig: Rig) -> None:
    rig.apply()
    proxy = rig.cluster.read_object(KUBE_PROXY) or {}
    proxy["data"]["kubeconfig.conf"] = proxy["data"]["kubeconfig.conf"].replace(ENDPOINT, "https://other:6443")
    rig.cluster.replace_object(KUBE_PROXY, proxy)
    versions = rig.versions()
    with pytest.raises(UserError) as refused:
        prep.plan_revert(rig.cluster, rig.plan_dir)
    assert "ConfigMap kube-system/kube-proxy (data/kubeconfig.conf differs)" in str(refused.value)
    assert "nothing was reverted" in str(refused.value)
    assert rig.versions() == versions


def test_an_object_already_put_back_by_hand_is_left_alone(rig: Rig) -> None:
    rig.apply()
    rig.cluster.delete_object(BINDING)
    changes = prep.plan_revert(rig.cluster, rig.plan_dir)
    assert next(c for c in changes if c.ref == BINDING).action == "none"


def test_a_daemonset_that_cannot_be_created_anew_is_put_back_as_it_was(rig: Rig) -> None:
    [relabel] = [c for c in rig.changes() if c.ref == PROXY_DS]
    rig.served.fail_next(0, 403)  # the delete goes through, the create of its successor is forbidden
    with pytest.raises(UserError, match="forbidden"):
        prep.apply(rig.cluster, rig.ledger, [relabel], rig.plan_dir, run_id="prepare-1")
    ds = rig.cluster.read_object(PROXY_DS) or {}
    assert ds["spec"]["selector"]["matchLabels"] == {"k8s-app": "kube-proxy"}
    assert [e.outcome for e in rig.ledger.events() if e.step == f"prepare {PROXY_DS}"] == ["intent", "failed"]
    assert json.loads((rig.plan_dir / prep.STATE_FILE).read_text())["objects"] == []  # nothing to revert


def test_revert_creates_again_a_daemonset_lost_between_delete_and_create(rig: Rig) -> None:
    rig.apply()
    rig.cluster.delete_object(PROXY_DS)  # as if prepare had died right after deleting it
    changes = prep.plan_revert(rig.cluster, rig.plan_dir)
    assert next(c for c in changes if c.ref == PROXY_DS).action == "create"
    prep.revert(rig.cluster, rig.ledger, changes, rig.plan_dir, run_id="prepare-revert")
    ds = rig.cluster.read_object(PROXY_DS) or {}
    assert ds["spec"]["selector"]["matchLabels"] == {"k8s-app": "kube-proxy"} and "tier" not in ds["metadata"]["labels"]


def test_an_expiring_token_is_renewed_and_nothing_else_moves(rig: Rig) -> None:
    rig.apply()
    rig.twin.clock.advance(FACTS.token_ttl - MIN_TOKEN_LIFE / 2)
    pending = [c for c in rig.changes() if c.changes]
    assert [str(c.ref) for c in pending] == [str(TOKEN)]
    assert [line[1:].split(":")[0] for line in pending[0].diff().splitlines()
            if line.startswith(("+d", "-d"))] == ["data/expiration", "data/expiration"]


def test_existing_rbac_is_never_rewritten(rig: Rig) -> None:
    rig.cluster.create_object(BINDING, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                                        "metadata": {"name": BINDING.name},
                                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                    "name": "system:node-bootstrapper"},
                                        "subjects": [{"kind": "Group", "name": "custom:group"}]})
    assert next(c for c in rig.changes() if c.ref == BINDING).action == "none"


def test_host_side_issuer_is_shown_as_kubespray_variables(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps({"kubespray_release": "v2.29.1", "kubernetes_version": "v1.32.5",
                                                     "findings": []}))
    (tmp_path / "controlplane.yaml").write_text(
        "cluster:\n  apiServer:\n    extraArgs:\n      service-account-issuer:\n      - https://lb.prod.example:6443\n"
        "      - https://kubernetes.default.svc.cluster.local\n")
    kubeadm = {"data": {"ClusterConfiguration": "networking:\n  dnsDomain: cluster.local\napiServer:\n  extraArgs: []\n"}}
    [step] = host_steps(tmp_path, kubeadm)
    assert step.needed and "--service-account-issuer=https://lb.prod.example:6443" in step.variables
    assert "api-audiences: https://kubernetes.default.svc.cluster.local,https://lb.prod.example:6443" in step.variables
    assert "kubeadm_patches" in step.variables and "upgrade-cluster.yml -e kube_version=v1.32.5" in step.run
    (tmp_path / "report.json").write_text(json.dumps({"kubespray_release": "v2.24.1", "findings": []}))
    [older] = host_steps(tmp_path, kubeadm)
    assert "source_dir:" in older.variables and "patches/kube-apiserver0+json.yaml" in older.variables
    assert "--service-account-issuer=https://lb.prod.example:6443" in older.variables
    assert old_issuers({"data": {"ClusterConfiguration": "apiServer:\n  extraArgs:\n    service-account-issuer: "
                                                          "https://lb.prod.example:6443\n"}}) == [ENDPOINT]
    [kept] = host_steps(tmp_path, {"data": {"ClusterConfiguration": "apiServer:\n  extraArgs:\n  - name: "
                                                                     "service-account-issuer\n    value: "
                                                                     "https://lb.prod.example:6443\n"}})
    assert not kept.needed and not kept.variables


_FIELD = st.text("abcdef", min_size=1, max_size=3)
_VALUE = st.one_of(st.none(), st.text(max_size=5), st.dictionaries(_FIELD, st.text(max_size=3), max_size=3))


@given(obj=st.dictionaries(_FIELD, st.dictionaries(_FIELD, _VALUE, max_size=4), max_size=4),
       paths=st.lists(st.tuples(_FIELD, _FIELD), min_size=1, max_size=4, unique=True),
       new=st.lists(_VALUE, min_size=4, max_size=4))
def test_writing_fields_then_their_before_view_restores_them(obj: dict[str, Any], paths: list[tuple[str, str]],
                                                             new: list[Any]) -> None:
    fields = tuple(paths)
    before = view(obj, fields)
    assert before is not None
    changed = with_view(obj, {"/".join(p): v for p, v in zip(fields, new, strict=False)})
    assert view(with_view(changed, before), fields) == before


def test_an_endpoint_that_is_a_host_being_replaced_is_refused(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps({"endpoint": "https://10.0.10.11:6443", "nodes": [
        {"name": "cp1", "role": "controlplane", "ip": "10.0.10.11"}]}))
    with pytest.raises(UserError) as refused:
        load_facts(tmp_path, 3600.0)
    assert "is host cp1" in str(refused.value) and "loadbalancer_apiserver" in str(refused.value)


_HOSTS = st.sampled_from(["localhost", "127.0.0.1", "[::1]", "10.0.10.11", "lb.prod.example", "k8s-api.internal"])


@given(host=_HOSTS, port=st.integers(1, 65535), calico_host=_HOSTS, now=st.floats(1e9, 2e9))
def test_every_target_is_idempotent_and_leaves_no_localhost_behind(host: str, port: int, calico_host: str,
                                                                  now: float) -> None:
    objects: dict[str, Any] = {
        str(KUBE_PROXY): {"metadata": {"name": "kube-proxy"}, "data": {
            "kubeconfig.conf": PROXY_KUBECONFIG.replace("127.0.0.1:6443", f"{host}:{port}")}},
        str(CALICO): {"metadata": {"name": "kubernetes-services-endpoint"}, "data": {
            "KUBERNETES_SERVICE_HOST": calico_host, "KUBERNETES_SERVICE_PORT": str(port)}},
        str(CLUSTER_INFO): None, str(TOKEN): None, str(PROXY_DS): None}
    for target in targets(FACTS):
        once = target.desire(objects.get(str(target.ref)), FACTS, now)
        if once is None:
            continue
        twice = target.desire(once, FACTS, now)
        assert view(twice, target.fields) == view(once, target.fields), target.ref
        shown = json.dumps(view(once, target.fields))
        if target.ref in (KUBE_PROXY, CALICO):
            assert not any(f"{local}:" in shown or f'"{local}"' in shown for local in ("localhost", "127.0.0.1", "[::1]"))
