"""check_json_nesting: the regex peeling agrees with the depth of what json.loads builds, whatever the strings hold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.bounds import check_json_nesting
from migrate.errors import UserError

# strings full of what could fool a bracket counter: brackets, quotes, backslashes, escapes
TRICKY = st.text(alphabet=st.sampled_from('[]{}"\\/ab\n\t\u00e9'), max_size=8)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY, inner, max_size=3),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def refused(text: str, limit: int) -> bool:
    try:
        check_json_nesting(text, "snap.json", max_nesting=limit)
    except UserError:
        return True
    return False


@settings(max_examples=300, deadline=None)
@given(VALUES, st.integers(min_value=0, max_value=6), st.sampled_from([None, 1]))
def test_refused_exactly_when_nested_deeper_than_the_limit(value: Any, limit: int, indent: int | None) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    assert refused(text, limit) == (depth(value) > limit)


def test_the_refusal_names_the_line_where_the_limit_is_crossed() -> None:
    text = '{"kind": "ClusterSnapshot",\n "objects": {"x": ' + "[" * 300 + "]" * 300 + "}}"
    with pytest.raises(UserError, match="nested more than 200 deep") as caught:
        check_json_nesting(text, "snap.json")
    assert caught.value.where == "snap.json:2"


def test_unbalanced_text_is_judged_by_the_plain_scan() -> None:
    assert refused("[" * 201, 200)
    assert not refused('{"a": [1, 2}', 200)  # not JSON, but shallow: the parser's message is the one to show
