"""migration.yaml: written by plan with control planes first, one per wave; every field validated by name."""

from __future__ import annotations

import pytest
import yaml

from migrate.errors import UserError
from migrate.migration.plan_file import default_plan, parse, to_yaml

REPORT = {"cluster": "prod", "nodes": [{"name": "cp1", "role": "controlplane", "ip": "10.0.0.1"},
                                       {"name": "cp2", "role": "controlplane", "ip": "10.0.0.2"},
                                       *({"name": f"w{i}", "role": "worker", "ip": f"10.0.1.{i}"} for i in range(1, 6))]}


def test_control_planes_first_one_per_wave_then_workers_in_waves_of_the_budget():
    plan = default_plan(REPORT, max_unavailable=2)
    assert [[m.host for m in w] for w in plan.waves()] == [["cp1"], ["cp2"], ["w1", "w2"], ["w3", "w4"], ["w5"]]


def test_workers_are_grouped_by_zone():
    zones = {"w1": "a", "w2": "b", "w3": "a", "w4": "b", "w5": "a"}
    plan = default_plan(REPORT, max_unavailable=3, zones=zones)
    assert [sorted(m.host for m in w) for w in plan.waves()][2:] == [["w1", "w3", "w5"], ["w2", "w4"]]


def test_what_plan_writes_reads_back_the_same():
    plan = default_plan(REPORT, max_unavailable=2)
    assert parse(yaml.safe_load(to_yaml(plan)), "migration.yaml") == plan


@pytest.mark.parametrize("edit, where", [
    (lambda d: d["hosts"][0].update(wave=0), "hosts[0].wave"),
    (lambda d: d["hosts"][2].update(role="master"), "hosts[2].role"),
    (lambda d: d["hosts"][3].update(replacement={"name": "W2_Talos"}), "hosts[3].replacement.name"),
    (lambda d: d["hosts"][1].update(wave=3), "hosts"),  # a control plane sharing a wave with workers
    (lambda d: d["hosts"][2].update(wave=1), "hosts"),  # a worker before the last control plane
    (lambda d: d.update(drain_timeout="ten minutes"), "drain_timeout"),
    (lambda d: d["hosts"][4].update(provision={"command": "reboot"}), "hosts[4].provision.command"),
    (lambda d: d["hosts"][4].update(decommission={"builtin": "wipe-everything"}), "hosts[4].decommission.builtin"),
    (lambda d: d["hosts"][4].update(decommission={"kubespray": "reset.yml"}), "hosts[4].decommission.dir"),
    (lambda d: d["hosts"][4].update(decommission={"kubespray": "cluster.yml", "dir": "ks"}), "hosts[4].decommission.kubespray"),
    (lambda d: d["hosts"][4].update(decommission={"playbook": "a.yml", "builtin": "decommission"}), "hosts[4].decommission"),
    (lambda d: d["hosts"][4].update(decommission={"playbook": "a.yml", "extravars": [1]}), "hosts[4].decommission.extravars"),
    (lambda d: d.update(inventory=["a", "b"]), "inventory"),
    (lambda d: d["hosts"][4].update(decommission={"command": ["wipe"], "idempotent": "no"}),
     "hosts[4].decommission.idempotent"),
    (lambda d: d["hosts"][4].update(decommission={"builtin": "decommission", "ansible_playbook": "/x"}),
     "hosts[4].decommission.ansible_playbook"),
])
def test_each_bad_field_is_named(edit, where):
    data = yaml.safe_load(to_yaml(default_plan(REPORT, max_unavailable=2)))
    edit(data)
    with pytest.raises(UserError) as caught:
        parse(data, "migration.yaml")
    assert where in str(caught.value)


def test_every_hook_form_and_the_inventory_read_back_the_same():
    data = yaml.safe_load(to_yaml(default_plan(REPORT, max_unavailable=2, inventory="../inventory/prod/hosts.yaml")))
    data["hosts"][2]["provision"] = {"playbook": "hooks/boot-vm.yml", "extravars": {"flavor": "m5.large"}}
    data["hosts"][2]["decommission"] = {"kubespray": "reset.yml", "dir": "/src/kubespray",
                                        "ansible_playbook": "/src/kubespray/venv/bin/ansible-playbook"}
    data["hosts"][3]["decommission"] = {"builtin": "decommission", "extravars": {"wipe_disks": True}}
    data["hosts"][4]["decommission"] = "manual"
    data["hosts"][5]["decommission"] = {"command": ["/opt/wipe-once", "--really"], "idempotent": False}
    data["hosts"][6]["decommission"] = {"playbook": "hooks/retire.yml", "idempotent": False}
    plan = parse(data, "migration.yaml")
    assert plan.inventory == "../inventory/prod/hosts.yaml" and plan.hosts[4].decommission.manual
    assert [m.decommission.idempotent for m in plan.hosts[2:7]] == [True, True, True, False, False]
    assert plan.hosts[2].decommission.ansible_playbook == "/src/kubespray/venv/bin/ansible-playbook"
    assert parse(yaml.safe_load(to_yaml(plan)), "migration.yaml") == plan


def test_rewave_keeps_control_planes_alone_and_sizes_worker_waves_to_the_budget():
    from migrate.migration.plan_file import rewave

    plan = rewave(default_plan(REPORT, max_unavailable=1), 3)
    assert [[m.host for m in w] for w in plan.waves()] == [["cp1"], ["cp2"], ["w1", "w2", "w3"], ["w4", "w5"]]
    assert plan.max_unavailable == 3


@pytest.mark.parametrize("budget, waves", [
    ("40%", [["w1", "w2"], ["w3", "w4"], ["w5"]]),  # 40% of 5 workers: 2
    ("10%", [["w1"], ["w2"], ["w3"], ["w4"], ["w5"]]),  # rounds down to 0, but a wave moves at least one node
    ("100%", [["w1", "w2", "w3", "w4", "w5"]]),
    ("3", [["w1", "w2", "w3"], ["w4", "w5"]]),  # as a YAML string
])
def test_a_budget_may_be_a_percentage_of_the_workers(budget, waves):
    data = yaml.safe_load(to_yaml(default_plan(REPORT)))
    data["max_unavailable"] = budget
    plan = parse(data, "migration.yaml")
    assert plan.max_unavailable == len(waves[0])
    assert [[m.host for m in w] for w in plan.waves()][2:] == [[f"w{i}"] for i in range(1, 6)]  # its waves as written
    from migrate.migration.plan_file import rewave

    assert [[m.host for m in w] for w in rewave(plan, budget).waves()][2:] == waves


@pytest.mark.parametrize("budget", [0, "0%", "150%", "-1", "two", 2.5, True, "%"])
def test_a_budget_that_moves_nothing_or_is_not_a_count_is_refused_by_name(budget):
    data = yaml.safe_load(to_yaml(default_plan(REPORT)))
    data["max_unavailable"] = budget
    with pytest.raises(UserError) as caught:
        parse(data, "migration.yaml")
    assert "max_unavailable" in str(caught.value) and "at least 1" in str(caught.value)


def test_zones_and_racks_are_written_read_back_and_kept_when_the_budget_changes():
    from migrate.migration.plan_file import failure_domain, rewave

    labels = {"w1": {"topology.kubernetes.io/zone": "a", "rack": "r1"},
              "w2": {"failure-domain.beta.kubernetes.io/zone": "b"},  # the pre-1.17 spelling
              "w3": {"topology.kubernetes.io/zone": "a", "rack": "r1"},
              "w4": {"topology.kubernetes.io/zone": "a", "topology.kubernetes.io/rack": "r2"}, "w5": {}}
    zones = {name: failure_domain(v) for name, v in labels.items()}
    assert zones == {"w1": "a/r1", "w2": "b", "w3": "a/r1", "w4": "a/r2", "w5": ""}
    plan = parse(yaml.safe_load(to_yaml(default_plan(REPORT, max_unavailable=1, zones=zones))), "migration.yaml")
    assert {m.host: m.zone for m in plan.hosts if not m.is_control_plane} == zones
    wider = rewave(plan, 10)  # ten at once, yet never two failure domains in one wave
    assert sorted(sorted(m.host for m in w) for w in wider.waves()[2:]) == [["w1", "w3"], ["w2"], ["w4"], ["w5"]]
