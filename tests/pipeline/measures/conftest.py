"""Measures files written for the tests: features in EPSG:6677 (JGD2011 zone IX, Saitama)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RUN_CRS = "EPSG:6677"
#: A point in Omiya (EPSG:6677 metres), the centre of the test features.
X0, Y0 = -19900.0, -10500.0


def feature(kind: str | None, geometry: dict | None, **properties) -> dict:
    props = dict(properties)
    if kind is not None:
        props["kind"] = kind
    return {"type": "Feature", "properties": props, "geometry": geometry}


def point(dx: float = 0.0, dy: float = 0.0) -> dict:
    return {"type": "Point", "coordinates": [X0 + dx, Y0 + dy]}


def line(*offsets: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [[X0 + dx, Y0 + dy] for dx, dy in offsets]}


def polygon(*offsets: tuple[float, float]) -> dict:
    ring = [[X0 + dx, Y0 + dy] for dx, dy in offsets]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def write_geojson(path: Path, features: list[dict], crs: str | None = RUN_CRS) -> Path:
    collection = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        collection["crs"] = {
            "type": "name",
            "properties": {"name": f"urn:ogc:def:crs:{crs.replace(':', '::')}"},
        }
    path.write_text(json.dumps(collection))
    return path


@pytest.fixture
def measures_file(tmp_path):
    def make(features, crs=RUN_CRS, name="measures.geojson"):
        return write_geojson(tmp_path / name, features, crs)

    return make
