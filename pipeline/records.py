"""What a stage task hands back to the runner."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StageResult:
    """Outputs by name (paths, possibly nested dicts) and counts for the manifest.

    ``outputs["feature_table"]``, when present, is a Parquet table keyed by ``gml_id``
    that the 3D Tiles export joins to the property tables of ``feature_type``.
    """

    outputs: dict
    counts: dict = field(default_factory=dict)
    feature_type: str | None = None

    def to_record(self) -> dict:
        record = {"outputs": self.outputs, "counts": self.counts}
        if self.feature_type:
            record["feature_type"] = self.feature_type
        return record
