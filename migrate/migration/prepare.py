"""`prepare`: the cluster-side changes a Kubespray cluster needs before the first Talos node joins, each shown as a
redacted diff, applied through the Kubernetes API, journalled in the ledger and reversible.

Every change checks its postcondition first (a second prepare changes nothing), records its intent in the ledger and
the object's before-state in PLAN_DIR/prepare-state.json (0600: cluster-info's CA, an older token) before it writes,
and its outcome after. `revert` puts the recorded before-state back, and refuses, naming the object, when someone
changed one of prepare's fields since.
"""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from migrate.atomic import write_file
from migrate.cluster.base import Node, ObjectRef, ObjectWriter
from migrate.errors import UserError
from migrate.ledger import Ledger
from migrate.migration.prepare_targets import Facts, Obj, Target, fresh, targets, view, with_view
from migrate.redact import redact

STATE_FILE = "prepare-state.json"
NONE, CREATE, UPDATE, RECREATE, DELETE = "none", "create", "update", "recreate", "delete"


@dataclass(frozen=True)
class Change:
    ref: ObjectRef
    title: str
    why: str
    action: str  # none | create | update | recreate | delete
    before: Mapping[str, Any] | None  # the target's fields now (None: no such object)
    after: Mapping[str, Any] | None  # ... and once the change is made
    body: Obj | None = None  # what is written (never shown: it may hold the token)
    recreate: bool = False
    original: Obj | None = None  # a recreated object as it was: put back if its successor cannot be created

    @property
    def changes(self) -> bool:
        return self.action != NONE

    def diff(self) -> str:
        """A unified diff of the owned fields, secrets redacted, Secret data decoded so a person can read it."""
        old, new = _shown(self.ref, self.before), _shown(self.ref, self.after)
        return "\n".join(difflib.unified_diff(old.splitlines(), new.splitlines(), f"{self.ref} (now)",
                                              f"{self.ref} (after)", lineterm="", n=2))

    def to_dict(self) -> dict[str, Any]:
        return {"object": str(self.ref), "kind": self.ref.kind, "namespace": self.ref.namespace, "name": self.ref.name,
                "title": self.title, "why": self.why, "action": self.action, "diff": self.diff()}


Notify = Callable[[Change, str], None]  # (change, "applying" | "done"): the CLI shows progress


def plan_changes(cluster: ObjectWriter, facts: Facts, now: float) -> list[Change]:
    """What prepare would change, read from the cluster and nothing written."""
    changes = []
    for target in targets(facts):
        current = cluster.read_object(target.ref)
        desired = target.desire(current, facts, now)
        if desired is None:
            continue  # nothing of this kind here (no Calico, no kube-proxy): not applicable
        changes.append(_change(target, current, desired))
    return changes


def _change(target: Target, current: Obj | None, desired: Obj) -> Change:
    before, after = view(current, target.fields), view(desired, target.fields)
    action = NONE if before == after else CREATE if current is None else RECREATE if target.recreate else UPDATE
    body = fresh(desired) if action in (CREATE, RECREATE) else desired
    original = fresh(current) if action == RECREATE and current is not None else None
    return Change(target.ref, target.title, target.why, action, before, after, body, target.recreate, original)


def apply(cluster: ObjectWriter, ledger: Ledger, changes: list[Change], plan_dir: Path, *, run_id: str,
          notify: Notify | None = None) -> list[Change]:
    """Make each change: before-state kept, intent journalled, written, postcondition checked, outcome journalled."""
    state = State.load(plan_dir)
    done = []
    for change in (c for c in changes if c.changes):
        kept = copy.deepcopy(state.entries)
        state.remember(change)
        state.save(plan_dir)
        try:
            _journalled(cluster, ledger, change, f"prepare {change.ref}", run_id, notify)
        except UserError:
            if _fields_now(cluster, change) == change.before:  # refused, nothing moved: the old record still holds
                State(kept).save(plan_dir)
            raise
        done.append(change)
    return done


def plan_revert(cluster: ObjectWriter, plan_dir: Path) -> list[Change]:
    """The changes that put back every recorded before-state, newest first; refused as a whole (nothing written)
    when an object prepare changed was changed again since."""
    state = State.load(plan_dir)
    changes, drifted = [], []
    for entry in reversed(state.entries):
        ref = _ref(entry["ref"])
        fields = tuple(tuple(k.split("/")) for k in entry["fields"])
        current = cluster.read_object(ref)
        now = view(current, fields)
        before = entry["before"]
        if now == before:
            changes.append(Change(ref, "already as before", "", NONE, now, before))
        elif now is None and entry.get("object"):  # prepare stopped between deleting and creating it anew
            changes.append(Change(ref, "create again what prepare deleted", "", CREATE, None, before,
                                  with_view(entry["object"], before)))
        elif _digest(now) != entry["after_sha256"]:
            drifted.append(f"{ref} ({'deleted' if now is None else ' or '.join(entry['fields']) + ' differs'})")
        elif before is None:
            changes.append(Change(ref, "remove what prepare created", "", DELETE, now, None, current))
        else:
            restored = with_view(current or {}, before)
            action = RECREATE if entry.get("recreate") else UPDATE
            changes.append(Change(ref, "restore the recorded before-state", "", action, now, before,
                                  fresh(restored) if action == RECREATE else restored, action == RECREATE,
                                  fresh(current or {}) if action == RECREATE else None))
    if drifted:
        raise UserError("cannot revert: changed since prepare wrote them: " + "; ".join(drifted),
                        where=str(Path(plan_dir) / STATE_FILE),
                        hint="put those fields back as prepare left them (see `prepare --revert --dry-run`) or "
                             "restore the objects by hand; nothing was reverted")
    return changes


def talos_nodes(nodes: Sequence[Node]) -> list[str]:
    """Nodes already running Talos: a revert would point their kube-proxy and CNI back at localhost:6443."""
    return [n.name for n in nodes if n.os_image.startswith("Talos")]


def revert(cluster: ObjectWriter, ledger: Ledger, changes: list[Change], plan_dir: Path, *, run_id: str,
           notify: Notify | None = None) -> list[Change]:
    state = State.load(plan_dir)
    done = []
    for change in changes:
        if change.changes:
            _journalled(cluster, ledger, change, f"prepare revert {change.ref}", run_id, notify)
            done.append(change)
        state.forget(change.ref)
        state.save(plan_dir)
    return done


# --- one write, journalled -----------------------------------------------------------------------------------------
def _journalled(cluster: ObjectWriter, ledger: Ledger, change: Change, step: str, run_id: str,
                notify: Notify | None) -> None:
    evidence = {"object": str(change.ref), "action": change.action, "diff": change.diff(),
                "before_sha256": _digest(change.before), "after_sha256": _digest(change.after)}
    ledger.record(step, run_id=run_id, outcome="intent", evidence=evidence)
    if notify:
        notify(change, "applying")
    try:
        written = _write(cluster, change)
    except BaseException as exc:
        ledger.record(step, run_id=run_id, outcome="failed", evidence={"object": str(change.ref), "error": str(exc)})
        raise
    ledger.record(step, run_id=run_id, outcome="ok", evidence={
        "object": str(change.ref), "resourceVersion": ((written or {}).get("metadata") or {}).get("resourceVersion")})
    if notify:
        notify(change, "done")


def _write(cluster: ObjectWriter, change: Change) -> Obj | None:
    ref = change.ref
    if change.action == DELETE:
        cluster.delete_object(ref)
        written = None
    elif change.action == UPDATE:
        written = cluster.replace_object(ref, change.body or {})
        if written is None:
            raise UserError(f"{ref} changed while prepare wrote it (409 Conflict)", where=str(ref),
                            hint="run prepare again: it reads the object anew")
    else:
        if change.action == RECREATE:
            cluster.delete_object(ref)  # the API refuses a new selector in place
        try:
            written = cluster.create_object(ref, change.body or {})
        except BaseException:
            if change.original is not None:  # never leave the cluster without it: the old one comes back
                cluster.create_object(ref, change.original)
            raise
        if written is None:
            raise UserError(f"{ref} already exists (409): something else created it meanwhile", where=str(ref),
                            hint="run prepare again: it reads the object anew")
    now = _fields_now(cluster, change)
    if now != change.after:  # the postcondition, read back from the API server
        raise UserError(f"{ref} does not hold what prepare wrote ({_changed_fields(now, change.after)})",
                        where=str(ref), hint="something else manages this object; see the ledger for what was written")
    return written


def _fields_now(cluster: ObjectWriter, change: Change) -> Mapping[str, Any] | None:
    fields = tuple(tuple(k.split("/")) for k in (change.after or change.before or {}))
    return view(cluster.read_object(change.ref), fields)


# --- the before-states ---------------------------------------------------------------------------------------------
class State:
    """PLAN_DIR/prepare-state.json: per object, the fields as they were before prepare first changed them and as
    prepare last wrote them. Written atomically, 0600, before each write to the cluster."""

    def __init__(self, entries: list[dict[str, Any]]):
        self.entries = entries

    @classmethod
    def load(cls, plan_dir: Path) -> State:
        path = Path(plan_dir) / STATE_FILE
        if not path.exists():
            return cls([])
        try:
            data = json.loads(path.read_text())
            entries = data["objects"]
            if not isinstance(entries, list) or not all(isinstance(e, dict) and "ref" in e for e in entries):
                raise ValueError("objects is not a list of recorded objects")
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"unreadable prepare state: {exc}", where=str(path),
                            hint="restore it from a backup; without it --revert cannot know the before-states") from None
        return cls(entries)

    def save(self, plan_dir: Path) -> None:
        text = json.dumps({"version": 1, "objects": self.entries}, indent=1, sort_keys=True)
        write_file(Path(plan_dir) / STATE_FILE, text + "\n", 0o600)

    def remember(self, change: Change) -> None:
        """The after-state only as a digest: enough to tell a later edit, and the token's secret stays out."""
        key, after = _ref_dict(change.ref), _digest(change.after)
        for entry in self.entries:
            if entry["ref"] == key:  # the first before-state stays: a later prepare only moves the after
                entry["after_sha256"] = after
                return
        self.entries.append({"ref": key, "fields": list(change.after or change.before or {}),
                             "before": change.before, "after_sha256": after, "recreate": change.recreate,
                             **({"object": change.original} if change.original is not None else {})})

    def forget(self, ref: ObjectRef) -> None:
        self.entries = [e for e in self.entries if e["ref"] != _ref_dict(ref)]


def _ref_dict(ref: ObjectRef) -> dict[str, str]:
    return {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name}


def _ref(data: Mapping[str, str]) -> ObjectRef:
    return ObjectRef(data["kind"], data["name"], data.get("namespace", ""))


def _changed_fields(now: Mapping[str, Any] | None, expected: Mapping[str, Any] | None) -> str:
    if now is None:
        return "deleted"
    if expected is None:
        return "created again"
    return ", ".join(k for k in expected if now.get(k) != expected.get(k)) or "changed"


def _digest(shown: Mapping[str, Any] | None) -> str | None:
    return None if shown is None else hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


def _shown(ref: ObjectRef, fields: Mapping[str, Any] | None) -> str:
    if fields is None:
        return ""
    readable = dict(fields)
    if ref.kind == "Secret":
        readable = {k: _decoded(v) if k.startswith("data/") else v for k, v in readable.items()}
    return yaml.dump(redact(readable), Dumper=_Literal, sort_keys=True, default_flow_style=False, width=120)


def _decoded(value: Any) -> Any:
    try:
        return base64.b64decode(value, validate=True).decode() if isinstance(value, str) else value
    except (binascii.Error, UnicodeDecodeError):
        return value


class _Literal(yaml.SafeDumper):
    """Multi-line strings (an embedded kubeconfig) as `|` blocks, so the diff shows the line that changed."""


_Literal.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))
