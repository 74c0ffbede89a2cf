"""migrate/redact.py: secrets found by name and by shape, everything else left as it was."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate.redact import REDACTED, is_key_material, is_secret_name, redact, redact_text

FAKE_JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJrczJ0LWZha2UifQ.ZmFrZXNpZ25hdHVyZWZha2U"


@pytest.mark.parametrize("text, secret", [
    ("http://proxyuser:Pr0xyPa55@proxy.corp:3128", "Pr0xyPa55"),
    ("https://hook:W3bh00kPw@auth.corp/authenticate", "W3bh00kPw"),
    ("abcdef.0123456789abcdef", "0123456789abcdef"),
    ("--oidc-client-secret=0idcS3cret --v=2", "0idcS3cret"),
    ("users:\n- name: x\n  user:\n    token: T0kenInKubeconfig\n", "T0kenInKubeconfig"),
    ("apiServer:\n  extraArgs:\n  - name: oidc-client-secret\n    value: NvS3cret\n", "NvS3cret"),
    ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIFakeKeyBody\n-----END EC PRIVATE KEY-----", "MHcCAQEEIFakeKeyBody"),
    ("client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpGYWtl", "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpGYWtl"),
    (FAKE_JWT, FAKE_JWT),
    ("Xq3vL0pS8kR2mN7tY1wZ4bC6dF9gH5jK0aE2iO8uQ1s=", "Xq3vL0pS8kR2mN7tY1wZ4bC6dF9gH5jK0aE2iO8uQ1s="),
])
def test_a_credential_is_found_by_its_shape_whatever_its_key(text: str, secret: str) -> None:
    assert secret not in redact_text(text)
    assert secret not in str(redact({"innocent_name": text}))


@pytest.mark.parametrize("text", [
    "http://[fd00::1]:3128", "http://proxy.corp:3128", "node01.cluster.example.com", "10.233.0.0/18", "v1.31.4",
    "sha256:" + "ab" * 32, "registry.k8s.io/pause:3.10", "--feature-gates=Foo=true", "/etc/kubernetes/ssl/ca.key",
    "--token-ttl=0", "--token-auth-file=/etc/kubernetes/tokens.csv",
])
def test_ordinary_values_pass_unchanged(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize("name", ["kubeadm_token", "kubeadm_certificate_key", "proxy_password", "kube_encrypt_token",
                                  "client-key", "oidc.client.secret", "registry_credentials"])
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)
    assert redact({name: "hunter2"}) == {name: REDACTED}


def test_switches_and_paths_named_like_secrets_are_kept() -> None:
    data = {"kube_webhook_token_auth": True, "key_file": "/etc/x.key", "kube_token_ttl": 0, "kubeadm_token": ""}
    assert redact(data) == data


def test_a_secret_flag_given_alone_hides_the_next_argument() -> None:
    assert redact(["--db-password", "l1teral", "--port", "80"]) == ["--db-password", REDACTED, "--port", "80"]


def test_name_value_pairs_hide_the_value_of_a_secret_name() -> None:
    env = [{"name": "DB_PASSWORD", "value": "l1teral"}, {"name": "LOG_LEVEL", "value": "debug"}]
    assert redact(env) == [{"name": "DB_PASSWORD", "value": REDACTED}, {"name": "LOG_LEVEL", "value": "debug"}]


@given(st.binary(min_size=16, max_size=64).filter(lambda b: len(b) in (16, 24, 32, 48, 64)))
def test_random_keys_are_key_material_when_they_mix_cases_and_digits(raw: bytes) -> None:
    import base64
    import re

    text = base64.b64encode(raw).decode()
    mixed = re.search(r"[a-z]", text) and re.search(r"[A-Z]", text) and re.search(r"[0-9+/]", text)
    assert is_key_material(text) == bool(mixed)


@given(st.text(max_size=200))
def test_redaction_is_idempotent_and_never_fails(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


def test_redact_imports_the_standard_library_only() -> None:
    tree = ast.parse((Path(__file__).resolve().parents[1] / "migrate" / "redact.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "base64", "binascii", "re", "typing"}


@pytest.mark.parametrize("module", ["diff.py", "talos/report.py", "ansible.py"])
def test_library_modules_do_not_import_the_terminal(module: str) -> None:
    source = (Path(__file__).resolve().parents[1] / "migrate" / module).read_text()
    assert "migrate.ui" not in source and "from migrate import ui" not in source and "rich" not in source
