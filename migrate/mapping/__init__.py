"""Applying the declarative Kubespray→Talos rules in mappings/ to a resolved cluster."""

from migrate.mapping.engine import evaluate
from migrate.mapping.finding import CHANGED, DROPPED, KEPT, MANUAL, VERDICTS, Finding
from migrate.mapping.transforms import MappingContext

__all__ = ["CHANGED", "DROPPED", "KEPT", "MANUAL", "VERDICTS", "Finding", "MappingContext", "evaluate"]
