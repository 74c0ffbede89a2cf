"""Secrets in `diff`: a changed one is reported as "changed (redacted)", and no value or digest ever shows."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from migrate.talos.secret_items import ITEMS
from tests.cli.test_diff import DEMO_PKI, make_plan, run, run_json
from tests.conftest import INVENTORIES


def _plan(out: Path, *extra: str) -> Path:
    return make_plan(INVENTORIES / "demo", "--out", out, "--talos-version", "1.12", *extra)


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("secret-plans")
    return {"pki": _plan(root / "pki", "--pki", str(DEMO_PKI)), "fresh": _plan(root / "fresh")}


def _secret_values(plan: Path) -> list[str]:
    """Every secret string of the plan's bundle (long enough to be recognised in output)."""
    found: list[str] = []
    stack = [yaml.safe_load((plan / "secrets.yaml").read_text())]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, str) and len(item) >= 16:
            found.append(item)
    return found


def _assert_nothing_secret_shown(args: tuple, *plans: Path) -> None:
    for fmt in ("table", "markdown", "json"):
        out = run(*args, "--output", fmt).stdout
        for plan in plans:
            for value in _secret_values(plan):
                assert value[:16] not in out
        assert not re.search(r"[0-9a-f]{32}|[A-Za-z0-9+/]{40}", out), "something digest-like is printed"
        assert "digest" not in out.lower() and "hash" not in out.lower()


def _with_bundle_edit(plan: Path, target: Path, section: str, key: str) -> Path:
    shutil.copytree(plan, target)
    path = target / "secrets.yaml"
    bundle = yaml.safe_load(path.read_text())
    value = bundle[section][key]
    bundle[section][key] = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    path.write_text(yaml.safe_dump(bundle))
    return target


@pytest.mark.parametrize(
    "section, key, item, severity",
    [
        ("secrets", "bootstraptoken", "bootstrap_token", "risky"),
        ("secrets", "secretboxencryptionsecret", "secretbox_encryption_secret", "breaking"),
        ("trustdinfo", "token", "trustd_token", "risky"),
    ],
)
def test_one_changed_secret_is_reported_redacted_with_its_severity(plans, tmp_path, section, key, item, severity):
    other = _with_bundle_edit(plans["pki"], tmp_path / "other", section, key)
    code, data = run_json(plans["pki"], other)
    assert code == 1
    (change,) = data["changes"]
    assert change["path"] == f"identity.secrets.{item}"
    assert (change["severity"], change["value"], change["area"]) == (severity, "changed (redacted)", "identity")
    assert "before" not in change and "after" not in change
    _assert_nothing_secret_shown((plans["pki"], other), plans["pki"], other)


def test_plans_with_different_pki_report_every_ca_and_key_as_breaking(plans):
    code, data = run_json(plans["pki"], plans["fresh"])
    assert code == 1
    secrets = {c["path"].rsplit(".", 1)[1]: c for c in data["changes"] if c["path"].startswith("identity.secrets.")}
    for item in ("kubernetes_ca", "service_account_key", "aggregator_ca", "etcd_ca", "talos_os_ca"):
        assert secrets[item]["severity"] == "breaking", item
    assert "cannot join" in secrets["kubernetes_ca"]["consequence"]
    assert "tokens are invalid" in secrets["service_account_key"]["consequence"]
    assert set(secrets) <= set(ITEMS) | {"encryption_configuration"}
    _assert_nothing_secret_shown((plans["pki"], plans["fresh"]), plans["pki"], plans["fresh"])


def test_the_carried_encryption_configuration_is_compared(plans, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(plans["pki"], other)
    config = other / "controlplane.yaml"
    docs = list(yaml.safe_load_all(config.read_text()))
    root = next(d for d in docs if "kind" not in d)
    (carried,) = [f for f in root["machine"]["files"] if "encryptionconfig" in f["path"]]
    secret = yaml.safe_load(carried["content"])["resources"][0]["providers"][0]["secretbox"]["keys"][0]["secret"]
    carried["content"] = carried["content"].replace(secret, secret[:-4] + "AAA=")
    config.write_text(yaml.safe_dump_all(docs))
    code, data = run_json(plans["pki"], other)
    assert code == 1
    assert [c["path"] for c in data["changes"]] == ["identity.secrets.encryption_configuration"]
    assert secret[:16] not in run(plans["pki"], other, "--output", "markdown").stdout


def test_a_plan_without_the_clusters_pki_is_one_breaking_identity_change_its_verdict_explains(plans):
    code, data = run_json(INVENTORIES / "demo", plans["fresh"])
    assert code == 1
    (change,) = [c for c in data["changes"] if c["path"].startswith("identity.secrets")]
    assert change["severity"] == "breaking" and change["value"] == "changed (redacted)"
    assert "generated without --pki" in change["consequence"]
    assert change["intended"] is True and change["explained_by"] == ["cluster identity (manual)"]
    _, joinable = run_json(INVENTORIES / "demo", plans["pki"])
    assert not [c for c in joinable["changes"] if c["path"].startswith("identity.secrets")]


def test_identical_secrets_are_no_difference(plans, tmp_path):
    same = tmp_path / "same"
    shutil.copytree(plans["pki"], same)
    assert run(plans["pki"], same).exit_code == 0


def test_fingerprints_never_serialize_or_show_their_digests(plans):
    import pickle

    from migrate.talos.plan_dir import read_plan

    read = read_plan(plans["pki"])
    assert "kubernetes_ca" in repr(read.secrets) and not re.search(r"[0-9a-f]{16}|\\x", repr(read))
    with pytest.raises(TypeError):
        pickle.dumps(read.secrets)
