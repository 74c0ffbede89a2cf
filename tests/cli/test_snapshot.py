"""`kubespray2talos snapshot` against a served twin: what it captures, what it never captures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from migrate.cli import cli
from migrate.cluster.twin import Twin, serve_in_thread
from migrate.cluster.twin.resources import CONFIGMAPS, PODS, SECRETS
from tests.conftest import CLUSTERS

SECRET_VALUE = "c2VjcmV0LXRva2VuLXZhbHVl"


def test_snapshot_captures_the_cluster_and_no_secrets(tmp_path: Path) -> None:
    twin = Twin.from_snapshot(CLUSTERS / "demo.json")
    twin.api.create(SECRETS, "kube-system", {"metadata": {"name": "bootstrap-token-abcdef"}, "type": "bootstrap.kubernetes.io/token",
                                             "data": {"token-secret": SECRET_VALUE}})
    kubelet = twin.store.get(CONFIGMAPS, "kube-system", "kubelet-config")
    twin.store.update(CONFIGMAPS, {**kubelet, "data": {**kubelet["data"], "token": SECRET_VALUE}})
    handle = serve_in_thread(twin)
    try:
        kubeconfig = handle.write_kubeconfig(tmp_path / "kc")
        out = tmp_path / "cluster.json"
        result = CliRunner().invoke(cli, ["snapshot", "--kubeconfig", str(kubeconfig), "-o", str(out), "--output", "json"])
    finally:
        handle.stop()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["kubernetesVersion"] == "v1.31.4" and summary["objects"]["nodes"] == 6 and summary["objects"]["pods"] == 45
    text = out.read_text()
    assert SECRET_VALUE not in text and "secrets" not in json.loads(text)["objects"]
    snap = json.loads(text)
    assert sorted(c["metadata"]["name"] for c in snap["objects"]["configmaps"]) == ["kube-proxy", "kubeadm-config", "kubelet-config"]
    assert all("managedFields" not in o["metadata"] and "resourceVersion" not in o["metadata"] for objs in snap["objects"].values() for o in objs)
    # the capture loads back into a twin with the same pods, owners included
    again = Twin.from_snapshot(out)
    original = Twin.from_snapshot(CLUSTERS / "demo.json")
    assert _owned(again) == _owned(original)
    kubeadm = yaml.safe_load(next(c for c in snap["objects"]["configmaps"] if c["metadata"]["name"] == "kubeadm-config")["data"]["ClusterConfiguration"])
    assert kubeadm["networking"]["podSubnet"] == "10.233.64.0/18"


def _owned(twin: Twin) -> list[tuple[str, str, str | None]]:
    return sorted((p["metadata"]["namespace"], p["metadata"]["name"], (p["metadata"].get("ownerReferences") or [{}])[0].get("uid"))
                  for p in twin.store.objects(PODS))


def test_an_unreachable_cluster_is_one_message_and_exit_2(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "x",
                                          "clusters": [{"name": "x", "cluster": {"server": "http://127.0.0.1:9"}}],
                                          "users": [{"name": "x", "user": {}}], "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}]}))
    out = subprocess.run([str(Path(sys.executable).parent / "kubespray2talos"), "snapshot", "--kubeconfig", str(kubeconfig), "--out", str(tmp_path / "o.json")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "cannot reach the Kubernetes API server at http://127.0.0.1:9" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "o.json").exists()


JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6InR3aW4ifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLW9mLXRoZS10d2lu"
KEY_DATA = "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUtleQ=="
PASSWORD = "hunter2-rehearsal"


def test_credential_shaped_values_are_dropped_whatever_their_key_and_named_on_stderr(tmp_path: Path) -> None:
    twin = Twin.from_snapshot(CLUSTERS / "demo.json")
    kubeconfig_with_token = yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "users": [
        {"name": "admin", "user": {"client-key-data": KEY_DATA}}, {"name": "ci", "user": {"token": "abc123def"}},
        {"name": "basic", "user": {"username": "u", "password": PASSWORD}}]})
    proxy = twin.store.get(CONFIGMAPS, "kube-system", "kube-proxy")
    twin.store.update(CONFIGMAPS, {**proxy, "data": {**proxy["data"], "ci.conf": kubeconfig_with_token, "notes": JWT,
                                                     "kubeconfig.conf": "users:\n- name: default\n  user:\n    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n",
                                                     "pem": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}})
    pod = next(p for p in twin.store.objects(PODS, "shop"))
    container = {**pod["spec"]["containers"][0], "env": [{"name": "API_AUTH", "value": f"Bearer {JWT}"}, {"name": "MODE", "value": "prod"}]}
    twin.store.update(PODS, {**pod, "spec": {**pod["spec"], "containers": [container, *pod["spec"]["containers"][1:]]}}, force=True)
    handle = serve_in_thread(twin)
    try:
        kubeconfig = handle.write_kubeconfig(tmp_path / "kc")
        out = tmp_path / "cluster.json"
        result = CliRunner().invoke(cli, ["snapshot", "--kubeconfig", str(kubeconfig), "--out", str(out)])
    finally:
        handle.stop()
    assert result.exit_code == 0, result.output
    text = out.read_text()
    for secret in (JWT, KEY_DATA, PASSWORD, "abc123def", "MIIE"):
        assert secret not in text and secret not in result.stderr and secret not in result.stdout
    kept = next(c for c in json.loads(text)["objects"]["configmaps"] if c["metadata"]["name"] == "kube-proxy")["data"]
    assert not {"ci.conf", "notes", "pem"} & set(kept) and "kubeconfig.conf" in kept  # tokenFile is a path, not a token
    assert "dropped from configmap kube-system/kube-proxy: ci.conf, notes, pem" in result.stderr
    assert f"redacted in pods shop/{pod['metadata']['name']}: spec.containers[0].env[0].value" in result.stderr
    captured = next(p for p in json.loads(text)["objects"]["pods"] if p["metadata"]["name"] == pod["metadata"]["name"])
    assert captured["spec"]["containers"][0]["env"][1] == {"name": "MODE", "value": "prod"}
