"""Where the declarative mapping data lives: `mappings/` beside the package, loaded once per process."""
# exercised by tests/mapping/test_engine.py

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

# the one place the path to mappings/ is computed: every reader of mapping data starts here
MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"


@cache
def load_mapping(*parts: str) -> Any:
    """Parsed YAML under mappings/ (cached: the data is read-only for the life of the process)."""
    with open(MAPPINGS_DIR.joinpath(*parts), encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when built with it
