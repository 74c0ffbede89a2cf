"""--live reads every service-account issuer the running API server accepts, however the flag is repeated."""

from __future__ import annotations

from migrate.cluster.observe import apiserver_flags, extra_args

ISSUERS = ("https://kubernetes.default.svc.cluster.local", "https://k8s-api.demo.internal:6443")


def test_a_repeated_issuer_flag_in_the_static_pod_keeps_both():
    pod = {"spec": {"containers": [{"name": "kube-apiserver", "command": [
        "kube-apiserver", f"--service-account-issuer={ISSUERS[0]}", "--secure-port=6443",
        f"--service-account-issuer={ISSUERS[1]}"]}]}}
    found = apiserver_flags([pod])
    assert found["service-account-issuer"].split(",") == list(ISSUERS)
    assert found["secure-port"] == "6443"


def test_repeated_v1beta4_extra_args_keep_both():
    section = {"extraArgs": [{"name": "service-account-issuer", "value": ISSUERS[0]},
                             {"name": "service-account-issuer", "value": ISSUERS[1]},
                             {"name": "anonymous-auth", "value": "false"}]}
    assert extra_args(section) == {"service-account-issuer": ",".join(ISSUERS), "anonymous-auth": "false"}
