"""The validator finds what Talos would refuse: schema errors and the rules the schema misses."""

from __future__ import annotations

import copy

import pytest

from migrate.talos.render import render
from migrate.talos.secrets import generate_bundle
from migrate.talos.validate import talos_rules, validate
from migrate.talos.versions import choose
from tests.conftest import shared_path
from tests.talos.plan_fixtures import resolved


@pytest.fixture(scope="module")
def bundle():
    return generate_bundle()


def configs(minor: str, bundle):
    spec = resolved("demo").spec
    return render(spec, bundle, choose(minor, spec.kubernetes_version))


def messages(problems):
    return [f"{p.path}: {p.message}" for p in problems]


@pytest.mark.parametrize("minor", ["1.11", "1.13"])
def test_generated_documents_pass(minor, bundle):
    schemas = shared_path("talos", "schemas")
    rendered = configs(minor, bundle)
    assert validate("controlplane.yaml", rendered.controlplane, choose(minor, "1.31"), schemas) == []


def test_each_broken_rule_is_found(bundle):
    schemas = shared_path("talos", "schemas")
    talos = choose("1.12", "1.31")
    docs = copy.deepcopy(configs("1.12", bundle).controlplane)
    main = docs[0]
    main["persist"] = True
    main["cluster"]["apiServer"]["extraArgs"]["etcd-servers"] = "https://10.0.10.11:2379"
    main["machine"]["kubelet"].setdefault("extraConfig", {})["rotateCertificates"] = False
    main["machine"]["nodeLabels"]["rack"] = 7
    main["cluster"]["apiServer"]["extraArgs"]["service-account-issuer"] = ["https://a", "https://b"]
    main["machine"]["network"] = {"hostname": "cp1"}  # beside the HostnameConfig document
    found = "\n".join(messages(validate("controlplane.yaml", docs, talos, schemas)))
    for expected in ("persist", "etcd-servers: kube-apiserver flag is on Talos's deny list",
                     "extraConfig.rotateCertificates: protected kubelet field", "nodeLabels.rack: map values must be strings",
                     "service-account-issuer: value must be a string", "machine.network.hostname: conflicts with the HostnameConfig"):
        assert expected in found


def test_lists_in_extra_args_are_fine_from_1_13(bundle):
    rendered = configs("1.13", bundle)
    assert isinstance(rendered.controlplane[0]["cluster"]["apiServer"]["extraArgs"]["service-account-issuer"], list)
    assert talos_rules("controlplane.yaml", rendered.controlplane, choose("1.13", "1.31")) == []


def test_schema_errors_are_reported_per_document(bundle):
    schemas = shared_path("talos", "schemas")
    docs = copy.deepcopy(configs("1.13", bundle).controlplane)
    docs[0]["machine"]["kubelet"]["imagee"] = "typo"
    hostname = next(d for d in docs if d.get("kind") == "HostnameConfig")
    hostname["auto"] = False  # what PyYAML makes of an unquoted `off`
    problems = validate("controlplane.yaml", docs, choose("1.13", "1.31"), schemas)
    assert {p.rule for p in problems} == {"schema"}
    assert {p.document for p in problems} == {"v1alpha1", "HostnameConfig"}


def test_rules_still_run_without_schemas(bundle):
    docs = copy.deepcopy(configs("1.13", bundle).controlplane)
    docs[0]["cluster"]["scheduler"]["extraArgs"] = {"kubeconfig": "/etc/kubernetes/scheduler.conf"}
    problems = validate("controlplane.yaml", docs, choose("1.13", "1.31"), schemas=None)
    assert [p.rule for p in problems] == ["talos"]
