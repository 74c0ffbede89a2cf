"""The posture table and one row per control: which sections it covers, what a weakened control carries."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from migrate.posture.controls import posture_table
from migrate.posture.evaluate import TalosValues, evaluate
from migrate.posture.strength import NOT_ON_TALOS, POSTURES, SAME, STRONGER, WEAKER, compare, ranker


def test_the_table_covers_every_benchmark_section_a_configuration_decides() -> None:
    table = posture_table()
    assert table.benchmark.label == "CIS Kubernetes Benchmark v1.9.0"
    by_section: dict[str, list[str]] = {}
    for control in table.controls:
        by_section.setdefault(control.section, []).append(control.cis)
    for section, first in (("api-server", "1.2."), ("controller-manager", "1.3."), ("scheduler", "1.4."),
                           ("etcd", "2."), ("kubelet", "4.2.")):
        assert len(by_section[section]) >= 2, section
        assert all(cis.startswith(first) for cis in by_section[section] if "(" not in cis), section
    idents = [c.ident for c in table.controls]
    assert len(idents) == len(set(idents)), "two rows judge the same value for the same CIS id"


def _extreme(measure: str, strongest: bool) -> Any:
    """A value the measure ranks highest (or lowest), found among the values the table itself names."""
    rank = ranker(measure)
    candidates: list[Any] = [True, False, 0, 1, -1, 4096, "0s", "4h0m0s", "127.0.0.1", "0.0.0.0", None,
                             "TLS_AES_128_GCM_SHA256", "go-default"]
    if measure.startswith("order:"):
        candidates += measure.removeprefix("order:").split(",")
    if measure.startswith(("includes:", "excludes:")):
        candidates += [[measure.split(":", 1)[1]], []]
    return (max if strongest else min)(candidates, key=rank)


def _values(strongest: bool) -> dict[str, Any]:
    """One value per key; a list several controls judge (authorization modes, admission plugins) holds what each
    of them asks for (or, weakest, what each refuses)."""
    values: dict[str, Any] = {}
    for c in posture_table().controls:
        if c.not_on_talos:
            continue
        kind, _, item = c.measure.partition(":")
        if kind in ("includes", "excludes"):
            wanted = (kind == "includes") == strongest
            values[c.key] = [*values.get(c.key, []), *([item] if wanted else [])]
        else:
            values[c.key] = _extreme(c.measure, strongest)
    return values


def test_a_control_talos_would_weaken_is_a_manual_finding_with_a_patch_that_restores_it() -> None:
    table = posture_table()
    before, after = _values(True), _values(False)
    patches: list[dict[str, Any]] = []
    posture = evaluate(before, TalosValues(after),
                       lambda patch: (patches.append(patch), yaml.safe_dump(patch))[1], table)
    weaker = {r.control.ident for r in posture.weaker}
    comparable = {c.ident for c in table.controls if not c.not_on_talos}
    assert weaker == comparable  # strongest before, weakest after: every comparable control gets weaker
    for row in posture.weaker:
        # every one says how to keep the old strength, unless Talos hard-sets the value and cannot run it weaker
        assert row.patch or ("No Talos field" in row.reason and ("hard-sets" in row.control.talos or
                                                                 "protected" in row.control.talos)), row.control.ident
        if row.control.patch:  # a YAML patch: it sets the Kubespray value where the control says Talos keeps it
            leaf = _leaf(yaml.safe_load(row.patch))
            assert compare(row.control.measure, row.before, leaf) == SAME, row.control.ident
    findings = posture.findings()
    assert len(findings) == len(weaker) and {f.verdict for f in findings} == {"manual"}
    assert all("Patch:" in f.reason or "No Talos field" in f.reason for f in findings)
    assert {r.posture for r in posture.rows} == {WEAKER, NOT_ON_TALOS}
    assert set(posture.counts()) == set(POSTURES)


def _leaf(patch: Any) -> Any:
    while isinstance(patch, (dict, list)):
        if isinstance(patch, list):
            patch = patch[0]
        elif set(patch) >= {"name", "configuration"}:
            patch = patch["configuration"]
        else:
            patch = patch[sorted(k for k in patch if k not in ("apiVersion", "kind"))[-1]]
    return patch


def test_stronger_and_same_rows_carry_no_patch() -> None:
    table = posture_table()
    before = _values(False)
    posture = evaluate(before, TalosValues(dict(before)), lambda patch: pytest.fail("no patch is needed"), table)
    assert {r.posture for r in posture.rows} == {SAME, NOT_ON_TALOS}
    posture = evaluate(before, TalosValues(_values(True)), lambda patch: pytest.fail("no patch is needed"), table)
    assert {r.posture for r in posture.rows} == {STRONGER, NOT_ON_TALOS}
    assert not posture.findings()


def test_a_value_missing_on_either_side_is_refused() -> None:
    values = _values(True)
    with pytest.raises(ValueError, match="no value read"):
        evaluate({}, TalosValues(values), lambda patch: "", posture_table())
    with pytest.raises(ValueError, match="no value read for posture control.*: kubelet.podPidsLimit$"):
        evaluate(values, TalosValues({k: v for k, v in values.items() if k != "kubelet.podPidsLimit"}),
                 lambda patch: "", posture_table())
