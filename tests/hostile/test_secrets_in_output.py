"""Defect 5: a run over an inventory full of fake secrets leaks none of them outside 0600 files.

Every output is searched: stdout and stderr of each verb, every file written (plan directory, fetched PKI),
HOME (so ~/.ansible) and TMPDIR (ansible-runner's private dir and its artifacts).
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

from playbook_fixtures.pki import generate as fake
from tests.conftest import FIXTURES
from tests.hostile.conftest import HOSTILE, k2t, k2t_here

# the fake secrets of playbook_fixtures/hostile/secrets-everywhere, each as distinctive as a real one is
SECRETS = {
    "proxy password": "Pr0xyS3cretKS2T",
    "kubeadm_token secret": "c0ffee0123456789",
    "kubeadm_certificate_key": "e6a2eb8581237ab72a4f494f30285ec1",
    "kube_encrypt_token": "S2V5TWF0ZXJpYWxLUzJURmFrZUtleU1hdGVyaWFsMTI=",
    "token webhook password": "W3bh00kS3cretKS2T",
    "authorization webhook password": "Auth0rizeS3cretKS2T",
    "audit webhook password": "Aud1tS3cretKS2T",
    "registry password": "R3gistryS3cretKS2T",
    "apiserver oidc-client-secret": "0idcS3cretKS2T",
    "kubelet bootstrap token": "deadbeef01234567",
}


def test_no_fake_secret_reaches_any_output_but_0600_files(tmp_path: Path) -> None:
    inv = Path(shutil.copytree(HOSTILE / "secrets-everywhere", tmp_path / "inventory"))
    node = fake.node_filesystem(FIXTURES / "pki" / "demo", tmp_path / "node")
    fake.local_node(inv, "cp1", node)
    home, tmp, out = tmp_path / "home", tmp_path / "tmp", tmp_path / "out"
    for d in (home, tmp, out):
        d.mkdir()
    env = {"HOME": str(home), "TMPDIR": str(tmp)}
    runs = {  # real processes where HOME and TMPDIR matter (Ansible, ansible-runner); the rest in this process
        "inspect --all": k2t("inspect", inv, "--all", env=env),
        "fetch-pki": k2t("fetch-pki", inv, "--out", out / "pki", env=env, timeout=120),
        "inspect --all -o yaml": k2t_here("inspect", inv, "--all", "-o", "yaml"),
        "plan": k2t_here("plan", inv, "--out", out / "plan"),
        "diff inventory plan": k2t_here("diff", inv, out / "plan"),
        "diff -o markdown": k2t_here("diff", HOSTILE / "base", inv, "-o", "markdown"),
    }
    assert all(r.code in (0, 1) for r in runs.values()), {k: r.err for k, r in runs.items() if r.code not in (0, 1)}
    leaks = [f"{name} in {verb} output" for verb, r in runs.items() for name, s in SECRETS.items() if s in r.both]
    written = [p for root in (home, tmp, out) for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "report.md" for p in written)  # the plan's readable files are searched too
    for path in written:
        text = path.read_bytes().decode(errors="replace")
        for name, secret in SECRETS.items():
            if secret in text and stat.S_IMODE(path.stat().st_mode) != 0o600:
                leaks.append(f"{name} in {path.relative_to(tmp_path)} ({oct(stat.S_IMODE(path.stat().st_mode))})")
    assert not leaks, leaks
    assert not list(tmp.iterdir()), "ansible-runner left files in TMPDIR"
