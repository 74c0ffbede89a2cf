"""`migrate --dry-run`: every step in order, with the pods each drain would evict and the budgets that would
hold them — read from the cluster with GETs and LISTs only, so nothing changes (resourceVersions stay put)."""
# exercised by tests/migration/test_dryrun.py

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from migrate.cluster.base import Cluster, DisruptionBudget, Pod
from migrate.ledger import Ledger
from migrate.migration.drain import plan_drain, refusal
from migrate.migration.engine import steps_for
from migrate.migration.filters import EVICT, DrainOptions
from migrate.migration.plan_file import MigrationPlan


@dataclass
class WavePreview:
    number: int
    hosts: list[str]
    steps: list[str]
    evict: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)  # PDBs that allow no disruption now
    refused: str = ""  # what a drain would refuse, with the override

    def to_dict(self) -> dict[str, Any]:
        return {"wave": self.number, "hosts": self.hosts, "steps": self.steps, "evict": self.evict,
                "skip": self.skip, "blocking_pdbs": self.blocking, "refused": self.refused}


def preview(plan: MigrationPlan, cluster: Cluster, opts: DrainOptions, ledger: Ledger | None = None,
            only: Sequence[str] = ()) -> list[WavePreview]:
    budgets = cluster.list_pdbs()
    out = []
    for number, wave in enumerate(plan.waves(), start=1):
        hosts = [m.host for m in wave if (not only or m.host in only) and not _done(ledger, m.host)]
        if not hosts:
            continue
        steps = [s for s in steps_for(plan.strategy) if not (s == "etcd" and not any(m.is_control_plane for m in wave))]
        verdicts = plan_drain(cluster, [h for h in hosts if cluster.get_node(h) is not None], opts)
        evicted = [v.pod for v in verdicts if v.action == EVICT]
        refused = refusal(verdicts)
        out.append(WavePreview(number, hosts, steps, [p.key for p in evicted],
                               [f"{v.pod.key} ({v.reason})" for v in verdicts if v.action != EVICT],
                               sorted({f"{b.namespace}/{b.name}" for b in budgets for p in evicted
                                       if b.disruptions_allowed == 0 and _covers(b, p)}),
                               f"{refused} ({refused.hint})" if refused else ""))
    return out


def _done(ledger: Ledger | None, host: str) -> bool:
    return ledger is not None and ledger.host(host).state.value in ("decommissioned", "retired")


def _covers(budget: DisruptionBudget, pod: Pod) -> bool:
    if budget.namespace != pod.namespace or not budget.selector:
        return False
    labels = budget.selector.get("matchLabels") or {}
    return bool(labels) and all(pod.labels.get(k) == v for k, v in labels.items())
