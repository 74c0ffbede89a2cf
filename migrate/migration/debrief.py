"""The debrief of a rehearsal with faults: for each fault, what it did to the twin and what the run did about it,
read from the run's events, its ledger and the client's retries (never from what the run was meant to do)."""
# exercised by tests/migration/test_faults.py

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migrate.migration.faults import API_KINDS, Fault, FaultPlan

if TYPE_CHECKING:
    from migrate.cluster.twin.inprocess import InProcessCluster
    from migrate.migration.rehearse import Rehearsal


def debrief(faults: FaultPlan, result: Rehearsal, cluster: InProcessCluster) -> list[dict[str, Any]]:
    out = []
    for fault in faults.faults:
        fired = faults.fired[fault]
        if fault.kind in API_KINDS:
            what, did = _api(fault, faults, result, cluster)
        elif fired.at is None:
            what, did = "never fired: the run ended before its time", "nothing to do"
        else:
            what = f"at {_clock(fired.at)}: {fault.target} — {fired.note}"
            did = {"node-notready": _node, "pdb-block": _budget, "etcd-kill": _etcd}[fault.kind](fault, fired.at, result)
        out.append({"fault": fault.text, "happened": what, "run_did": did})
    return out


def _api(fault: Fault, faults: FaultPlan, result: Rehearsal, cluster: InProcessCluster) -> tuple[str, str]:
    fired = faults.fired[fault]
    codes = ", ".join(f"{n}× HTTP {code}" for code, n in sorted(fired.answered.items()))
    window = "" if fault.start == 0 and fault.end is None else \
        f" between {_clock(fault.start)} and {_clock(fault.end) if fault.end is not None else 'the end'}"
    what = f"{sum(fired.answered.values())} of {faults.requests} requests{window} answered {codes or 'nothing'}"
    retried = sum(n for code, n in cluster.retried.items() if code in API_KINDS[fault.kind])
    evictions = fired.by_verb.get("evict pod", 0)
    did = f"the client retried {retried} request(s) with backoff"
    if fault.kind == "api-429" and evictions:
        did += f"; {evictions} eviction(s) answered 429 were tried again by the drain 5 s later, as kubectl does"
    surfaced = [b for b in result.blockers if "(HTTP " in b.splitlines()[0]]
    did += f"; {len(surfaced)} reached the run as an error" if surfaced else "; none reached the run"
    return what, did


def _node(fault: Fault, at: float, result: Rehearsal) -> str:
    state = result.hosts.get(fault.target)
    if state is None:
        return "not a host of the plan: the run went on; its pods were rescheduled as the node controller evicted them"
    failed = [s for s in result.steps if s.host == fault.target and s.outcome == "failed"]
    done_before = [s.step for s in result.steps if s.host == fault.target and s.outcome == "ok"
                   and s.finished_at is not None and s.finished_at - _start(result) <= at]
    if "delete-node" in done_before:
        return "the host had already been replaced and removed: nothing to do"
    if failed:
        return (f"its {failed[-1].step} step failed ({_first(failed[-1].evidence.get('error', ''))}); the host is "
                f"{state} in the ledger and its node stays cordoned, never deleted")
    short = sorted(name for name, when in result.violated.items() if when >= at)
    fell = f"; budgets {', '.join(short)} fell below their healthy pods with the node (not by an eviction)" if short else ""
    went_on = f"the run stopped later: {_first(result.blockers[0])}" if result.blockers else "the run carried on"
    return f"the host was {state} in the ledger at the end{fell}; {went_on}"


def _budget(fault: Fault, at: float, result: Rehearsal) -> str:
    name = fault.target.split("/", 1)[1]
    blocked = [e for e in result.events if e.kind == "blocked" and e.detail.endswith(f"by {name}")]
    named = [b for b in result.blockers if name in b]
    if named:
        return (f"the drain retried {len(blocked)} blocked eviction(s) every 5 s until its timeout, then stopped "
                f"naming the budget: {_first(named[0])}; the nodes stay cordoned")
    if blocked:
        return f"{len(blocked)} eviction(s) waited on it; the run went on once they passed"
    return "no pod under it was on a node being drained after it fired: it never blocked"


def _etcd(fault: Fault, at: float, result: Rehearsal) -> str:
    refused = [b for b in result.blockers if "etcd" in b or "quorum" in b]
    after = [s for s in result.steps if s.step == "etcd" and s.started_at - _start(result) >= at]
    if refused:
        return f"the next member removal was refused and the run stopped before removing anything: {_first(refused[0])}"
    removed = [s for s in after if s.outcome == "ok" and "removed" in s.evidence]
    return f"{len(removed)} member removal(s) after it went ahead: the projected quorum held each time"


def _start(result: Rehearsal) -> float:
    return min((s.started_at for s in result.steps), default=0.0)


def _first(text: Any) -> str:
    return str(text).splitlines()[0][:240] if text else ""


def _clock(seconds: float) -> str:
    return f"+{int(seconds // 60)}m{int(seconds % 60):02d}s"
