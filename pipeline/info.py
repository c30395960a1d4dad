"""``machi info``: what is in a CityGML file, folder or zip, before running anything."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from citygml import CityGMLError, FileReader, open_dataset
from citygml.attributes import flatten_attributes
from citygml.codelists import CodeListResolver


@dataclass
class CityGMLInfo:
    """Counts per feature type and LOD, extent, CRS, i-UR version, attributes, problems."""

    path: str
    files: int = 0
    counts: Counter = field(default_factory=Counter)
    lod_counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    extent: list[float] | None = None  # lon_min, lat_min, h_min, lon_max, lat_max, h_max
    crs: set[str] = field(default_factory=set)
    uro_versions: set[str] = field(default_factory=set)
    attributes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    problems: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [f"{self.path}: {self.files} CityGML file(s)"]
        lines.append("features:")
        for feature_type, count in sorted(self.counts.items()):
            lods = ", ".join(f"LOD{lod}: {n}" for lod, n in sorted(self.lod_counts[feature_type].items()))
            lines.append(f"  {feature_type:<32} {count:>7}   {lods}")
        if self.extent:
            e = self.extent
            lines.append(f"extent (lon, lat, h): {e[0]:.6f} {e[1]:.6f} {e[2]:.2f} .. "
                         f"{e[3]:.6f} {e[4]:.6f} {e[5]:.2f}")
        lines.append(f"CRS: {', '.join(sorted(self.crs)) or 'unknown'} (axis order lat, lon, h)")
        lines.append(f"i-UR uro version: {', '.join(sorted(self.uro_versions)) or 'none'}")
        for feature_type, names in sorted(self.attributes.items()):
            shown = sorted(n for n in names if n != "attributes_json")
            lines.append(f"attributes of {feature_type} ({len(shown)}): {', '.join(shown)}")
        if self.rejected:
            lines.append(f"rejected files ({len(self.rejected)}):")
            lines.extend(f"  {r}" for r in self.rejected)
        lines.append(f"problems ({len(self.problems)}):" if self.problems else "problems: none")
        lines.extend(f"  {p}" for p in self.problems[:50])
        if len(self.problems) > 50:
            lines.append(f"  ... and {len(self.problems) - 50} more")
        return "\n".join(lines)


def citygml_info(path: str | Path) -> CityGMLInfo:
    info = CityGMLInfo(str(path))
    low, high = np.full(3, np.inf), np.full(3, -np.inf)
    codelists = CodeListResolver()
    for source in open_dataset(path):
        info.files += 1
        reader = FileReader(source, codelists=codelists, include_appearance=True)
        try:
            for obj in reader:
                info.counts[obj.feature_type] += 1
                for lod in obj.lods:
                    info.lod_counts[obj.feature_type][lod] += 1
                info.attributes[obj.feature_type].update(flatten_attributes(obj.attributes))
                vertices = obj.all_vertices()
                if len(vertices):
                    low = np.minimum(low, vertices.min(axis=0))
                    high = np.maximum(high, vertices.max(axis=0))
        except CityGMLError as exc:
            info.rejected.append(str(exc))
        if reader.summary.srs_name:
            info.crs.add(reader.summary.srs_name)
        if reader.summary.uro_version:
            info.uro_versions.add(reader.summary.uro_version)
        info.problems.extend(str(p) for p in reader.problems)
    if np.isfinite(low).all():
        info.extent = [*low.tolist(), *high.tolist()]
    return info
