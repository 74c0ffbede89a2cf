"""Label and field selectors with the API server's grammar and matching rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from migrate.cluster.twin.status import bad_request

# operator -> test(labels-has-key, value, values)
_OPS: dict[str, Callable[[Mapping[str, str], str, frozenset[str]], bool]] = {
    "=": lambda labels, key, values: labels.get(key) in values,
    "!=": lambda labels, key, values: labels.get(key) not in values,
    "in": lambda labels, key, values: labels.get(key) in values,
    "notin": lambda labels, key, values: labels.get(key) not in values,
    "exists": lambda labels, key, values: key in labels,
    "!exists": lambda labels, key, values: key not in labels,
}
_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SET_FORM = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # = != in notin exists !exists
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return _OPS[self.op](labels, self.key, self.values)


@dataclass(frozen=True)
class LabelSelector:
    """Requirements ANDed together; `nothing` matches no object (a nil selector in a PDB)."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements and not self.nothing


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(nothing=True)


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside `in (...)` value lists."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _check(key: str, values: frozenset[str], text: str) -> None:
    if not _KEY.match(key) or any(not _VALUE.match(v) for v in values):
        raise bad_request(f"unable to parse requirement: {text}")


def parse_label_selector(text: str | None) -> LabelSelector:
    """The string form: `a=b,c!=d,e in (f,g),h notin (i),j,!k`."""
    if not text or not text.strip():
        return EVERYTHING
    reqs = []
    for part in _split_top_level(text):
        if not part:
            raise bad_request(f"unable to parse requirement: found '', expected: identifier in {text!r}")
        m = _SET_FORM.match(part)
        if m:
            values = frozenset(v.strip() for v in m["values"].split(",") if v.strip())
            req = Requirement(m["key"], m["op"], values)
        elif part.startswith("!"):
            req = Requirement(part[1:].strip(), "!exists")
        elif "!=" in part:
            key, value = part.split("!=", 1)
            req = Requirement(key.strip(), "!=", frozenset([value.strip()]))
        elif "==" in part or "=" in part:
            key, value = part.split("==", 1) if "==" in part else part.split("=", 1)
            req = Requirement(key.strip(), "=", frozenset([value.strip()]))
        else:
            req = Requirement(part, "exists")
        _check(req.key, req.values, part)
        reqs.append(req)
    return LabelSelector(tuple(reqs))


_EXPR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}


def from_label_selector(selector: Mapping[str, Any] | None) -> LabelSelector:
    """The structured form (matchLabels/matchExpressions) as in PDBs and workloads; None selects nothing."""
    if selector is None:
        return NOTHING
    reqs = [Requirement(k, "=", frozenset([str(v)])) for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op = _EXPR_OPS.get(expr.get("operator", ""))
        if op is None:
            raise bad_request(f"{expr.get('operator')!r} is not a valid label selector operator")
        reqs.append(Requirement(expr["key"], op, frozenset(expr.get("values") or [])))
    return LabelSelector(tuple(reqs))


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[tuple[str, bool, str], ...] = ()  # (field path, equal?, value)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all((field_value(obj, path) == value) == equal for path, equal, value in self.terms)

    def value_of(self, path: str) -> str | None:
        """The value an equality term pins `path` to (lets the store use an index)."""
        for p, equal, value in self.terms:
            if p == path and equal:
                return value
        return None


def field_value(obj: Mapping[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, Mapping) else None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if cur is None:
        # unset booleans read as false, as the API server's field set does for spec.unschedulable
        return "false" if path == "spec.unschedulable" else ""
    return str(cur)


def parse_field_selector(text: str | None, supported: tuple[str, ...]) -> FieldSelector:
    if not text or not text.strip():
        return FieldSelector()
    terms = []
    for part in _split_top_level(text):
        if "!=" in part:
            path, value = part.split("!=", 1)
            equal = False
        elif "=" in part:
            path, value = part.split("==", 1) if "==" in part else part.split("=", 1)
            equal = True
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        path = path.strip()
        if path not in supported:
            raise bad_request(f"field label not supported: {path}")
        terms.append((path, equal, value.strip()))
    return FieldSelector(tuple(terms))
