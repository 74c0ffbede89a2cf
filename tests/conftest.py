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
