"""What `prepare` reads from a plan directory, and the host-side changes it shows (not applies) as the exact Kubespray
variables to set before re-running Kubespray on the old control planes."""
# exercised by tests/migration/test_prepare.py

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from migrate.cluster.base import BootstrapToken
from migrate.errors import UserError
from migrate.ledger.fleet import read_plan_report
from migrate.migration.prepare_targets import Facts
from migrate.talos.secrets import load_bundle

ISSUER_FLAG = "service-account-issuer"


@dataclass(frozen=True)
class HostStep:
    title: str
    needed: bool
    why: str
    variables: str = ""  # YAML for the inventory's group_vars
    run: str = ""  # the Kubespray run that applies it

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "needed": self.needed, "why": self.why, "variables": self.variables,
                "run": self.run}


def load_facts(plan_dir: Path, token_ttl: float) -> Facts:
    """The endpoint, the Talos bootstrap token and the cluster CA, from report.json and secrets.yaml."""
    report = read_plan_report(plan_dir)
    endpoint = report.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith("https://"):
        raise UserError("report.json has no https endpoint", where=str(plan_dir / "report.json"),
                        hint="re-run `kubespray2talos plan` with a stable endpoint (loadbalancer_apiserver)")
    host = urlsplit(endpoint).hostname or ""
    nodes = {str(n.get(k)): str(n.get("name")) for n in report.get("nodes") or [] if isinstance(n, dict)
             for k in ("ip", "name") if n.get(k)}
    if host in nodes:  # Kubespray without loadbalancer_apiserver: the first control plane, which the migration retires
        raise UserError(f"the plan's endpoint {endpoint} is host {nodes[host]}, which the migration replaces: kube-proxy "
                        "and the CNI would lose the API with it", where=str(plan_dir / "report.json"),
                        hint="give the cluster a stable endpoint first (loadbalancer_apiserver: a load balancer, VIP "
                             "or DNS name in front of old and new API servers), then re-run plan")
    secrets = plan_dir / "secrets.yaml"
    if not secrets.is_file():
        raise UserError("no secrets.yaml: the plan's bootstrap token and CA are needed", where=str(secrets),
                        hint="give the directory `kubespray2talos plan --out` wrote")
    bundle = load_bundle(secrets)
    token_id, _, token_secret = bundle.bootstrap_token.partition(".")
    return Facts(endpoint=endpoint.rstrip("/"), token=BootstrapToken(token_id, token_secret),
                 ca_data=base64.b64encode((bundle.k8s.crt or "").encode()).decode(), token_ttl=token_ttl)


def talos_issuers(plan_dir: Path) -> list[str]:
    """The service-account issuers in controlplane.yaml, first (the one Talos signs with) first."""
    path = plan_dir / "controlplane.yaml"
    try:
        docs = list(yaml.safe_load_all(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read the plan's control-plane config: {exc}", where=str(path)) from None
    found = _find(docs, ISSUER_FLAG)
    return [found] if isinstance(found, str) else [str(i) for i in found or []]


def _find(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            if (hit := _find(item, key)) is not None:
                return hit
    return None


def old_issuers(kubeadm_config: Mapping[str, Any] | None) -> list[str]:
    """The issuers the kubeadm API servers accept: extraArgs (v1beta4 list or older map), else kubeadm's default."""
    text = ((kubeadm_config or {}).get("data") or {}).get("ClusterConfiguration") or ""
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        config = {}
    extra = ((config.get("apiServer") or {}).get("extraArgs")) if isinstance(config, dict) else None
    pairs = [(a.get("name"), a.get("value")) for a in extra if isinstance(a, dict)] if isinstance(extra, list) \
        else list(extra.items()) if isinstance(extra, dict) else []
    named = [str(v) for k, v in pairs if k == ISSUER_FLAG and v]
    domain = ((config.get("networking") or {}).get("dnsDomain") if isinstance(config, dict) else None) or "cluster.local"
    return named or [f"https://kubernetes.default.svc.{domain}"]


def host_steps(plan_dir: Path, kubeadm_config: Mapping[str, Any] | None) -> list[HostStep]:
    report = read_plan_report(plan_dir)
    return [_issuer_step(talos_issuers(plan_dir), old_issuers(kubeadm_config), str(report.get("kubespray_release") or ""),
                         str(report.get("kubernetes_version") or "<the running version>")),
            *_manual_findings(report)]


def _issuer_step(talos: list[str], old: list[str], release: str, version: str) -> HostStep:
    title = "the old API servers accept the service-account issuer Talos signs with"
    if not talos:
        return HostStep(title, False, "the plan sets no service-account-issuer; Talos signs with its endpoint, which "
                                      "the plan's report covers (finding 'service-account issuer')")
    signing = talos[0]
    if signing in old:
        return HostStep(title, False, f"Talos signs service-account tokens as {signing}, which the kubeadm API servers "
                                      "already accept: nothing to change on the hosts.")
    audiences = ",".join(dict.fromkeys([*old, signing]))
    patch = [{"op": "add", "path": "/spec/containers/0/command/-", "value": f"--{ISSUER_FLAG}={signing}"}]
    if _release(release) < (2, 27):  # before 2.27 kubeadm_patches named a directory of patch files
        variables = yaml.safe_dump({"kube_kubeadm_apiserver_extra_args": {"api-audiences": audiences},
                                    "kubeadm_patches": {"enabled": True, "source_dir": "{{ inventory_dir }}/patches",
                                                        "dest_dir": "{{ kube_config_dir }}/patches"}}, sort_keys=False)
        variables += "# and the file {{ inventory_dir }}/patches/kube-apiserver0+json.yaml:\n# " + json.dumps(patch) + "\n"
    else:
        variables = yaml.safe_dump({"kube_kubeadm_apiserver_extra_args": {"api-audiences": audiences},
                                    "kubeadm_patches": [{"target": "kube-apiserver", "type": "json", "patch": patch}]},
                                   sort_keys=False)
    why = (f"Talos signs tokens as {signing}; the kubeadm API servers accept only {', '.join(old)} and would reject "
           "pods' tokens from Talos nodes. Kubespray's extra-args map holds one value per flag, so the extra issuer is "
           f"appended with a kubeadm patch (accepted, not signing) and api-audiences lists both (Kubespray {release}).")
    return HostStep(title, True, why, variables,
                    # kubeadm re-renders existing API server manifests only on the upgrade path (upgrade_cluster_setup)
                    f"ansible-playbook -b -i INVENTORY upgrade-cluster.yml -e kube_version={version}  # from the "
                    "cluster's Kubespray checkout: a rolling re-render at the same version")


def _release(text: str) -> tuple[int, int]:
    """`v2.26.0` → (2, 26); an unknown release reads as current (the list form)."""
    parts = text.lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return 99, 0


def _manual_findings(report: Mapping[str, Any]) -> list[HostStep]:
    """The plan's open host-side encryption items (a key Talos cannot name), as the plan worded them."""
    steps = []
    for f in report.get("findings") or []:
        if isinstance(f, dict) and f.get("setting") in ("kube_encrypt_secret_data", "kube_encryption_algorithm") \
                and f.get("verdict") == "manual":
            steps.append(HostStep(f"encryption: {f['setting']}", True, str(f.get("reason") or "")))
    return steps
