"""Shared test fixtures: where the upstream data (../shared) and our own fixtures live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KS2T_SHARED", REPO.parent / "shared")).resolve()
FIXTURES = REPO / "playbook_fixtures"
INVENTORIES = FIXTURES / "inventories"
BROKEN = FIXTURES / "broken"
CLUSTERS = FIXTURES / "clusters"


def shared_path(*parts: str) -> Path:
    """A path under ../shared; skips the test when the upstream data is not beside the checkout."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (../shared is needed for upstream-data tests)")
    return path


# Talos minors whose upstream data ../shared holds but the planner does not target yet: known, not broken.
TALOS_NOT_YET_SUPPORTED = ("1.14",)


def talos_reference_dirs() -> list[Path]:
    """gen-config-reference/vX.Y for every Talos minor the planner supports, oldest first."""
    from migrate.talos.versions import all_versions

    supported = {t.minor for t in all_versions()}
    root = shared_path("talos", "gen-config-reference")
    found = [p for p in root.iterdir() if p.is_dir() and p.name[1:] in supported]
    return sorted(found, key=lambda p: tuple(map(int, p.name[1:].split("."))))
