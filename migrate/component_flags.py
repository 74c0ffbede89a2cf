"""Kubernetes component flags into spec pieces: Talos configs and running clusters both carry them.

talos/read (extraArgs) and cluster/observe (kubeadm-config and the static pods' command lines) read the
same kube-apiserver flags; this is the one place that knows what they mean. Imports the spec only.
"""
# exercised by tests/talos/test_read.py and tests/cluster/test_observe.py

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrate.spec import OIDC, Audit


def flag_value(value: Any) -> str:
    """A flag's value as the command line (and Talos's extraArgs schema) wants it: booleans lower-case, lists
    comma-joined, numbers as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(flag_value(v) for v in value)
    return str(value)


def split_list(value: Any) -> list[str]:
    """A comma-separated flag value as its items."""
    return [p.strip() for p in str(value).split(",") if p.strip()] if value else []


def feature_gates(value: str | None) -> dict[str, bool]:
    """--feature-gates=A=true,B=false."""
    gates = {}
    for item in split_list(value):
        name, _, enabled = item.partition("=")
        gates[name.strip()] = enabled.strip().lower() == "true"
    return gates


def oidc(args: Mapping[str, str]) -> OIDC | None:
    if "oidc-issuer-url" not in args:
        return None
    return OIDC(
        issuer_url=args["oidc-issuer-url"],
        client_id=args.get("oidc-client-id", ""),
        username_claim=args.get("oidc-username-claim"),
        username_prefix=args.get("oidc-username-prefix"),
        groups_claim=args.get("oidc-groups-claim"),
        groups_prefix=args.get("oidc-groups-prefix"),
        ca_file=args.get("oidc-ca-file"),
    )


def audit(args: Mapping[str, str], default: Audit | None = None) -> Audit | None:
    """The audit log the flags configure; `default` when the component logs without flags saying so (Talos)."""
    if "audit-log-path" not in args and default is None:
        return None
    base = default or Audit()
    return Audit(
        log_path=args.get("audit-log-path", base.log_path),
        max_age=int(args.get("audit-log-maxage", base.max_age)),
        max_backups=int(args.get("audit-log-maxbackup", base.max_backups)),
        max_size=int(args.get("audit-log-maxsize", base.max_size)),
        policy_file=args.get("audit-policy-file", base.policy_file),
    )


def taint_text(key: str, value: str | None, effect: str) -> str:
    """The spec's taint form: key=value:Effect, or key:Effect without a value."""
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"
