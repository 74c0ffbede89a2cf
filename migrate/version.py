"""(major, minor) of a version as Kubernetes, Talos, etcd and Kubespray write it: "v1.31.4", "1.31", "3.5.16".

The one place version text is parsed; stdlib only. Exercised by tests/test_version.py.
"""

from __future__ import annotations

import re

from migrate.errors import UserError

_MINOR = re.compile(r"^v?(\d+)\.(\d+)")


def minor_of(text: object) -> tuple[int, int] | None:
    """(major, minor), or None when the text does not start with MAJOR.MINOR (an unset or templated value)."""
    m = _MINOR.match(str(text).strip()) if text is not None else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def require_minor(text: str, what: str = "version") -> tuple[int, int]:
    """(major, minor), or a UserError naming the text."""
    found = minor_of(text)
    if found is None:
        raise UserError(f"not a {what}: {text!r}", hint="use MAJOR.MINOR, e.g. 1.13")
    return found


_RELEASE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def release_of(text: object) -> tuple[int, int, int] | None:
    """(major, minor, patch), patch 0 when absent; None when the text does not start with MAJOR.MINOR."""
    m = _RELEASE.match(str(text).strip()) if text is not None else None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)) if m else None
