"""A layer's schema from per-file partials is the schema of the whole layer typed at once.

On real PLATEAU layers of several files whose attributes differ from file to file
(Kawasaki's nine urban-planning files, Sendai's four), and with a per-tile table joined.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from citygml import Dataset
from pipeline.ingest import ingest_file
from pipeline.tiles3d.features import layer_features
from pipeline.tiles3d.layer import file_partial, pair_files
from pipeline.tiles3d.layer_schema import LayerPlan, SchemaPartial, file_rows, merge_partials
from pipeline.tiles3d.properties import read_property_rows

DATASETS = {"kawasaki": "EPSG:6677", "sendai": "EPSG:6678", "misc": "EPSG:6677"}


@pytest.fixture(scope="module")
def layers(plateau_dir, tmp_path_factory):
    """(dataset, layer) -> [(table, mesh)] of every layer of the shared datasets."""
    out = tmp_path_factory.mktemp("ingest")
    found = defaultdict(lambda: ([], []))
    for name, crs in DATASETS.items():
        for source in Dataset(plateau_dir / name).sources():
            record = ingest_file(source, out / name, crs).to_record()
            tables, meshes = found[name, record["feature_type"]]
            tables.append(record["outputs"]["table"])
            meshes.append(record["outputs"]["meshes"])
    return {key: pair_files(*value) for key, value in found.items()}


def whole_layer_schema(layer, files, extra=()):
    """The schema typing every feature of the layer at once (the single-task export)."""
    rows = read_property_rows([t for t, _ in files if t])
    for path in extra:
        table = pd.read_parquet(path)
        for record in table.to_dict(orient="records"):
            if record["gml_id"] in rows:
                rows[record["gml_id"]].update({k: v for k, v in record.items() if k != "gml_id"})
    filled = {k for row in rows.values() for k, v in row.items() if v is not None}
    for row in rows.values():
        for key in [k for k in row if k not in filled]:
            del row[key]
    return layer_features(layer, [m for _, m in files], rows).property_schema


def test_several_files_give_the_schema_of_the_whole_layer(layers):
    several = {key: files for key, files in layers.items() if len(files) > 1}
    assert {("kawasaki", "urf"), ("sendai", "urf")} <= set(several)
    for (name, layer), files in layers.items():
        partials = [file_partial(layer, table, mesh) for table, mesh in files]
        # what goes between the tasks is JSON
        partials = [SchemaPartial.from_json(p.to_json()) for p in partials]
        plan = LayerPlan.from_json(merge_partials(partials).to_json())
        whole = whole_layer_schema(layer, files)
        assert plan.schema.types == whole.types, (name, layer)
        assert plan.schema.classes == dict(sorted(whole.classes.items())), (name, layer)


def test_file_types_differ_but_the_layer_has_one(layers):
    """A property typed differently by two files alone gets the layer's one type."""
    files = layers["kawasaki", "urf"]
    alone = [merge_partials([file_partial("urf", t, m)]).schema.types for t, m in files]
    plan = merge_partials([file_partial("urf", t, m) for t, m in files])
    kinds = defaultdict(set)
    for types in alone:
        for key, kind in types.items():
            kinds[key].add((kind.kind, kind.no_data is not None))
    differing = {k for k, v in kinds.items() if len(v) > 1}
    assert differing  # the test has teeth: some property is typed two ways by files alone
    whole = whole_layer_schema("urf", files)
    assert {k: plan.schema.types[k] for k in differing} == {k: whole.types[k] for k in differing}


def test_a_per_tile_table_joins_as_if_the_layer_were_whole(layers, tmp_path):
    files = layers["kawasaki", "urf"]
    ids = sorted(i for t, _ in files for i in pd.read_parquet(t, columns=["gml_id"])["gml_id"])
    rng = np.random.default_rng(1)
    # two "tiles" of a result: a float column, an int column with gaps only in the second
    halves = [ids[: len(ids) // 2], ids[len(ids) // 2 :]]
    extra = []
    for i, half in enumerate(halves):
        path = tmp_path / f"tile{i}.parquet"
        pd.DataFrame(
            {
                "gml_id": half,
                "shade_hours": rng.uniform(0, 3, len(half)),
                "rank": pd.array(
                    [None if (i and j % 5 == 0) else j for j in range(len(half))], dtype="Int64"
                ),
            }
        ).to_parquet(path)
        extra.append(str(path))
    plan = merge_partials([file_partial("urf", t, m, extra) for t, m in files])
    assert plan.extra_columns == ["shade_hours", "rank"]
    whole = whole_layer_schema("urf", files, extra)
    assert plan.schema.types == whole.types
    assert plan.schema.types["rank"].kind == "INT32" and plan.schema.types["rank"].no_data is not None
    joined = {}
    for table, _ in files:
        joined.update(file_rows(table, extra, plan))
    assert all(joined[i]["shade_hours"] is not None for i in ids)
