"""Resource quantities (`250m`, `1Gi`, `2`) as numbers, for the scheduler's requests-vs-allocatable check."""
# exercised by tests/cluster/twin/test_scheduler.py and tests/migration/test_capacity.py

from __future__ import annotations

import re

_SUFFIX = {
    "": 1,
    "m": 1e-3,
    "u": 1e-6,
    "n": 1e-9,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def parse_quantity(value: str | int | float | None) -> float:
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    m = _QUANTITY.match(value.strip())
    if not m or m[2] not in _SUFFIX:
        raise ValueError(
            f"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {value!r}"
        )
    return float(m[1]) * _SUFFIX[m[2]]
