"""How strong a value is for one control: a rank per measure, compared before and after (higher is stronger).

Measures are named in mappings/posture.yaml; each is a small function from a value to a rank, so a reviewer can
read exactly what "stronger" means for a control."""
# exercised by tests/posture/test_strength.py

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

STRONGER = "stronger"
SAME = "same"
WEAKER = "weaker"
NOT_ON_TALOS = "n/a on Talos"
POSTURES = (WEAKER, SAME, STRONGER, NOT_ON_TALOS)

AUDIT_LEVELS = ("None", "Metadata", "Request", "RequestResponse")  # an audit policy's levels, least detail first
GO_DEFAULT = "go-default"  # no cipher list: Go's default set, which still offers CBC and RSA key exchange
# AEAD suites with forward secrecy (TLS 1.3's are all AEAD); CBC, RC4, 3DES and static-RSA suites are weak
_STRONG_SUITE_PARTS = ("_GCM_", "CHACHA20_POLY1305")

Rank = Callable[[Any], int]


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    return None


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, dict):  # Kubespray's samples spell tls_cipher_suites as a mapping of names
        return [str(k) for k in value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def strong_suite(name: str) -> bool:
    return name.startswith("TLS_AES_") or (not name.startswith("TLS_RSA_") and any(p in name for p in _STRONG_SUITE_PARTS))


def _false_is_stronger(value: Any) -> int:
    return 1 if as_bool(value) is False else 0


def _true_is_stronger(value: Any) -> int:
    return 1 if as_bool(value) is True else 0


def _present(value: Any) -> int:
    return 0 if value in (None, "", False) else 1


def _loopback(value: Any) -> int:
    text = str(value or "").strip("[]")
    if text == "localhost":
        return 1
    try:
        return 1 if ipaddress.ip_address(text).is_loopback else 0
    except ValueError:
        return 0


def _larger_is_stronger(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _zero_is_stronger(value: Any) -> int:
    return 1 if str(value).strip() in ("0", "") else 0


def _nonzero(value: Any) -> int:
    return 0 if str(value).strip() in ("0", "0s", "0m0s", "0h0m0s") else 1


def _positive_limit(value: Any) -> int:
    try:
        return 1 if int(str(value)) > 0 else 0
    except ValueError:
        return 0


def _strong_ciphers(value: Any) -> int:
    if value in (None, GO_DEFAULT):
        return 0
    suites = as_list(value)
    return 1 if suites and all(strong_suite(s) for s in suites) else 0


_SIMPLE: dict[str, Rank] = {
    "false_is_stronger": _false_is_stronger,
    "true_is_stronger": _true_is_stronger,
    "present": _present,
    "loopback": _loopback,
    "larger_is_stronger": _larger_is_stronger,
    "zero_is_stronger": _zero_is_stronger,
    "nonzero": _nonzero,
    "positive_limit": _positive_limit,
    "strong_ciphers": _strong_ciphers,
}


def ranker(measure: str) -> Rank:
    """`name`, `order:low,...,high`, `includes:X` or `excludes:X` → the function ranking a value."""
    kind, _, arg = measure.partition(":")
    if kind == "order":
        levels = [a.strip() for a in arg.split(",")]
        return lambda value: levels.index(str(value)) if str(value) in levels else 0
    if kind == "includes":
        return lambda value: 1 if arg in as_list(value) else 0
    if kind == "excludes":
        return lambda value: 0 if arg in as_list(value) else 1
    return _SIMPLE[measure]


def check_measure(measure: str, where: str) -> None:
    kind = measure.partition(":")[0]
    if kind not in ("order", "includes", "excludes") and measure not in _SIMPLE:
        raise ValueError(f"{where}: unknown measure {measure!r} (known: {', '.join(sorted(_SIMPLE))}, order:, "
                         "includes:, excludes:)")


def compare(measure: str, before: Any, after: Any) -> str:
    rank = ranker(measure)
    old, new = rank(before), rank(after)
    return STRONGER if new > old else WEAKER if new < old else SAME


def most_detailed_level(rules: list[dict[str, Any]]) -> str:
    """The most detailed level any rule of an audit policy logs ("None" when it logs nothing)."""
    levels = [str(r.get("level")) for r in rules if str(r.get("level")) in AUDIT_LEVELS]
    return max(levels, key=AUDIT_LEVELS.index) if levels else "None"
