"""What the inventory asks of Kubespray's own checks: variables its release renamed or removed, and the
ansible-core range its playbooks assert. Both are facts a person must act on before running Kubespray again
(remove-node.yml, reset.yml, an upgrade step), so they become findings of the plan."""
# exercised by tests/kubespray/test_retired.py

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from migrate.kubespray.releases import Release, release_named
from migrate.mapping.data import load_mapping
from migrate.mapping.finding import MANUAL, Finding, finding
from migrate.version import release_of


@dataclass(frozen=True)
class RetiredVariable:
    name: str
    since: str  # "v2.32": the first release whose checks name it
    fails: bool  # Kubespray stops (assert) rather than warns
    use: str | None  # the replacement, if there is one
    check: str  # where Kubespray checks it
    where: str  # where the inventory sets it


def retired_variables(inventory_vars: Mapping[str, Mapping[str, Any]], release: Release,
                      origin: Callable[[str], str], effective: Mapping[str, Any]) -> list[RetiredVariable]:
    """The retired variables any host of the inventory sets, for a release that checks them (`origin`: where
    the reference host's value was set, "" when it sets none, asked only for what is found; `effective`: what
    the checks' `when:` reads)."""
    table: dict[str, dict[str, Any]] = load_mapping("kubespray", "removed.yaml")["removed"]
    found = []
    for name, fact in table.items():
        if release.minor < release_named(fact["since"]).minor:
            continue
        hosts = sorted(h for h, variables in inventory_vars.items() if name in variables)
        if not hosts or not _check_runs(fact.get("when") or {}, effective):
            continue
        where = origin(name) or f"host variables of {', '.join(hosts)}"
        found.append(RetiredVariable(name, str(fact["since"]), bool(fact["fails"]), fact.get("use"),
                                     str(fact["check"]).split(" ")[0], where))
    return found


def _check_runs(when: Mapping[str, Any], effective: Mapping[str, Any]) -> bool:
    """Kubespray's `when:` on the checking task: the check runs only where the cluster uses what it checks."""
    return all(effective.get(name) is wanted or str(effective.get(name)).lower() == str(wanted).lower()
               for name, wanted in when.items())


def retired_findings(retired: list[RetiredVariable], release: Release) -> list[Finding]:
    out = []
    for r in retired:
        what = "stops" if r.fails else "warns"
        instead = f"set `{r.use}` instead" if r.use else "delete it: nothing replaces it"
        out.append(finding(
            r.name, MANUAL,
            f"Kubespray {release.label} {what} on this variable ({r.check}, since {r.since}): {instead}, before "
            f"running any Kubespray playbook on this inventory again (remove-node.yml, reset.yml, an upgrade). "
            f"Set at {r.where}.",
            severity="warning", area="kubespray", source="derived"))
    return out


@dataclass(frozen=True)
class AnsibleRange:
    minimum: str
    below: str

    def admits(self, version: str) -> bool:
        have = release_of(version)
        return have is not None and (release_of(self.minimum) or have) <= have < (release_of(self.below) or have)

    def __str__(self) -> str:
        return f">={self.minimum},<{self.below}"


def ansible_range(release: Release) -> AnsibleRange | None:
    """The ansible-core range the release's playbooks/ansible_version.yml asserts (None: not known)."""
    table: dict[str, dict[str, str]] = load_mapping("kubespray", "ansible.yaml")["ansible"]
    fact = table.get(release.name)
    return AnsibleRange(fact["min"], fact["below"]) if fact else None


def ansible_finding(release: Release, ours: str) -> Finding | None:
    """Kubespray's playbooks refuse an ansible-core outside their release's range: ours usually is outside."""
    wanted = ansible_range(release)
    if wanted is None or wanted.admits(ours):
        return None
    return finding(
        "Kubespray's Ansible range", MANUAL,
        f"Kubespray {release.label}'s playbooks assert ansible-core {wanted}; this tool runs ansible-core {ours}, "
        "which they refuse. Run Kubespray's own playbooks (remove-node.yml, reset.yml, upgrade steps) with that "
        "checkout's Ansible, e.g. its venv's ansible-playbook in migration.yaml's hooks; this tool's own "
        "playbooks are not affected.",
        severity="notice", area="kubespray", source="derived")

