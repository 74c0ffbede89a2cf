"""Shared test fixtures: where the upstream data (../shared) and our own fixtures live."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import settings

# properties are judged on what they assert, not on how fast a shared 2-core CI box runs one example
settings.register_profile("ks2t", deadline=None)
settings.load_profile("ks2t")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KS2T_SHARED", REPO.parent / "shared")).resolve()
FIXTURES = REPO / "playbook_fixtures"
INVENTORIES = FIXTURES / "inventories"
BROKEN = FIXTURES / "broken"
CLUSTERS = FIXTURES / "clusters"


SHARED_MISSING = (
    f"the upstream data is missing: {SHARED} must hold ../shared (Talos schemas and reference configs, Kubespray "
    "defaults, real-world inventories and what Kubespray computed for them) beside the checkout, or set KS2T_SHARED "
    "to where it is"
)


def shared_path(*parts: str) -> Path:
    """A path under ../shared; a test whose upstream file is absent fails naming it (never skips)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} not present: " + (SHARED_MISSING if not SHARED.is_dir() else "../shared is incomplete"),
                    pytrace=False)
    return path


def pytest_sessionstart(session: pytest.Session) -> None:
    """Without ../shared, the run stops once with where it must be, instead of a failure (or a silently empty
    parametrization) per test that reads it; a run of only tests that need no upstream data goes on. Checked on
    the controller (xdist workers never get here with it missing), from the test files' text, before collection."""
    if SHARED.is_dir() or hasattr(session.config, "workerinput"):
        return
    needing = sorted(str(p.relative_to(REPO)) for p in _test_files(session.config) if _READS_SHARED.search(p.read_text()))
    if needing:
        pytest.exit(f"{SHARED_MISSING} (needed by {len(needing)} test files, e.g. {needing[0]})", returncode=1)


_READS_SHARED = re.compile(r"\b(SHARED|shared_path|talos_reference_dirs)\b")


def _test_files(config: pytest.Config) -> set[Path]:
    found: set[Path] = set()
    for arg in config.args or [str(REPO / "tests")]:
        path = (Path(config.invocation_params.dir) / arg.split("::")[0]).resolve()
        if path.is_dir():
            found.update(path.rglob("test_*.py"))
        elif path.name.startswith("test_") and path.suffix == ".py":
            found.add(path)
    return found


# Talos minors whose upstream data ../shared holds but the planner does not target yet: known, not broken.
TALOS_NOT_YET_SUPPORTED: tuple[str, ...] = ()


def talos_reference_dirs() -> list[Path]:
    """gen-config-reference/vX.Y for every Talos minor the planner supports, oldest first."""
    from migrate.talos.versions import all_versions

    supported = {t.minor for t in all_versions()}
    root = shared_path("talos", "gen-config-reference")
    found = [p for p in root.iterdir() if p.is_dir() and p.name[1:] in supported]
    return sorted(found, key=lambda p: tuple(map(int, p.name[1:].split("."))))
