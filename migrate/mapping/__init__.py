"""Applying the declarative Kubespray→Talos rules in mappings/ to a resolved cluster."""

from migrate.mapping.diff_meaning import (
    DiffRule,
    absent_means,
    control_plane_implies,
    diff_rule_for,
    diff_rules,
    match_path,
)
from migrate.mapping.engine import evaluate
from migrate.mapping.finding import CHANGED, DROPPED, KEPT, MANUAL, VERDICTS, Finding
from migrate.mapping.transforms import MappingContext

__all__ = [
    "CHANGED", "DROPPED", "KEPT", "MANUAL", "VERDICTS", "DiffRule", "Finding", "MappingContext", "absent_means",
    "control_plane_implies", "diff_rule_for", "diff_rules", "evaluate", "match_path",
]
