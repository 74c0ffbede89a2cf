"""--dry-run reads and changes nothing: every object keeps its resourceVersion; it names what a drain would do."""

from __future__ import annotations

from migrate.cluster.twin.resources import NODES, PODS
from migrate.migration.dryrun import preview
from migrate.migration.filters import DrainOptions
from tests.migration.harness import rig


def _versions(twin):
    return {(o["metadata"].get("namespace"), o["metadata"]["name"]): o["metadata"]["resourceVersion"]
            for rt in (NODES, PODS) for o in twin.store.objects(rt)}


def test_a_dry_run_changes_nothing_and_names_the_pods_and_budgets(tmp_path):
    with rig(tmp_path, budget={"maxUnavailable": 0}) as r:
        before = _versions(r.twin)
        waves = preview(r.plan, r.cluster, DrainOptions())
        assert _versions(r.twin) == before
        assert [w.hosts for w in waves][:3] == [["cp1"], ["cp2"], ["cp3"]]
        workers = [w for w in waves if w.hosts[0].startswith("w")]
        evicted = [p for w in workers for p in w.evict]
        assert len([p for p in evicted if p.startswith("default/web-")]) == 3
        assert any("default/web" in w.blocking for w in workers)
        assert "etcd" in waves[0].steps and "etcd" not in workers[0].steps
