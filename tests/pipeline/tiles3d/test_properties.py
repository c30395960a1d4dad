"""Property rows of 3D Tiles from ingest tables: labels for codes, integers kept, constant
units folded into the schema, and which properties are numeric in the GeoParquet."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline.tiles3d.properties import (
    fold_constant_units,
    numeric_properties,
    property_rows,
    read_property_rows,
)


def write_table(path, **columns) -> str:
    n = len(next(iter(columns.values())))
    gpd.GeoDataFrame(columns, geometry=[shapely.Point(i, 0) for i in range(n)], crs="EPSG:6677").to_parquet(
        path
    )
    return str(path)


def test_constant_units_fold_and_varying_ones_stay():
    rows = {
        "a": {"measured_height": 9.5, "measured_height_uom": "m", "depth": 1.0, "depth_uom": "m"},
        "b": {"measured_height": 3.0, "measured_height_uom": "m", "depth": 30.0, "depth_uom": "cm"},
        "c": {"measured_height": None, "measured_height_uom": None},
    }
    assert fold_constant_units(rows) == {"measured_height": "unit: m"}
    assert rows["a"] == {"measured_height": 9.5, "depth": 1.0, "depth_uom": "m"}
    assert rows["c"] == {"measured_height": None}


def test_integers_with_gaps_stay_integers_and_codes_show_labels(tmp_path):
    path = write_table(
        tmp_path / "t.parquet",
        gml_id=["a", "b"],
        storeys=pd.array([3, None], dtype="Int64"),
        usage=["411", "999"],
        usage_label=["住宅", None],
        note=["x", None],
    )
    rows = read_property_rows([path])
    assert rows["a"] == {"gml_id": "a", "storeys": 3, "usage": "住宅", "usage_code": "411", "note": "x"}
    assert rows["b"] == {"gml_id": "b", "storeys": None, "usage": "999", "usage_code": "999", "note": None}
    assert type(rows["a"]["storeys"]) is int


def test_numeric_properties_name_numbers_of_any_parquet_type(tmp_path):
    first = write_table(tmp_path / "a.parquet", gml_id=["a"], height=[1.5], flag=[True], name=["x"])
    second = write_table(
        tmp_path / "b.parquet",
        gml_id=["b"],
        storeys=np.array([2], dtype=np.int64),
        code=["1"],
        code_label=["one"],
    )
    assert numeric_properties([first, second]) == {"height", "flag", "storeys"}


def test_property_rows_skip_the_json_copy_and_keep_every_row():
    table = pd.DataFrame({"gml_id": ["a", "b"], "attributes_json": ["{}", "{}"], "x": [1.0, np.nan]})
    assert property_rows(table) == {"a": {"gml_id": "a", "x": 1.0}, "b": {"gml_id": "b", "x": None}}
