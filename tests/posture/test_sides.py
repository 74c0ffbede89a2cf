"""Both sides of the posture over the bundled and the shared real-world inventories: every before-value is what
`inspect` reports for the variable (or the component's default when the inventory leaves it unset), every
after-value is what reading the written plan back gives, and plan's report.json and `diff --security` agree."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrate.errors import UserError
from migrate.kubespray import ResolvedCluster, load_cluster
from migrate.kubespray.releases import RELEASES, release_named
from migrate.posture.controls import posture_table
from migrate.posture.kubespray_side import kubespray_values
from migrate.posture.render import posture_data
from migrate.posture.strength import GO_DEFAULT
from migrate.spec import Audit
from migrate.talos.plan import PlanRequest, plan_cluster
from migrate.talos.plan_dir import read_plan
from migrate.talos.posture_read import plan_dir_posture, plan_posture
from migrate.talos.read import MachineConfig
from migrate.talos.render import render
from migrate.talos.secrets import generate_bundle
from migrate.talos.versions import all_versions
from tests.conftest import INVENTORIES, SHARED

BUNDLED = ("demo", "single-node", "dual-stack", "oidc-proxy-ntp", "ha-external-lb", "hardened")
EXPECTED = SHARED / "kubespray" / "expected"
REAL_WORLD = sorted(p.stem for p in EXPECTED.glob("*.json") if not p.stem.startswith("sample-")
                    and json.loads(p.read_text())["status"] == "ok") if EXPECTED.is_dir() else []

# key → the variable `inspect` reports it under, where the key is one variable (a component flag of the same name
# in kube_kubeadm_*_extra_args or a kubelet field in kubelet_config_extra_args wins, as kubeadm applies them)
VARIABLE = {
    "kube-apiserver.anonymous-auth": "kube_api_anonymous_auth",
    "kube-apiserver.profiling": "kube_profiling",
    "kube-apiserver.service-account-lookup": "kube_apiserver_service_account_lookup",
    "kube-apiserver.tls-min-version": "tls_min_version",
    "kube-controller-manager.profiling": "kube_profiling",
    "kube-controller-manager.bind-address": "kube_controller_manager_bind_address",
    "kube-scheduler.profiling": "kube_profiling",
    "kube-scheduler.bind-address": "kube_scheduler_bind_address",
    "kubelet.readOnlyPort": "kube_read_only_port",
    "kubelet.podPidsLimit": "kubelet_pod_pids_limit",
    "kubelet.rotateCertificates": "kubelet_rotate_certificates",
    "kubelet.serverTLSBootstrap": "kubelet_rotate_server_certificates",
    "kubelet.protectKernelDefaults": "kubelet_protect_kernel_defaults",
    "kubelet.seccompDefault": "kubelet_seccomp_default",
    "kubelet.streamingConnectionIdleTimeout": "kubelet_streaming_connection_idle_timeout",
    "kubelet.makeIPTablesUtilChains": "kubelet_make_iptables_util_chains",
    "kubelet.tlsMinVersion": "tls_min_version",
}
OVERRIDES = {"kube-apiserver": "kube_kubeadm_apiserver_extra_args", "kube-controller-manager": "kube_kubeadm_controller_extra_args",
             "kube-scheduler": "kube_kubeadm_scheduler_extra_args", "kubelet": "kubelet_config_extra_args"}


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def check_before_values(resolved: ResolvedCluster) -> dict[str, Any]:
    table = posture_table()
    defaults = {c.key: c.default for c in table.controls}
    before = kubespray_values(resolved.spec, resolved.settings, table)
    assert set(before) >= table.keys
    for key, variable in VARIABLE.items():
        component, _, name = key.partition(".")
        override = resolved.settings.get(OVERRIDES[component])
        if override is not None and isinstance(override.value, dict) and name in override.value:
            assert _text(before[key]) == _text(override.value[name]), key
            continue
        setting = resolved.settings[variable]
        expected = setting.value if setting.defined and setting.value not in (None, "") else defaults[key]
        assert _text(before[key]) == _text(expected), (key, variable, setting.origin)
    audit = resolved.settings["kubernetes_audit"].value
    assert (before["kube-apiserver.audit-policy-level"] == "None") == (not audit)
    encrypted = resolved.settings["kube_encrypt_secret_data"].value
    assert (before["kube-apiserver.encryption-provider"] == "identity") == (not encrypted)
    if not (resolved.settings["tls_cipher_suites"].value or resolved.spec.control_plane.apiserver.extra_args.get(
            "tls-cipher-suites")):
        assert before["kube-apiserver.tls-cipher-suites"] == GO_DEFAULT
    return before


def check_after_values(resolved: ResolvedCluster, out: Path) -> None:
    """Plan, read the written documents back, and compare the posture's Talos side with that read-back."""
    result = plan_cluster(resolved, PlanRequest(inventory=Path("."), out=out))
    plan = read_plan(out, carried=resolved.spec)
    posture = plan_dir_posture(resolved.spec, resolved.settings, plan, out)
    after = {r.control.key: r.after for r in posture.rows if r.posture != "n/a on Talos"}
    kubelet = plan.spec.kubelet.config
    defaults = {c.key: c.default for c in posture_table().controls}
    for key, value in after.items():
        component, _, name = key.partition(".")
        if component == "kubelet" and name != "tlsCipherSuites":
            assert value == kubelet.get(name, defaults[key]), key
    cp = plan.spec.control_plane
    assert after["kube-apiserver.anonymous-auth"] == cp.anonymous_auth
    assert after["kube-apiserver.authorization-mode"] == list(cp.authorization_modes)
    assert after["kube-apiserver.audit-log-maxage"] == (cp.audit.max_age if cp.audit else None)
    assert (after["kube-apiserver.encryption-provider"] == "identity") == (cp.encryption is None)
    cp_config = next(c for c in plan.node_configs.values() if c.machine_type == "controlplane")
    for section, component in (("apiServer", "kube-apiserver"), ("controllerManager", "kube-controller-manager"),
                               ("scheduler", "kube-scheduler")):
        args = cp_config.get("cluster", section, "extraArgs", default={})
        for flag in ("profiling", "bind-address"):
            if flag in args and f"{component}.{flag}" in after:
                assert after[f"{component}.{flag}"] == str(args[flag]), (component, flag)
    assert after["kube-controller-manager.bind-address"] == cp_config.get(
        "cluster", "controllerManager", "extraArgs", default={}).get("bind-address", "127.0.0.1")
    # the report written with the plan (documents in memory) and the posture read from the files agree
    written = json.loads((out / "report.json").read_text())["posture"]
    assert written["controls"] == posture_data(posture, "", "")["controls"]
    assert written["summary"] == result.report["posture"]["summary"]
    assert isinstance(cp_config, MachineConfig)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_inventories_before_equals_inspect_and_after_equals_the_read_back(name: str, tmp_path: Path) -> None:
    resolved = load_cluster(INVENTORIES / name)
    check_before_values(resolved)
    check_after_values(resolved, tmp_path / "plan")


@pytest.mark.parametrize("case", REAL_WORLD)
def test_real_world_inventories_before_equals_inspect_and_after_equals_the_read_back(case: str, tmp_path: Path) -> None:
    expected = json.loads((EXPECTED / f"{case}.json").read_text())
    try:
        release = release_named(expected["kubespray_release"])
        flag = release.name if release.minor <= RELEASES[-1].minor else None
    except UserError:
        flag = None
    inventory = SHARED / "kubespray" / "real-world" / case / expected["inventory_sources"][0]
    resolved = load_cluster(inventory, kubespray_version=flag)
    check_before_values(resolved)
    try:
        check_after_values(resolved, tmp_path / "plan")
    except UserError as exc:  # Kubernetes older than any Talos runs: plan refuses, the before side still holds
        assert "Kubernetes" in str(exc) or "kubernetes" in str(exc), exc


LEVELS = ("None", "Metadata", "Request", "RequestResponse")
PSA = ("privileged", "baseline", "restricted")
choices = st.fixed_dictionaries({
    "rules": st.lists(st.sampled_from([{"level": level} for level in LEVELS]), max_size=3).map(tuple),
    "retention": st.tuples(st.integers(1, 400), st.integers(1, 50), st.integers(1, 500)),
    "levels": st.one_of(st.none(), st.fixed_dictionaries({m: st.sampled_from(PSA) for m in ("audit", "enforce", "warn")})),
    "tls": st.sampled_from([None, "VersionTLS12", "VersionTLS13"]),
    "pids": st.one_of(st.none(), st.integers(1, 100_000)),
    "serving": st.booleans(),
    "talos": st.sampled_from([v for v in all_versions() if v.supports("1.31")]),
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices)
def test_the_plan_never_weakens_a_choice_it_can_carry(choice: dict[str, Any]) -> None:
    """Whatever the cluster chose for audit, PodSecurity, TLS and the kubelet, the plan's documents read back run
    it as strong or stronger; only Kubespray's built-in audit policy (no rules of its own) cannot be carried."""
    demo = load_cluster_cached("demo")
    spec, cp, kubelet = demo.spec, demo.spec.control_plane, dict(demo.spec.kubelet.config)
    max_age, backups, size = choice["retention"]
    args = {**cp.apiserver.extra_args, **({"tls-min-version": choice["tls"]} if choice["tls"] else {})}
    kubelet |= {"serverTLSBootstrap": choice["serving"], **({"podPidsLimit": choice["pids"]} if choice["pids"] else {}),
                **({"tlsMinVersion": choice["tls"]} if choice["tls"] else {})}
    spec = replace(spec, kubelet=replace(spec.kubelet, config=kubelet), control_plane=replace(
        cp, apiserver=replace(cp.apiserver, extra_args=args),
        audit=Audit(max_age=max_age, max_backups=backups, max_size=size, policy_rules=choice["rules"]),
        pod_security_defaults=choice["levels"] is not None, pod_security_levels=choice["levels"] or {}))
    rendered = render(spec, bundle(), choice["talos"])
    posture = plan_posture(spec, demo.settings, rendered.controlplane, choice["talos"].kubernetes_documents)
    weaker = {r.control.ident for r in posture.weaker}
    assert weaker <= {"3.2.2 kube-apiserver.audit-policy-level"}, [r.reason for r in posture.weaker]
    assert bool(weaker) == (not choice["rules"])  # the built-in policy logs RequestResponse; Talos's own, Metadata
    kept = {r.control.key: r.after for r in posture.rows}
    audits = any(rule["level"] != "None" for rule in choice["rules"]) or not choice["rules"]
    assert kept["kube-apiserver.audit-log-maxage"] == (max_age if audits else None)  # rules all None: no audit log
    assert kept["kubelet.serverTLSBootstrap"] == choice["serving"]


@cache
def load_cluster_cached(name: str) -> ResolvedCluster:
    return load_cluster(INVENTORIES / name)


@cache
def bundle() -> Any:
    return generate_bundle(now=datetime(2026, 1, 1, tzinfo=UTC))
