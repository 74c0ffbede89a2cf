"""The two things `diff` compares, read into specs: a Kubespray inventory, a plan directory or the live cluster.

Reading a side can warn (an inferred Kubespray release, a vaulted secret that cannot be compared, a field the
cluster would not show): those go to the caller's `notify` as they happen, so the CLI renders them and this
module never prints. Exercised through tests/cli/test_diff*.py and tests/test_sides.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from migrate.diff import (
    NOT_JOINABLE,
    Change,
    diff_specs,
    explain,
    ordered,
    report_verdicts,
    secret_changes,
)
from migrate.errors import UserError
from migrate.fingerprint import Fingerprints
from migrate.spec import ClusterSpec

if TYPE_CHECKING:
    from migrate.kubespray import ResolvedCluster

SideKind = Literal["inventory", "plan", "live"]


@dataclass(frozen=True)
class Notice:
    """Something a person should know about how a side was read."""

    level: Literal["warning", "note"]
    text: str


Notify = Callable[[Notice], None]


@dataclass(frozen=True)
class InventoryOptions:
    """How to read an inventory: the options `inventory_options` parses."""

    kubespray_version: str | None = None
    kubespray_dir: Path | None = None
    vault_password_file: Path | None = None


@dataclass(frozen=True)
class Side:
    label: str  # what the reviewer sees as the column title
    kind: SideKind
    spec: ClusterSpec
    report: dict[str, object] | None = None  # a plan's report.json
    secrets: Fingerprints | None = None  # compared, never shown


def read_pair(left: Path, right: Path, options: InventoryOptions, notify: Notify) -> tuple[Side, Side]:
    """Two inventories or plans; a plan read beside an inventory carries the inventory's host-only settings."""
    before = read_side(left, options, notify, carried=None)
    after = read_side(right, options, notify, carried=before.spec if before.kind == "inventory" else None)
    if before.kind == "plan" and after.kind == "inventory":
        before = read_side(left, options, notify, carried=after.spec)
    return before, after


def read_live_pair(inventory: Path, kubeconfig: Path | None, context: str | None, options: InventoryOptions,
                   notify: Notify) -> tuple[Side, Side]:
    """The inventory and the running cluster it describes (fields the cluster does not show keep its values)."""
    before = read_side(inventory, options, notify, carried=None)
    if before.kind != "inventory":
        raise UserError("--live needs an inventory, not a plan", where=str(inventory))
    return before, read_live(kubeconfig, context, before.spec, notify)


def read_side(path: Path, options: InventoryOptions, notify: Notify, carried: ClusterSpec | None) -> Side:
    from migrate.talos.plan_dir import is_plan_dir, read_plan

    if is_plan_dir(path):
        read = read_plan(path, carried=carried)
        return Side(f"plan {path}", "plan", read.spec, read.report, read.secrets)
    if not path.exists():
        raise UserError(
            "no such file or directory",
            where=str(path),
            hint="give a Kubespray inventory (dir or hosts file) or a plan directory (with controlplane.yaml)",
        )
    from migrate.kubespray.inventory import INVENTORY_NAMES  # ansible-core: only once an inventory is read

    if path.is_dir() and not _looks_like_inventory(path, INVENTORY_NAMES):
        raise UserError(
            "neither a plan (no controlplane.yaml) nor a Kubespray inventory "
            f"(no {', '.join(INVENTORY_NAMES)}, no group_vars/)",
            where=str(path),
            hint="give a plan directory, an inventory directory, or the inventory file itself (diff DIR/cluster.yml PLAN)",
        )
    from migrate.kubespray import load_cluster

    resolved = load_cluster(path, options.kubespray_version, options.kubespray_dir, options.vault_password_file)
    for warning in resolved.warnings:
        notify(Notice("warning", warning))
    return Side(f"inventory {path}", "inventory", resolved.spec, secrets=_inventory_secrets(resolved, notify))


def read_live(kubeconfig: Path | None, context: str | None, baseline: ClusterSpec, notify: Notify) -> Side:
    from migrate.cluster.kube import KubeCluster
    from migrate.cluster.observe import observe

    cluster = KubeCluster(kubeconfig, context, attempts=2)
    try:
        observed = observe(cluster, baseline=baseline)
    finally:
        cluster.close()
    for what in observed.missing:
        notify(Notice("note", f"not readable, compared as the inventory says: {what}"))
    return Side(f"live cluster{f' ({context})' if context else ''}", "live", observed.spec)


def compare(before: Side, after: Side) -> list[Change]:
    """Every change, secrets by name only; against the plan made from the inventory, each marked with the
    verdicts that explain it."""
    changes = ordered([*diff_specs(before.spec, after.spec), *secret_changes(secret_items(before, after))])
    plan = plan_to_match(before, after)
    if plan is not None:
        changes = explain(changes, report_verdicts(plan.report))
    return changes


def secret_items(before: Side, after: Side) -> list[str]:
    """Secret items that differ: two plans item by item, two inventories setting by setting; an inventory and
    a plan built without its PKI, the CA as a whole."""
    if before.kind == after.kind and before.secrets is not None and after.secrets is not None:
        return before.secrets.differing(after.secrets)
    plan = plan_to_match(before, after)
    if plan is not None and plan.report and plan.report.get("joinable") is False:
        return [NOT_JOINABLE]
    return []


def plan_to_match(before: Side, after: Side) -> Side | None:
    """Verdicts explain changes only between an inventory and the plan made from it."""
    kinds = {before.kind: before, after.kind: after}
    return kinds["plan"] if set(kinds) == {"inventory", "plan"} else None


def _inventory_secrets(resolved: ResolvedCluster, notify: Notify) -> Fingerprints:
    """The inventory's secret settings (kube_encrypt_token, registry credentials, ...) as fingerprints of their
    unrendered values, from the variables the reader kept in memory (its settings show only "<redacted>")."""
    from migrate.fingerprint import settings_fingerprints

    names = sorted(name for name, setting in resolved.settings.items() if setting.secret)
    found = settings_fingerprints(resolved.inventory_vars, names)
    for name in found.unreadable:
        notify(Notice("note", f"{name} is vaulted and cannot be decrypted here: not compared"))
    return found


def _looks_like_inventory(path: Path, names: tuple[str, ...]) -> bool:
    """A directory is taken for an inventory by its usual file names or its vars directories; any other YAML
    (a PKI directory, stray files) is refused here rather than failing deep inside the inventory parser."""
    found = {p.name for p in path.iterdir()}
    return bool(found & {"group_vars", "host_vars", *names})
