"""One row per control: the value before (Kubespray) and after (Talos), the posture, why, and for a weakened
control the exact Talos patch that keeps the old strength. Pure: both sides' values come in as plain data."""
# exercised by tests/posture/test_evaluate.py

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from migrate.component_flags import flag_value
from migrate.mapping.finding import MANUAL, Finding, finding
from migrate.posture.controls import Control, PostureTable, posture_table
from migrate.posture.strength import NOT_ON_TALOS, POSTURES, SAME, STRONGER, WEAKER, as_list, compare

AUDIT_POLICY_FILE = "kube-apiserver.audit-policy-file"  # named by a patch text, not a control of its own
PatchText = Callable[[dict[str, Any]], str]  # a v1alpha1 patch → the YAML a person applies (the plan's Talos form)


@dataclass(frozen=True)
class TalosValues:
    """The Talos side as read back from the plan's documents."""

    values: dict[str, Any]
    set_by_plan: frozenset[str] = frozenset()  # keys the documents set themselves (not a Talos default)
    builtin: dict[str, Any] = field(default_factory=dict)  # for keys the plan sets: what Talos runs on its own


@dataclass(frozen=True)
class Row:
    control: Control
    before: Any
    after: Any
    posture: str
    reason: str
    carried: bool = False  # the plan writes the cluster's own choice into the Talos documents
    patch: str = ""  # for `weaker`: the patch that keeps the old strength
    before_from: str = ""  # where inspect found the before-value (file:line, or the release's default)

    def to_dict(self) -> dict[str, Any]:
        c = self.control
        return {"cis": c.cis, "control": c.key, "section": c.section, "title": c.title, "kubespray": c.kubespray,
                "talos": c.talos, "before": self.before, "before_from": self.before_from, "after": self.after, "posture": self.posture,
                "carried_over": self.carried, "reason": self.reason, "patch": self.patch or None}


@dataclass(frozen=True)
class Posture:
    table: PostureTable
    rows: tuple[Row, ...]

    @property
    def weaker(self) -> list[Row]:
        return [r for r in self.rows if r.posture == WEAKER]

    def counts(self) -> dict[str, int]:
        return {p: sum(r.posture == p for r in self.rows) for p in POSTURES}

    def findings(self) -> list[Finding]:
        """A control that gets weaker is a `manual` finding: a person applies the patch or signs the loss off."""
        return [finding(f"posture CIS {r.control.cis}: {r.control.title}", MANUAL, f"{r.reason} Patch: {r.patch}"
                        if r.patch else r.reason, talos_path=r.control.talos, area="security") for r in self.weaker]


def evaluate(before: Mapping[str, Any], after: TalosValues, patch_text: PatchText,
             table: PostureTable | None = None, origins: Mapping[str, str] | None = None) -> Posture:
    table = table or posture_table()
    missing = sorted((table.keys - set(before)) | (table.keys - set(after.values)))
    if missing:
        raise ValueError(f"no value read for posture control(s): {', '.join(missing)}")
    rows = (_row(c, before, after, patch_text) for c in table.controls)
    return Posture(table, tuple(replace(r, before_from=(origins or {}).get(r.control.key, "")) for r in rows))


def _row(control: Control, before: Mapping[str, Any], after: TalosValues, patch_text: PatchText) -> Row:
    if control.not_on_talos:
        return Row(control, control.kubespray, control.talos, NOT_ON_TALOS, control.not_on_talos)
    old, new = before[control.key], after.values[control.key]
    posture = compare(control.measure, old, new)
    kept = old == new and control.key in after.set_by_plan  # the plan writes the cluster's own value
    builtin = after.builtin.get(control.key)
    carried = kept and compare(control.measure, builtin, old) == STRONGER  # a stronger choice than Talos's own
    if posture == STRONGER:
        reason = f"Talos runs {_shown(new)} where the cluster ran {_shown(old)}."
    elif carried:
        reason = (f"The cluster chose {_shown(old)}, stronger than what Talos runs on its own ({_shown(builtin)}): "
                  f"the plan carries it over ({control.talos}).")
    elif kept and compare(control.measure, builtin, old) == WEAKER:
        reason = (f"Kept as the cluster runs it so nothing breaks; Talos on its own would run the stronger "
                  f"{_shown(builtin)} ({control.talos}).")
    elif posture == SAME:
        reason = "Talos runs it as strong as the cluster did." if old != new else "Same value on both sides."
    else:
        reason = f"Talos would run {_shown(new)} where the cluster runs {_shown(old)}."
    patch = _patch(control, old, before, patch_text) if posture == WEAKER else ""
    if posture == WEAKER and not patch:
        reason += " No Talos field restores it: an operator must accept the change or keep this host out of the move."
    return Row(control, old, new, posture, reason, carried, patch)


def _patch(control: Control, value: Any, before: Mapping[str, Any], patch_text: PatchText) -> str:
    if control.patch:
        typed = as_list(value) if control.measure == "strong_ciphers" else value  # KubeletConfiguration wants a list
        return patch_text(_fill(copy.deepcopy(control.patch), typed, in_args=False))
    if control.patch_text:
        return control.patch_text.format(value=_shown(value), policy_file=before.get(AUDIT_POLICY_FILE) or "?")
    return ""


def _fill(node: Any, value: Any, in_args: bool) -> Any:
    """`{value}` leaves become the Kubespray value (a flag string inside extraArgs, typed elsewhere)."""
    if isinstance(node, dict):
        return {k: _fill(v, value, in_args or k == "extraArgs") for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, value, in_args) for v in node]
    if node == "{value}":
        return flag_value(value) if in_args else value
    return node


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "none"
    return flag_value(value)
