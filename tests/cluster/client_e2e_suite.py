"""Where the official client's e2e suite (kubernetes/e2e_test of kubernetes-client/python) comes from.

The suite is not in the `kubernetes` wheel or sdist on PyPI, and the project copies no upstream code, so it
is installed beside the project, outside the repository, at one pinned commit whose files are checked
against a digest:

    python -m tests.cluster.client_e2e_suite --from-git /path/to/kubernetes-client-python   # a clone
    python -m tests.cluster.client_e2e_suite --from-tarball python-<commit>.tar.gz          # an archive

K2T_CLIENT_E2E=<dir holding kubernetes/e2e_test> points the runner elsewhere.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

COMMIT = "024658493d124f046fc0a9827a2a3165cf2aee28"  # master of 2026-08-17, the newest the client 37.x tests with
DIGEST = "9d117363a1edbd6882b6b68dd0dca3b9bc5f6d23dfdaab5b0ad0822fca6d3091"  # of every file under kubernetes/e2e_test
SUITE = "kubernetes/e2e_test"
HOME = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubespray2talos" / f"kubernetes-client-python-{COMMIT[:12]}"


def digest(root: Path) -> str:
    """sha256 over `sha256  path` lines of the suite's files, as `sha256sum | sha256sum` computes it."""
    lines = []
    for path in sorted(p for p in (root / SUITE).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(root).as_posix()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def locate() -> Path:
    """The directory holding kubernetes/e2e_test at the pinned commit; AssertionError naming the fix if absent."""
    root = Path(os.environ.get("K2T_CLIENT_E2E") or HOME)
    if not (root / SUITE).is_dir():
        raise AssertionError(
            f"the official client's e2e suite is not installed at {root}: install kubernetes-client/python's "
            f"{SUITE} at commit {COMMIT} with `python -m tests.cluster.client_e2e_suite --from-git CLONE` "
            "(or --from-tarball ARCHIVE), or set K2T_CLIENT_E2E")
    found = digest(root)
    if found != DIGEST:
        raise AssertionError(f"{root / SUITE} is not the suite at {COMMIT} (digest {found}, want {DIGEST}): reinstall it")
    return root


def _extract(members: dict[str, bytes], target: Path) -> None:
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".suite-"))
    for name, data in members.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if digest(staging) != DIGEST:
        shutil.rmtree(staging)
        raise SystemExit(f"the files given are not {SUITE} at {COMMIT} (digest mismatch); nothing installed")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # whole or not at all


def _from_git(clone: Path) -> dict[str, bytes]:
    archive = subprocess.run(["git", "-C", str(clone), "archive", "--format=tar", COMMIT, SUITE],
                             check=True, capture_output=True).stdout
    return _from_tar(tarfile.open(fileobj=io.BytesIO(archive)), strip=0)


def _from_tar(tar: tarfile.TarFile, strip: int = 1) -> dict[str, bytes]:
    members = {}
    for member in tar.getmembers():
        name = "/".join(member.name.split("/")[strip:])
        if member.isfile() and name.startswith(SUITE + "/"):
            handle = tar.extractfile(member)
            assert handle is not None
            members[name] = handle.read()
    return members


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-git", type=Path, help="a clone of kubernetes-client/python that has the pinned commit")
    source.add_argument("--from-tarball", type=Path, help="an archive of the repository at the pinned commit")
    args = parser.parse_args(argv)
    members = _from_git(args.from_git) if args.from_git else _from_tar(tarfile.open(args.from_tarball))
    HOME.parent.mkdir(parents=True, exist_ok=True)
    _extract(members, HOME)
    print(f"installed {SUITE} at {COMMIT} in {HOME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
