"""The projected-quorum rule: a removal is allowed only when the remaining healthy voters (newest counted as
failed) are a majority."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from migrate.etcd.membership import Member, MemberHealth
from migrate.etcd.quorum import projected_quorum


def _cluster(n: int, learners: int = 0, unhealthy: frozenset[int] = frozenset()):
    members = [Member(i, f"etcd{i}", (f"https://10.0.0.{i}:2380",), is_learner=i > n) for i in range(1, n + learners + 1)]
    return members, [MemberHealth(m.id, m.id not in unhealthy) for m in members]


def test_three_old_plus_one_new_may_lose_one_old_member():
    members, health = _cluster(4)
    assert projected_quorum(members, health, leaving=1, newest=4).holds  # 3 voters left, 2 healthy w/o newest


def test_a_dead_member_and_a_fresh_one_refuse_the_removal():
    members, health = _cluster(4, unhealthy=frozenset({2}))
    verdict = projected_quorum(members, health, leaving=1, newest=4)
    assert not verdict.holds and "2 needed" in verdict.reason


def test_learners_do_not_vote():
    members, health = _cluster(3, learners=2)  # two healthy learners would make a majority if they voted
    assert not projected_quorum(members, health, leaving=1, newest=3).holds


@given(st.integers(1, 7), st.integers(0, 2), st.sets(st.integers(1, 9)), st.integers(1, 9))
def test_the_rule_is_the_majority_of_remaining_voters(n, learners, unhealthy, leaving):
    members, health = _cluster(n, learners, frozenset(unhealthy))
    newest = max(m.id for m in members if not m.is_learner)
    verdict = projected_quorum(members, health, leaving=leaving, newest=newest)
    voters = [m for m in members if not m.is_learner and m.id != leaving]
    alive = [m for m in voters if m.id not in unhealthy and m.id != newest]
    assert verdict.holds == (bool(voters) and len(alive) > len(voters) / 2)
