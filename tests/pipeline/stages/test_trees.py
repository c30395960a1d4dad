"""The ``trees`` stages: the sample's LiDAR to PLATEAU veg read back, change rows per tile
that add up to the city's, and a change table whatever order the tiles finished in."""

from __future__ import annotations

import random
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from citygml import open_dataset, read_features
from pipeline.core.task import Record
from pipeline.ingest import ingest_file
from pipeline.stages.ingest import IngestOutputs
from pipeline.stages.trees import (
    TreeChangesOutputs,
    TreesSettings,
    changes_table_task,
    changes_tile,
    plan_changes_table,
    trees_tile,
)
from pipeline.trees.changes import detect_changes, mesh_changes
from pipeline.trees.existing import existing_trees_from_tables, read_existing_trees
from pipeline.trees.gml import tree_meshes
from pipeline.trees.matching import detection_accuracy

CRS = "EPSG:6677"
TILE = "53396489"


def _ingested(project_root, folder, kind: str) -> list[Record]:
    records = []
    for source in open_dataset(project_root / "sample_data/omiya", types=[kind]):
        result = ingest_file(source, folder, CRS)
        records.append(
            Record(
                outputs=IngestOutputs(table=result.table, meshes=result.meshes),
                stage="ingest",
                tile=source.file_name,
                feature_type=kind,
                mesh_code=source.mesh_code,
                key=f"ingest-{source.file_name}",
            )
        )
    return records


@pytest.fixture(scope="module")
def sample_run(project_root, tmp_path_factory):
    """The trees task of tile 53396489 on the sample's LAZ, with the sample's footprints."""
    folder = tmp_path_factory.mktemp("trees")
    bldg = _ingested(project_root, folder / "ingest", "bldg")
    veg = _ingested(project_root, folder / "ingest", "veg")
    laz = str(project_root / "sample_data/omiya/lidar/omiya_sample.laz")
    result = trees_tile(
        [laz],
        TILE,
        CRS,
        str(folder / "trees"),
        settings=TreesSettings(enabled=True),
        source_crs=None,
        ingest=bldg,
    )
    return folder, result, veg


def test_the_stage_writes_veg_that_the_reader_reads_back_with_every_attribute(sample_run, project_root):
    folder, result, _ = sample_run
    gml = folder / "trees/udx/veg" / f"{TILE}_veg_6697_op.gml"
    assert result.outputs.veg == str(gml)
    assert (folder / "trees/codelists/SolitaryVegetationObject_class.xml").is_file()
    features = list(read_features(str(gml)))
    trees = gpd.read_parquet(result.outputs.trees)
    assert len(features) == len(trees) == result.counts["trees"] > 80
    assert set(tree_meshes(trees, CRS)) == {TILE}  # the tile keeps its own trees
    by_id = {f.gml_id: f for f in features}
    assert len(by_id) == len(features)
    for feature in features:
        a = feature.attributes
        assert feature.feature_type == "veg:SolitaryVegetationObject"
        assert a["height"] >= 3.0 and a["height_uom"] == "m"
        assert 1.0 < a["crownDiameter"] < 12.0 and a["crownDiameter_uom"] == "m"
        assert (a["class"], a["class_label"]) == ("1", "高木（樹高3m以上）")
        assert 0.0 <= a["gen:crownBaseHeight"] <= a["height"]  # equal: a crown of one return
        [quality] = a["uro:vegDataQualityAttribute"]
        assert "omiya_sample.laz" in quality["dataAcquisition"]
        assert feature.lods == [1, 2]
    heights = sorted(f.attributes["height"] for f in features)
    assert heights == pytest.approx(sorted(trees.height_m.round(2)), abs=0.006)
    # and they are the sample's known trees of the tile (its veg layer)
    known = read_existing_trees(project_root / f"sample_data/omiya/udx/veg/{TILE}_veg_6697_op.gml", CRS)
    known = known[known.tree_id.str.startswith("veg_tree")]
    accuracy = detection_accuracy(trees, known)
    assert accuracy.f_score >= 0.9 and accuracy.height_rmse_m <= 1.0, accuracy


def test_the_change_rows_of_a_tile_against_the_sample_veg(sample_run):
    folder, result, veg = sample_run
    trees = Record(outputs=result.outputs, stage="trees", tile=TILE, key="trees-x")
    changes = changes_tile(TILE, CRS, str(folder / "trees"), trees=[trees], ingest=veg)
    table = gpd.read_parquet(changes.outputs.changes)
    assert changes.counts == {
        s: int((table.status == s).sum()) for s in ("matched", "height_changed", "new", "gone")
    }
    # every detected tree of the tile is in the table once; the tile's known trees too
    assert sorted(table.detected_id.dropna()) == sorted(gpd.read_parquet(result.outputs.trees).tree_id)
    assert changes.counts["matched"] + changes.counts["height_changed"] >= 0.9 * result.counts["trees"]
    assert set(tree_meshes(table, CRS)) == {TILE}


def test_existing_trees_from_ingested_tables_are_those_of_the_gml(sample_run, project_root):
    _, _, veg = sample_run
    tables = [r.outputs.table for r in veg if r.mesh_code == TILE]
    from_tables = existing_trees_from_tables(tables, CRS)
    from_gml = read_existing_trees(project_root / f"sample_data/omiya/udx/veg/{TILE}_veg_6697_op.gml", CRS)
    from_gml = from_gml.sort_values("tree_id").reset_index(drop=True)
    assert list(from_tables.tree_id) == list(from_gml.tree_id)
    assert len(from_tables) > 80
    assert np.hypot(from_tables.x - from_gml.x, from_tables.y - from_gml.y).max() < 0.3
    np.testing.assert_allclose(from_tables.height_m, from_gml.height_m, atol=0.01)


# -- per-tile rows add up to the city's ----------------------------------------------------
def _corner_trees():
    """Trees around the north-east corner of mesh 53396489, where four meshes meet: pairs
    across mesh edges, new and gone trees."""
    from pyproj import Transformer

    from pipeline.geo import meshcode

    _, _, lat1, lon1 = meshcode.decode_bounds(53396489)  # its north-east corner
    x0, y0 = Transformer.from_crs("EPSG:6668", CRS, always_xy=True).transform(float(lon1), float(lat1))
    rng = np.random.default_rng(3)
    ex = np.column_stack([x0 + rng.uniform(-40, 40, 60), y0 + rng.uniform(-40, 40, 60)])
    moved = ex[:45] + rng.normal(0, 0.7, (45, 2))  # found again, about 1 m off
    added = np.column_stack([x0 + rng.uniform(-40, 40, 8), y0 + rng.uniform(-40, 40, 8)])
    straddling_e = np.array([[x0 - 0.4, y0 + 10.0], [x0 + 10.0, y0 - 0.3]])
    straddling_d = straddling_e + np.array([[0.9, 0.0], [0.0, 0.8]])  # across the mesh edge
    ex = np.vstack([ex, straddling_e])
    de = np.vstack([moved, added, straddling_d])
    existing = pd.DataFrame(
        {
            "tree_id": [f"e{i:03d}" for i in range(len(ex))],
            "x": ex[:, 0],
            "y": ex[:, 1],
            "height_m": rng.uniform(4, 15, len(ex)),
        }
    )
    detected = pd.DataFrame(
        {
            "tree_id": [f"d{i:03d}" for i in range(len(de))],
            "x": de[:, 0],
            "y": de[:, 1],
            "height_m": rng.uniform(4, 15, len(de)),
            "crown_diameter_m": 4.0,
        }
    )
    return existing, detected


def test_the_rows_each_tile_owns_are_the_rows_of_the_whole_city_once():
    existing, detected = _corner_trees()
    city = detect_changes(existing, detected, CRS)
    meshes = sorted(set(tree_meshes(existing, CRS)) | set(tree_meshes(detected, CRS)))
    assert len(meshes) == 4
    parts = [mesh_changes(existing, detected, CRS, mesh) for mesh in meshes]
    assert all(len(p) for p in parts)
    together = pd.concat(parts, ignore_index=True)
    columns = ["status", "existing_id", "detected_id"]
    key = lambda t: sorted(map(tuple, t[columns].astype(str).to_numpy()))  # noqa: E731
    assert key(together) == key(city)
    assert len(together) == len(city)
    straddling = together[together.existing_id.isin(["e060", "e061"])]
    assert set(straddling.status) <= {"matched", "height_changed"}  # not new + gone


def test_the_change_table_is_the_same_bytes_whatever_order_tiles_finished_in(tmp_path):
    existing, detected = _corner_trees()
    meshes = sorted(set(tree_meshes(detected, CRS)))
    records = []
    for mesh in meshes:
        path = tmp_path / "parts" / f"{mesh}_changes.parquet"
        path.parent.mkdir(exist_ok=True)
        mesh_changes(existing, detected, CRS, mesh).to_parquet(path, index=False)
        records.append(
            Record(
                outputs=TreeChangesOutputs(changes=str(path)),
                stage="trees_changes",
                tile=mesh,
                key=f"trees_changes-{mesh}",
            )
        )
    tables = []
    for seed in (0, 1):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        ctx = type(
            "Ctx",
            (),
            {
                "out": lambda self, *p, seed=seed: tmp_path.joinpath(f"run{seed}", *p),
                "settings": lambda self, section: SimpleNamespace(report_lang="ja"),
            },
        )()
        [task] = plan_changes_table(ctx, {r.key: r for r in shuffled})
        assert task.kwargs == {"lang": "ja"} and task.params["lang"] == "ja"
        out = changes_table_task(*task.args, **task.kwargs, trees_changes=shuffled)
        tables.append(
            [open(p, "rb").read() for p in (out.outputs.changes, out.outputs.map, out.outputs.counts)]
        )
    assert tables[0] == tables[1]  # the table, its map and its counts
    table = gpd.read_parquet(tmp_path / "run0/trees/changes.parquet")
    assert list(tree_meshes(table, CRS)) == sorted(tree_meshes(table, CRS))  # tile by tile


def test_the_change_table_task_writes_the_counts_and_the_map_over_the_lidar_canopy(tmp_path):
    from PIL import Image

    from pipeline.geo.raster import Grid, write_cog
    from pipeline.stages.lidar import LidarOutputs
    from pipeline.trees.changes import change_counts

    existing, detected = _corner_trees()
    path = tmp_path / "parts" / "all_changes.parquet"
    path.parent.mkdir()
    detect_changes(existing, detected, CRS).to_parquet(path, index=False)
    x0, y0, x1, y1 = gpd.read_parquet(path).total_bounds
    grid = Grid.from_bounds(x0 - 50, y0 - 50, x1 + 50, y1 + 50, 0.5, CRS)
    chm = write_cog(tmp_path / "chm.tif", np.full(grid.shape, 8.0, np.float32), grid)
    lidar = [Record(outputs=LidarOutputs(chm=str(chm)), stage="lidar", tile=TILE, key="lidar-x")]
    part = Record(outputs=TreeChangesOutputs(changes=str(path)), stage="trees_changes", tile=TILE, key="c")
    out = changes_table_task(str(tmp_path / "trees"), [str(path)], trees_changes=[part], lidar=lidar)
    counts = pd.read_csv(out.outputs.counts)
    expected = change_counts(gpd.read_parquet(out.outputs.changes))
    assert dict(zip(counts.status, counts.trees)) == expected
    assert min(expected.values()) > 0  # every status is in the built case
    assert list(counts.label_ja) == ["一致", "樹高が変化", "新規", "消失"]
    with Image.open(out.outputs.map) as image:
        assert image.format == "PNG" and image.width > 400
        assert (
            image.text["Title"] == "樹木の変化(既存の植栽 veg との比較)"
        )  # the report's language, ja by default
    english = changes_table_task(str(tmp_path / "en"), [str(path)], trees_changes=[part], lang="en")
    with Image.open(english.outputs.map) as image:
        assert image.text["Title"] == "Trees: changes against the existing veg layer"
    # without a canopy raster the trees are drawn alone; without trees nor canopy, no map
    alone = changes_table_task(str(tmp_path / "alone"), [str(path)], trees_changes=[part])
    assert alone.outputs.map and (tmp_path / "alone/changes.png").exists()
    empty = tmp_path / "parts" / "none.parquet"
    gpd.read_parquet(path).iloc[:0].to_parquet(empty, index=False)
    none = changes_table_task(str(tmp_path / "none"), [str(empty)])
    assert none.outputs.map is None and pd.read_csv(none.outputs.counts).trees.sum() == 0


def test_the_trees_found_export_as_the_veg_lidar_3d_tiles_layer(
    sample_run, project_root, tmp_path, gltf_validator
):
    """The run's four export stages, planned from the trees record: a valid layer with
    every tree of the tile, its glTF 0 errors (the glTF validator; the official 3D Tiles
    validator is not installable here)."""
    from pipeline.core.manifest import Manifest
    from pipeline.core.task import PlanContext
    from pipeline.stages import export_tiles, load_run_definition
    from tiles.validate import check_glb_metadata, check_tileset, content_paths, count_features

    _, result, _ = sample_run
    assert result.outputs.table and result.outputs.meshes  # the GML, ingested
    trees = Record.from_result(result, stage="trees", tile=TILE, seconds=0.0)
    trees.key = f"trees-{TILE}"
    definition = load_run_definition(
        project_root / "dags/sample.yaml", {"stages.export_tiles.layers": ["veg_lidar"]}
    )
    ctx = PlanContext(
        definition=definition,
        crs=CRS,
        tiles=[TILE],
        sources=[],
        manifest=Manifest.open(tmp_path),
        output=tmp_path,
    )
    records = {trees.key: trees}
    for stage in (export_tiles.PROPERTIES, export_tiles.SCHEMA, export_tiles.STAGE, export_tiles.TILESET):
        tasks = stage.plan(ctx, records)
        assert len(tasks) == 1, stage.name
        for task in tasks:
            made = Record.from_result(
                task.func(*task.args, **task.kwargs), stage=stage.name, tile=task.tile, seconds=0.0
            )
            made.key = f"{stage.name}-{task.tile}"
            assert made.problems == []
            records[made.key] = made
    tileset = tmp_path / "3dtiles/veg_lidar/tileset.json"
    assert check_tileset(tileset) == []
    assert count_features(tileset) == result.counts["trees"]
    glbs = [p for p in content_paths(tileset) if p.suffix == ".glb"]
    assert glbs and all(check_glb_metadata(p) == [] for p in glbs)
    reports = gltf_validator(glbs)
    assert [r["numErrors"] for r in reports] == [0] * len(glbs)
