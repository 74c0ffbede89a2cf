"""The posture table (mappings/posture.yaml) as typed controls: which CIS control, where each side sets it, how
strength is measured and which Talos patch keeps the old value. Data only; the values come from the readers."""
# exercised by tests/posture/test_evaluate.py

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from migrate.mapping.data import load_mapping
from migrate.posture.strength import check_measure

POSTURE_FILE = "posture.yaml"


@dataclass(frozen=True)
class Benchmark:
    name: str
    version: str
    source: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class Control:
    key: str  # the value's name on both sides (several controls may judge one value)
    cis: str
    section: str
    title: str
    kubespray: str  # where Kubespray sets it
    talos: str  # where Talos sets it
    measure: str = ""
    default: Any = None  # the Kubernetes component's own default when a side leaves it unset
    patch: dict[str, Any] = field(default_factory=dict)
    patch_text: str = ""  # a patch that needs a person (the content lives on the hosts)
    not_on_talos: str = ""

    @property
    def ident(self) -> str:
        return f"{self.cis} {self.key}"


@dataclass(frozen=True)
class PostureTable:
    benchmark: Benchmark
    sections: dict[str, str]
    controls: tuple[Control, ...]

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.controls if not c.not_on_talos)

    def complete(self, values: dict[str, Any]) -> dict[str, Any]:
        """Every key; an unset value is the component's own default (the same on both sides: the control's
        `default`)."""
        defaults = {c.key: c.default for c in self.controls if c.default is not None}
        complete = {**dict.fromkeys(self.keys), **values}
        return {k: (defaults.get(k) if v is None and k in defaults else v) for k, v in complete.items()}


@cache
def posture_table() -> PostureTable:
    data = load_mapping(POSTURE_FILE)
    controls = tuple(Control(**item) for item in data["controls"])
    for control in controls:
        if control.section not in data["sections"]:
            raise ValueError(f"{POSTURE_FILE}: {control.ident} names unknown section {control.section!r}")
        if not control.not_on_talos:
            check_measure(control.measure, where=f"{POSTURE_FILE}: {control.ident}")
    return PostureTable(Benchmark(**data["benchmark"]), dict(data["sections"]), controls)
