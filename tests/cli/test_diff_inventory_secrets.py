"""Two inventories: a secret setting that changes shows as "changed (redacted)", a re-encrypted one does not."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret

from tests.cli.test_diff import run, run_json
from tests.conftest import INVENTORIES

NAME = "vault-inline"
PASSWORD = INVENTORIES / f"{NAME}.pass"
SETTINGS = Path("group_vars") / "k8s_cluster" / "k8s-cluster.yml"


def _vault() -> VaultLib:
    return VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(PASSWORD.read_text().strip().encode()))])


def _with_encrypt_token(tmp_path: Path, plaintext: str | None) -> Path:
    """A copy of the inventory whose kube_encrypt_token is encrypted afresh (same value when plaintext is None)."""
    target = tmp_path / NAME
    shutil.copytree(INVENTORIES / NAME, target)
    path = target / SETTINGS
    text = path.read_text()
    block = re.search(r"kube_encrypt_token: !vault \|\n((?: {2,}.*\n)+)", text)
    vault = _vault()
    old = vault.decrypt("".join(line.strip() + "\n" for line in block.group(1).splitlines())).decode()
    cipher = vault.encrypt(old if plaintext is None else plaintext).decode()
    indented = "".join(f"          {line}\n" for line in cipher.splitlines())
    path.write_text(text.replace(block.group(1), indented))
    return target


def test_a_changed_vaulted_encryption_token_is_breaking_and_redacted(tmp_path):
    other = _with_encrypt_token(tmp_path, "an-entirely-different-token-123456")
    args = (INVENTORIES / NAME, other, "--vault-password-file", PASSWORD)
    code, data = run_json(*args)
    assert code == 1
    (change,) = data["changes"]
    assert change["path"] == "identity.secrets.kube_encrypt_token"
    assert (change["severity"], change["value"]) == ("breaking", "changed (redacted)")
    assert "unreadable" in change["consequence"]
    for fmt in ("table", "markdown", "json"):
        out = run(*args, "--output", fmt).stdout
        assert "an-entirely-different" not in out and "$ANSIBLE_VAULT" not in out
        assert not re.search(r"[0-9a-f]{32}", out)


def test_the_same_token_encrypted_again_is_no_difference(tmp_path):
    same = _with_encrypt_token(tmp_path, None)
    assert (INVENTORIES / NAME / SETTINGS).read_text() != (same / SETTINGS).read_text()
    code, data = run_json(INVENTORIES / NAME, same, "--vault-password-file", PASSWORD)
    assert (code, data["changes"]) == (0, [])


def test_a_changed_vault_file_behind_a_template_shows(tmp_path):
    target = tmp_path / "vault-file"
    shutil.copytree(INVENTORIES / "vault-file", target)
    password = INVENTORIES / "vault-file.pass"
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password.read_text().strip().encode()))])
    path = target / "group_vars" / "all" / "vault.yml"
    plain = vault.decrypt(path.read_text()).decode()
    assert "vault_kube_encrypt_token" in plain
    edited = re.sub(r"(vault_kube_encrypt_token:\s*)(\S.*)", r"\1'edited-token-value-0000000000000'", plain)
    path.write_text(vault.encrypt(edited).decode())
    code, data = run_json(INVENTORIES / "vault-file", target, "--vault-password-file", password)
    assert code == 1
    assert [c["path"] for c in data["changes"]] == ["identity.secrets.kube_encrypt_token"]
