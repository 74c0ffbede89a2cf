"""Defect 6: a snapshot keeps no credential (env literals, --password= args, URL userinfo, annotations,
kubeadm extraArgs in name/value form) and is a 0600 file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import yaml
from click.testing import CliRunner

from migrate.cli import cli
from migrate.cluster.twin import Twin, serve_in_thread
from migrate.cluster.twin.resources import CONFIGMAPS, PODS
from tests.conftest import CLUSTERS

SECRETS = ("EnvL1teralKS2T", "ArgPassw0rdKS2T", "Ann0tUserinfoKS2T", "0idcExtraArgKS2T", "Sp4cedArgKS2T")


def test_snapshot_scrubs_credentials_and_is_private(tmp_path: Path) -> None:
    twin = Twin.from_snapshot(CLUSTERS / "demo.json")
    pod = next(p for p in twin.store.objects(PODS, "shop"))
    container = {**pod["spec"]["containers"][0],
                 "env": [{"name": "DB_PASSWORD", "value": "EnvL1teralKS2T"}, {"name": "MODE", "value": "prod"}],
                 "args": ["--db-password=ArgPassw0rdKS2T", "--port=8080", "--admin-token", "Sp4cedArgKS2T"]}
    meta = {**pod["metadata"], "annotations": {"backup.example/target": "s3://svc:Ann0tUserinfoKS2T@backup.corp/x"}}
    twin.store.update(PODS, {**pod, "metadata": meta,
                             "spec": {**pod["spec"], "containers": [container, *pod["spec"]["containers"][1:]]}}, force=True)
    kubeadm = twin.store.get(CONFIGMAPS, "kube-system", "kubeadm-config")
    config = yaml.safe_load(kubeadm["data"]["ClusterConfiguration"])
    config.setdefault("apiServer", {})["extraArgs"] = [{"name": "oidc-client-secret", "value": "0idcExtraArgKS2T"},
                                                       {"name": "oidc-issuer-url", "value": "https://id.corp"}]
    twin.store.update(CONFIGMAPS, {**kubeadm, "data": {**kubeadm["data"], "ClusterConfiguration": yaml.safe_dump(config)}})
    handle = serve_in_thread(twin)
    try:
        out = tmp_path / "cluster.json"
        result = CliRunner().invoke(cli, ["snapshot", "--kubeconfig", str(handle.write_kubeconfig(tmp_path / "kc")),
                                          "--out", str(out)])
    finally:
        handle.stop()
    assert result.exit_code == 0, result.output
    text = out.read_text()
    leaked = [s for s in SECRETS if s in text or s in result.output]
    assert not leaked, leaked
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    snap = json.loads(text)
    kept = next(c for c in snap["objects"]["configmaps"] if c["metadata"]["name"] == "kubeadm-config")["data"]
    assert "https://id.corp" in kept["ClusterConfiguration"]  # the document stays, only the secret went
    captured = next(p for p in snap["objects"]["pods"] if p["metadata"]["name"] == pod["metadata"]["name"])
    assert captured["spec"]["containers"][0]["args"][1] == "--port=8080"
