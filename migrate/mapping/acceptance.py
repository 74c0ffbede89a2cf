"""Blocker ids and acknowledgements: a person who has read a blocker says so, by id, with who and why.

A blocker's id comes from what the finding is about (its setting), never from its place in a list, so the
same blocker has the same id on every run and an accept file written today still matches tomorrow's plan.
An acknowledgement does not make a blocker go away: the report shows it as acknowledged, with who and why.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from migrate.bounds import check_text_shape, read_bounded
from migrate.errors import UserError
from migrate.mapping.finding import Finding

_NOT_ID = re.compile(r"[^a-z0-9]+")
_SLUG_CHARS = 40  # a readable head; the digest keeps two long settings that share it apart
FIELDS = ("id", "who", "why", "expires")


def blocker_id(setting: str) -> str:
    """`kube_vip_enabled` → `kube-vip-enabled-` and six hex digits: readable, and unique through a digest of the whole key."""
    slug = _NOT_ID.sub("-", setting.lower()).strip("-")[:_SLUG_CHARS].rstrip("-") or "finding"
    return f"{slug}-{hashlib.sha256(setting.encode()).hexdigest()[:6]}"


def is_blocker(f: Finding) -> bool:
    return f.severity == "blocker"


@dataclass(frozen=True)
class Acceptance:
    id: str
    who: str
    why: str
    expires: datetime.date | None = None
    where: str = "--accept"  # the file and line it came from, for messages

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "who": self.who, "why": self.why, "from": self.where}
        if self.expires is not None:
            data["expires"] = self.expires.isoformat()
        return data


@dataclass(frozen=True)
class Acknowledged:
    """Which blockers of a plan a person has acknowledged, which are still open, and what did not apply."""

    accepted: dict[str, Acceptance]  # blocker id -> the acknowledgement that covers it
    open: list[str]  # blocker ids nobody acknowledged, in finding order
    unknown: list[Acceptance]  # acknowledgements naming no blocker of this plan (stale, or a typo)
    expired: list[Acceptance]  # acknowledgements past their expiry: they no longer count


def acknowledge(findings: Iterable[Finding], acceptances: Iterable[Acceptance], today: datetime.date) -> Acknowledged:
    ids = list(dict.fromkeys(blocker_id(f.setting) for f in findings if is_blocker(f)))
    valid: dict[str, Acceptance] = {}
    expired: list[Acceptance] = []
    for a in acceptances:
        if a.expires is not None and a.expires < today:
            expired.append(a)
        else:
            valid.setdefault(a.id, a)
    return Acknowledged(
        accepted={i: valid[i] for i in ids if i in valid},
        open=[i for i in ids if i not in valid],
        unknown=[a for a in valid.values() if a.id not in ids],
        expired=expired,
    )


def from_option(ids: Iterable[str], who: str) -> list[Acceptance]:
    """`--accept ID` on the command line: the person running it acknowledges, the reason is in their CI log."""
    return [Acceptance(i.strip(), who, "acknowledged on the command line (--accept)") for i in ids if i.strip()]


def read_accept_file(path: Path) -> list[Acceptance]:
    """A YAML list of {id, who, why, expires?}; anything else is refused naming the file and line."""
    try:
        text = read_bounded(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the accept file: {exc}", where=str(path)) from None
    check_text_shape(text, str(path))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise UserError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where) from None
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise UserError("an accept file is a YAML list of entries with id, who and why", where=f"{path}:1",
                        hint="- id: cluster-identity-dff485\n    who: jane@example.com\n    why: rehearsal cluster")
    return [_entry(node, path) for node in root.value]


def _entry(node: yaml.Node, path: Path) -> Acceptance:
    where = f"{path}:{node.start_mark.line + 1}"
    if not isinstance(node, yaml.MappingNode):
        raise UserError("each entry is a mapping with id, who and why", where=where)
    data = yaml.safe_load(yaml.serialize(node))
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise UserError(f"unknown field {', '.join(unknown)} (an entry has {', '.join(FIELDS)})", where=where)
    missing = [k for k in ("id", "who", "why") if not str(data.get(k) or "").strip()]
    if missing:
        raise UserError(f"entry {data.get('id') or ''!s} lacks {' and '.join(missing)}".replace("  ", " "), where=where,
                        hint="every acknowledgement names the blocker id, who read it and why it may be applied")
    expires = data.get("expires")
    if expires is not None and not isinstance(expires, datetime.date):
        raise UserError(f"expires {expires!r} is not a date", where=where, hint="write it as YYYY-MM-DD")
    if isinstance(expires, datetime.datetime):
        expires = expires.date()
    return Acceptance(str(data["id"]).strip(), str(data["who"]).strip(), str(data["why"]).strip(), expires, where)
