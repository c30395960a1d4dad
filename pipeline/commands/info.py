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
    iur_versions: set[str] = field(default_factory=set)  # "urf 2.0", "uro 3.1"
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [f"{self.path}: {self.files} CityGML file(s)"]
        lines.append("features:")
        for feature_type, count in sorted(self.counts.items()):
            lods = ", ".join(f"LOD{lod}: {n}" for lod, n in sorted(self.lod_counts[feature_type].items()))
            lines.append(f"  {feature_type:<32} {count:>7}   {lods}")
        if self.extent:
            e = self.extent
            lines.append(
                f"extent (lon, lat, h): {e[0]:.6f} {e[1]:.6f} {e[2]:.2f} .. {e[3]:.6f} {e[4]:.6f} {e[5]:.2f}"
            )
        lines.append(f"CRS: {', '.join(sorted(self.crs)) or 'unknown'} (axis order lat, lon, h)")
        lines.append(f"i-UR uro version: {', '.join(sorted(self.uro_versions)) or 'none'}")
        lines.append(f"i-UR namespaces: {', '.join(sorted(self.iur_versions)) or 'none'}")
        for feature_type, names in sorted(self.attributes.items()):
            shown = sorted(n for n in names if n != "attributes_json")
            lines.append(f"attributes of {feature_type} ({len(shown)}): {', '.join(shown)}")
        if self.notes:
            lines.append(f"notes ({len(self.notes)}):")
            lines.extend(f"  {n}" for n in self.notes)
        if self.rejected:
            lines.append(f"rejected files ({len(self.rejected)}), none of their features counted:")
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
        # A file counts whole or not at all: a rejected file's features are not counted.
        counts: Counter = Counter()
        lods: dict[str, Counter] = defaultdict(Counter)
        names: dict[str, set[str]] = defaultdict(set)
        file_low, file_high = np.full(3, np.inf), np.full(3, -np.inf)
        try:
            for obj in reader:
                counts[obj.feature_type] += 1
                for lod in obj.lods:
                    lods[obj.feature_type][lod] += 1
                names[obj.feature_type].update(flatten_attributes(obj.attributes))
                vertices = obj.all_vertices()
                if len(vertices):
                    file_low = np.minimum(file_low, vertices.min(axis=0))
                    file_high = np.maximum(file_high, vertices.max(axis=0))
        except CityGMLError as exc:
            info.rejected.append(str(exc))
            continue
        info.counts.update(counts)
        for feature_type, by_lod in lods.items():
            info.lod_counts[feature_type].update(by_lod)
        for feature_type, found in names.items():
            info.attributes[feature_type].update(found)
        low, high = np.minimum(low, file_low), np.maximum(high, file_high)
        if reader.summary.srs_name:
            info.crs.add(reader.summary.srs_name)
        if reader.summary.uro_version:
            info.uro_versions.add(reader.summary.uro_version)
        info.iur_versions.update(f"{m} {v}" for m, v in reader.summary.iur_versions.items())
        info.problems.extend(str(p) for p in reader.problems)
        info.notes.extend(str(p) for p in reader.notes)
    if np.isfinite(low).all():
        info.extent = [*low.tolist(), *high.tolist()]
    return info
