"""Issue 13's check, over HTTP against the twin with the official client: a whole migration of a 40-node cut of the
200-node fixture (3 control planes, 37 workers, 10 teams' workloads and budgets, ~1,400 pods), its impossible budgets
relaxed as preflight asks: every host decommissioned, no budget ever below its healthy minimum, no workload short of
a Ready replica at the end. The whole fixture runs in bench/bench_migrate_http.py (too slow for `make test`)."""

from __future__ import annotations

import json

import pytest

from tests.migration.over_http import LARGE, cut, migrate_over_http, relaxed


@pytest.mark.large
def test_a_forty_node_cut_of_the_large_fixture_migrates_over_http_with_no_budget_broken_and_no_pod_lost(tmp_path):
    snapshot = cut(relaxed(json.loads(LARGE.read_text())), workers=37, teams=10)
    night = migrate_over_http(snapshot, tmp_path, budget=4)
    assert night.finished, night.hosts
    assert night.pdb_violations == 0
    assert night.lost == {}
    assert night.evicted > 1000
    # kubectl drain --force deletes a pod no controller recreates; the fixture's bare pods on the nodes kept are those
    assert all(name.split("/")[1] in ("toolbox", "scratch-job") for name in night.forced)
    # every wait watched: the requests are the evictions and a few per wave and host, not a poll a second per pod
    assert night.requests["POST"] >= night.evicted and night.requests_per_evicted_pod < 2.5
