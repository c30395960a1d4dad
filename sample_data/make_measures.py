"""Generate the sample's measures file: deciduous street trees on its busiest hot streets.

    python sample_data/make_measures.py [BASELINE]   # BASELINE: a run of dags/sample.yaml (../out/sample)

Writes ``sample_data/omiya/measures/street_trees.geojson`` (EPSG:6677, JGD2011 plane
rectangular zone IX): 60 deciduous trees along the segments of the baseline's
``walkability/segments_heat_day_midday.parquet`` that rank highest by people x degrees
above 32 °C (UTCI's strong heat stress, Bröde et al. 2012) at the design heat day's
midday. On each chosen segment the trees stand on both walking lines (``width_m / 2 -
1.5`` m from the centre line, the walking lines of
:func:`pipeline.walkability.components.sidewalk_offsets`; 8 m streets where the width is
unknown), every 12 m from 6 m after the segment's start. Heights are 7-9 m (uniform, seed
24) and crowns 6 m: a plausible young street tree, generated, not surveyed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
OUT = HERE / "omiya" / "measures" / "street_trees.geojson"
CRS = "EPSG:6677"
TREES = 60
SPACING_M, START_M, INSET_M, DEFAULT_WIDTH_M = 12.0, 6.0, 1.5, 8.0
SEED = 24


def street_trees(segments: gpd.GeoDataFrame, count: int = TREES) -> list[dict]:
    """GeoJSON features of ``count`` trees along the hottest busiest segments (metric CRS)."""
    rank = segments["people"].fillna(0) * np.maximum(segments["utci_mean_c"] - 32.0, 0.0)
    order = segments.assign(rank=rank).sort_values(["rank", "segment_id"], ascending=[False, True])
    rng = np.random.default_rng(SEED)
    features: list[dict] = []
    for row in order.itertuples():
        width = row.width_m if np.isfinite(row.width_m) else DEFAULT_WIDTH_M
        for side in (-1, 1):
            line = shapely.offset_curve(row.geometry, side * (width / 2 - INSET_M))
            for distance in np.arange(START_M, line.length - START_M / 2, SPACING_M):
                if len(features) == count:
                    return features
                point = line.interpolate(distance)
                features.append(
                    {
                        "type": "Feature",
                        "properties": {
                            "kind": "tree",
                            "id": f"street_tree_{len(features) + 1:02d}",
                            "segment": row.segment_id,
                            "height_m": round(float(rng.uniform(7.0, 9.0)), 1),
                            "crown_diameter_m": 6.0,
                            "evergreen": False,
                            "species": "ケヤキ (sample)",
                        },
                        "geometry": {"type": "Point", "coordinates": [round(point.x, 2), round(point.y, 2)]},
                    }
                )
    return features


def main(baseline: Path) -> None:
    segments = gpd.read_parquet(baseline / "walkability" / "segments_heat_day_midday.parquet").to_crs(CRS)
    features = street_trees(segments)
    collection = {
        "type": "FeatureCollection",
        "name": "street_trees",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6677"}},
        "features": features,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(collection, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(features)} trees on {len({f['properties']['segment'] for f in features})} segments")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "out" / "sample")
