"""The settings the reader reads and the settings the plan has rules for are one list."""

from __future__ import annotations

import fnmatch

import yaml

from migrate.kubespray.settings import SETTINGS
from migrate.mapping.data import MAPPINGS_DIR


def test_every_setting_read_has_a_talos_rule_and_every_rule_names_a_setting_read():
    rules = yaml.safe_load((MAPPINGS_DIR / "talos" / "settings.yaml").read_text())["rules"]
    named = {n for r in rules for n in r.get("settings", [])}
    patterns = [p for r in rules for p in r.get("match", [])]
    without_rule = [n for n in SETTINGS if n not in named and not any(fnmatch.fnmatch(n, p) for p in patterns)]
    assert without_rule == []
    # rules may also name host facts that are not variables (main_ip, inventory_hostname)
    assert sorted(named - set(SETTINGS)) == sorted({"inventory_hostname", "main_ip", "kube_apiserver_address", "peers", "local_as"} & named)


def test_areas_use_the_rules_vocabulary():
    rules = yaml.safe_load((MAPPINGS_DIR / "talos" / "settings.yaml").read_text())["rules"]
    assert set(SETTINGS.values()) <= {r["area"] for r in rules}
