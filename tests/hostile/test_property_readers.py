"""Done-when property: random hostile YAML, INI and JSON fed to every reader (inventory files, plan
directories read by diff, snapshots) ends in exit 0/1/2, never exit 70 or a traceback, writes nothing outside
--out, and returns within a time bound.

Runs the real CLI entry point in this process (ansible-core loaded once) so that many examples stay fast.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrate.errors import UserError
from tests.hostile.conftest import HOSTILE, run_cli

BASE = HOSTILE / "base"
TIME_BOUND = 15.0  # seconds for one run of a verb on one hostile file
# names the readers care about, so random data reaches the code that uses it
NAMES = ["kube_version", "ip", "access_ip", "ansible_host", "cluster_name", "kube_service_addresses", "kube_pods_subnet",
         "node_labels", "node_taints", "kube_proxy_mode", "kube_network_plugin", "http_proxy", "kubeadm_token",
         "etcd_member_name", "kube_override_hostname", "loadbalancer_apiserver", "upstream_dns_servers", "machine",
         "cluster", "version", "kind", "metadata", "spec", "objects", "hosts", "children", "vars", "all", "cp1"]
NASTY = ["{{ x }}", "{{ lookup('pipe','id') }}", "{% for %}", "[/]", "[bold]", "\x1b[2J", "../../x", "*a", "&a",
         "!unsafe", "!vault |", "10.0.0.1", "::1", "v1.31.4", "1.31", "-1", "1e308", "nan", "~", "''", "a: b", "- -"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.sampled_from(NASTY),
                    st.text(max_size=30))
keys = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))
data = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(keys, inner, max_size=5)), max_leaves=25)
raw_text = st.lists(st.sampled_from(list("ab:-[]{}&*!|>#%@`'\"\n =,.\\/") + ["{{", "}}", "\t", "\x1b"]),
                    max_size=120).map("".join)
ini = st.lists(st.one_of(st.sampled_from(["[all]", "[kube_control_plane]", "[etcd]", "[kube_node]", "[k8s_cluster:children]",
                                          "[all:vars]", "cp1 ansible_host=10.0.20.11 ip=10.0.20.11", "kube_node",
                                          "kube_control_plane"]),
                         st.text(alphabet=st.sampled_from(list("abc19:=[]{} .-/\\'\"#;")), max_size=40)), max_size=12)


def as_yaml(value: object) -> str:
    return yaml.safe_dump(value, allow_unicode=True)


def as_json(value: object) -> str:
    return json.dumps(value, default=str)


hostile_file = st.one_of(data.map(as_yaml), data.map(as_json), raw_text, ini.map("\n".join))


def check(code: int, out: str, err: str, took: float) -> None:
    assert code in (0, 1, 2), f"exit {code}: {err[-2000:]}"
    assert "Traceback" not in out + err and "internal error" not in err, err[-2000:]
    assert took < TIME_BOUND, f"took {took:.1f}s"


def files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def fast(examples: int) -> settings:
    # derandomized: the same hostile inputs every run, so a failure reproduces; kept few for the time budget
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


INVENTORY_FILES = ["hosts.yaml", "group_vars/all/all.yml", "group_vars/k8s_cluster/x.json", "host_vars/cp1.yml",
                   "inventory.ini"]


@fast(20)
@given(where=st.sampled_from(INVENTORY_FILES), text=hostile_file)
def test_inventory_readers(where: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inv = Path(shutil.copytree(BASE, root / "inv"))
        if where == "inventory.ini":
            (inv / "hosts.yaml").unlink()
        (inv / where).parent.mkdir(parents=True, exist_ok=True)
        (inv / where).write_text(text)
        before = files(root)
        check(*run_cli("plan", inv, "--out", root / "out" / "plan"))
        written = files(root) - before
        assert all(p == root / "out" or root / "out" in p.parents for p in written), sorted(map(str, written))


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan") / "plan"
    code, _, err, _ = run_cli("plan", BASE, "--out", out)
    assert code in (0, 1), err
    return out


@fast(15)
@given(name=st.sampled_from(["controlplane.yaml", "worker.yaml", "nodes/cp1.yaml", "report.json", "secrets.yaml"]),
       text=hostile_file)
def test_plan_directory_read_by_diff(plan_dir: Path, name: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(shutil.copytree(plan_dir, Path(tmp) / "plan"))
        (plan / name).write_text(text)
        before = files(Path(tmp))
        check(*run_cli("diff", BASE, plan))
        assert files(Path(tmp)) == before


@fast(15)
@given(objects=data, text=st.one_of(st.none(), hostile_file))
def test_snapshot_reader(objects: object, text: str | None) -> None:
    from migrate.cli.twin import load_twin
    from migrate.cluster.twin import KubeletTiming

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snap.json"
        path.write_text(text if text is not None else
                        json.dumps({"kind": "ClusterSnapshot", "objects": objects if isinstance(objects, dict) else
                                    {"pods": objects}}, default=str))
        started = time.monotonic()
        try:
            load_twin(path, KubeletTiming(), 1.0).stop()
        except UserError:
            pass
        assert time.monotonic() - started < TIME_BOUND
