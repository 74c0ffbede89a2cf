from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate.cluster.twin.selectors import from_label_selector, parse_field_selector, parse_label_selector
from migrate.cluster.twin.status import ApiError

LABELS = {"app": "web", "tier": "frontend", "env": "prod"}


@pytest.mark.parametrize("text,expected", [
    ("app=web", True), ("app==web", True), ("app!=web", False), ("app!=db", True), ("missing!=x", True),
    ("tier in (frontend,backend)", True), ("tier notin (frontend)", False), ("missing notin (x)", True),
    ("env", True), ("!env", False), ("!missing", True), ("app=web,tier in (backend, frontend),!missing", True),
    ("app=web,env=dev", False), ("", True),
])
def test_label_selector_grammar(text: str, expected: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is expected


def test_bad_label_selector_is_a_400() -> None:
    with pytest.raises(ApiError) as info:
        parse_label_selector("app=web,,x")
    assert info.value.code == 400


def test_structured_selector_nil_matches_nothing_and_empty_matches_everything() -> None:
    assert not from_label_selector(None).matches(LABELS)
    assert from_label_selector({}).matches(LABELS)
    expr = {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "stage"]},
                                                                {"key": "legacy", "operator": "DoesNotExist"}]}
    assert from_label_selector(expr).matches(LABELS)
    assert not from_label_selector(expr).matches({**LABELS, "legacy": "1"})


def test_field_selectors_support_only_declared_fields() -> None:
    node = {"metadata": {"name": "w1"}, "spec": {}}
    assert parse_field_selector("spec.unschedulable=false", ("metadata.name", "spec.unschedulable")).matches(node)
    assert parse_field_selector("metadata.name!=w2", ("metadata.name",)).matches(node)
    with pytest.raises(ApiError) as info:
        parse_field_selector("spec.foo=bar", ("metadata.name",))
    assert info.value.code == 400 and "field label not supported: spec.foo" in info.value.message


keys = st.sampled_from(["a", "b", "c", "example.com/d"])
values = st.sampled_from(["1", "2", "x"])
label_sets = st.dictionaries(keys, values, max_size=4)
requirements = st.one_of(
    st.tuples(st.just("="), keys, values), st.tuples(st.just("!="), keys, values),
    st.tuples(st.just("in"), keys, st.sets(values, min_size=1)), st.tuples(st.just("notin"), keys, st.sets(values, min_size=1)),
    st.tuples(st.just("exists"), keys, st.none()), st.tuples(st.just("!exists"), keys, st.none()),
)


def _render(req: tuple) -> str:
    op, key, val = req
    if op in ("in", "notin"):
        return f"{key} {op} ({','.join(sorted(val))})"
    return {"=": f"{key}={val}", "!=": f"{key}!={val}", "exists": key, "!exists": f"!{key}"}[op]


def _oracle(req: tuple, labels: dict[str, str]) -> bool:
    """The documented rules, written plainly: != and notin also match objects without the key."""
    op, key, val = req
    has, got = key in labels, labels.get(key)
    if op == "=":
        return has and got == val
    if op == "!=":
        return not has or got != val
    if op == "in":
        return has and got in val
    if op == "notin":
        return not has or got not in val
    return has if op == "exists" else not has


@given(st.lists(requirements, min_size=1, max_size=4), label_sets)
def test_label_selector_matches_the_documented_rules(reqs: list, labels: dict[str, str]) -> None:
    selector = parse_label_selector(",".join(_render(r) for r in reqs))
    assert selector.matches(labels) == all(_oracle(r, labels) for r in reqs)
