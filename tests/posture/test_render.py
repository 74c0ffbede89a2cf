"""The posture table as report data and markdown: counts that add up, weakened controls first with their patch,
cells that cannot break the table, nothing secret-shaped."""

from __future__ import annotations

import json

from migrate.posture.controls import posture_table
from migrate.posture.evaluate import TalosValues, evaluate
from migrate.posture.render import posture_data, to_json, to_markdown


def _posture(after_overrides: dict[str, object]):
    table = posture_table()
    before = {c.key: c.default for c in table.controls if not c.not_on_talos}
    before |= {"kube-apiserver.authorization-mode": ["Node", "RBAC"], "kube-apiserver.enable-admission-plugins": [],
               "kube-apiserver.audit-log-path": "/var/log/a|b.log", "kube-apiserver.audit-log-maxage": 30,
               "kube-apiserver.audit-log-maxbackup": 10, "kube-apiserver.audit-log-maxsize": 100,
               "kube-apiserver.audit-policy-level": "Metadata", "kubelet.podPidsLimit": 4096}
    return evaluate(before, TalosValues({**before, **after_overrides}), lambda patch: json.dumps(patch), table)


def test_counts_add_up_and_weakened_controls_lead_with_their_patch() -> None:
    data = posture_data(_posture({"kubelet.podPidsLimit": -1}), "inventory x", "plan y")
    assert sum(v for k, v in data["summary"].items() if k != "carried_over") == len(data["controls"])
    assert data["summary"]["weaker"] == 1
    text = to_markdown(data)
    head, _, rest = text.partition("## Weaker")
    assert "**1 weaker**" in head and "CIS 4.2.13" in rest.split("## 1.2")[0]
    assert '"podPidsLimit": 4096' in rest  # the patch keeps the cluster's limit
    assert "a\\|b.log" in text  # a pipe in a value stays inside its cell
    assert json.loads(to_json(data)) == json.loads(json.dumps(data, default=str))


def test_a_secret_shaped_value_is_redacted() -> None:
    data = posture_data(_posture({"kube-apiserver.audit-log-path": "https://admin:hunter2@logs.example/x"}), "a", "b")
    assert "hunter2" not in to_json(data) and "hunter2" not in to_markdown(data)
