"""3D Tiles export: sample district and real PLATEAU buildings, read back from the GLBs.

Placement is checked the way a client computes it (node translation, y-up to z-up,
tile transforms, ECEF -> lon/lat/h); heights must be orthometric + GSI geoid height.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pyproj import Transformer

from citygml import Dataset, FileReader
from pipeline.commands.export_tiles import export_dataset, export_tiles_command
from pipeline.core.task import PlanContext, Record, Result
from pipeline.geo.geoid import geoid_height
from pipeline.stages.export_tiles import (
    PROPERTIES,
    ExportTilesSettings,
    export_properties_task,
    export_schema_task,
    export_tiles_task,
    export_tileset_task,
)
from pipeline.stages.ingest import IngestOutputs
from pipeline.stages.shadow import ShadowOutputs
from pipeline.stages.surface import SurfaceOutputs
from pipeline.tiles3d.features import EllipsoidalProjector
from pipeline.tiles3d.layer_schema import file_rows, merge_partials
from pipeline.tiles3d.properties import property_rows
from pipeline.tiles3d.textures import TextureStore
from tiles import check_glb_metadata, check_tileset, count_features
from tiles.geodesy import Y_UP_TO_Z_UP
from tiles.gltf import read_accessor, read_glb
from tiles.validate import content_paths, iter_contents, property_tables

YOKOSUKA_BLDG = "yokosuka/udx/bldg/52397519_bldg_6697_op.gml"
ECEF_TO_LONLATH = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)


# -- reading tiles back -------------------------------------------------------------
def feature_vertices_lonlath(tileset_path: Path, leaves_only: bool = True) -> dict[str, np.ndarray]:
    """feature_id -> (N, 3) lon, lat, ellipsoidal h of its vertices, as a client places them."""
    found: dict[str, list[np.ndarray]] = {}
    for path, tile, world in iter_contents(tileset_path):
        if leaves_only and tile.get("children"):
            continue
        gltf, binary = read_glb(path.read_bytes())
        ids = property_tables(path)
        for node in gltf["nodes"]:
            if "mesh" not in node:
                continue
            local = np.eye(4)
            local[:3, 3] = node.get("translation", [0, 0, 0])
            matrix = world @ Y_UP_TO_Z_UP @ local
            for primitive in gltf["meshes"][node["mesh"]]["primitives"]:
                xyz = read_accessor(gltf, binary, primitive["attributes"]["POSITION"]).astype(np.float64)
                ecef = xyz @ matrix[:3, :3].T + matrix[:3, 3]
                feature = read_accessor(gltf, binary, primitive["attributes"]["_FEATURE_ID_0"]).astype(int)
                table = ids[primitive["extensions"]["EXT_mesh_features"]["featureIds"][0]["propertyTable"]]
                for fid in np.unique(feature):
                    found.setdefault(table["feature_id"][fid], []).append(ecef[feature == fid])
    out = {}
    for key, chunks in found.items():
        ecef = np.concatenate(chunks)
        lon, lat, h = ECEF_TO_LONLATH.transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
        out[key] = np.column_stack([lon, lat, h])
    return out


# -- fixtures -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def omiya(project_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("omiya_tiles")
    results = export_dataset(project_root / "sample_data" / "omiya", out, layers=["bldg", "dem"])
    return {r.layer: r for r in results}


@pytest.fixture(scope="module")
def textured_dataset(plateau_dir, tmp_path_factory) -> Path:
    """Yokosuka's buildings in a PLATEAU layout with two of their three texture images
    written as real JPEGs, and the third reference pointing outside the dataset."""
    from PIL import Image

    root = tmp_path_factory.mktemp("textured")
    dataset = root / "city"
    folder = dataset / "udx" / "bldg"
    (folder / "52397519_bldg_6697_appearance").mkdir(parents=True)
    text = (plateau_dir / YOKOSUKA_BLDG).read_text(encoding="utf-8")
    text = text.replace("52397519_bldg_6697_appearance/14201-bldg-158971-1.jpg", "../../../outside.jpg")
    (folder / "52397519_bldg_6697_op.gml").write_text(text, encoding="utf-8")
    for seed, name in enumerate(["14201-bldg-110968-1", "14201-bldg-156842-1"]):
        pixels = (np.random.default_rng(seed).random((32, 32, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / "52397519_bldg_6697_appearance" / f"{name}.jpg", quality=85)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "outside.jpg")
    return dataset


@pytest.fixture(scope="module")
def textured(textured_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("textured_tiles")
    (result,) = export_dataset(textured_dataset, out, layers=["bldg"])
    return result


# -- sample district ----------------------------------------------------------------
def test_sample_tilesets_pass_the_structural_checks(omiya):
    assert set(omiya) == {"bldg", "dem"}
    for result in omiya.values():
        assert check_tileset(result.tileset) == []
        assert result.problems == []
    assert count_features(omiya["bldg"].tileset) == 502  # each building once over the leaves
    assert omiya["bldg"].features == 502


def test_buildings_refine_from_lod1_stand_ins(omiya):
    replaced = [t for _, t, _ in iter_contents(omiya["bldg"].tileset) if t.get("refine") == "REPLACE"]
    assert replaced and all(t["content"]["uri"].endswith("_coarse.glb") for t in replaced)
    # every building once in a leaf and once as the stand-in above it
    assert count_features(omiya["bldg"].tileset, leaves_only=False) == 2 * 502


def test_every_sample_glb_passes_gltf_validator_and_metadata_checks(omiya, gltf_validator):
    paths = [p for r in omiya.values() for p in content_paths(r.tileset)]
    assert len(paths) >= 3
    for report in gltf_validator(paths):
        assert report["numErrors"] == 0, report["messages"]
    for path in paths:
        assert check_glb_metadata(path) == [], path


def test_building_properties_show_labels_and_keep_codes(omiya, project_root):
    from citygml.codelists import CodeListResolver

    rows = {}
    for path in content_paths(omiya["bldg"].tileset, leaves_only=True):
        for table in property_tables(path):
            for i, fid in enumerate(table["feature_id"]):
                rows[fid] = {k: v[i] for k, v in table.items()}
    assert len(rows) == 502
    checked = 0
    for source in Dataset(project_root / "sample_data" / "omiya").sources(types=["bldg"]):
        for obj in FileReader(source, codelists=CodeListResolver(), include_appearance=False):
            if "usage_label" not in obj.attributes:
                continue
            row = rows[obj.gml_id]
            assert row["gml_id"] == obj.gml_id
            assert row["usage"] == obj.attributes["usage_label"]
            assert row["usage_code"] == str(obj.attributes["usage"])
            checked += 1
    assert checked > 100
    assert "住宅" in {r["usage"] for r in rows.values()}
    assert {r["prefecture"] for r in rows.values()} == {"埼玉県"}
    assert not any(k.endswith("_label") or k == "attributes_json" for r in rows.values() for k in r)


def test_terrain_is_split_into_patches_and_keeps_every_triangle(project_root, tmp_path):
    """The DEM TIN becomes patches when larger than the limit; no triangle is lost."""
    from pipeline.tiles3d import features as tile_features

    out = tmp_path / "tiles"
    spec = tile_features.LAYER_SPECS["dem"]
    small = tile_features.LayerSpec(spec.fine_lods, colours=spec.colours, max_triangles_per_feature=300)
    tile_features.LAYER_SPECS["dem"] = small
    try:
        (result,) = export_dataset(project_root / "sample_data" / "omiya", out, layers=["dem"])
    finally:
        tile_features.LAYER_SPECS["dem"] = spec
    assert result.features > 2
    assert check_tileset(result.tileset) == []
    triangles = 0
    for path in content_paths(result.tileset):
        gltf, _ = read_glb(path.read_bytes())
        triangles += sum(
            gltf["accessors"][p["attributes"]["POSITION"]]["count"] // 3
            for m in gltf["meshes"]
            for p in m["primitives"]
        )
    assert triangles == 2048  # two files of 1,024 triangles each


# -- placement on real data ---------------------------------------------------------
def test_yokosuka_buildings_are_placed_with_geoid_heights(plateau_dir, tmp_path):
    (result,) = export_dataset(plateau_dir / YOKOSUKA_BLDG, tmp_path, layers=["bldg"])
    placed = feature_vertices_lonlath(Path(result.tileset))
    text = (plateau_dir / YOKOSUKA_BLDG).read_text(encoding="utf-8")
    lower, upper = (
        np.array(re.search(rf"<gml:{c}Corner>([^<]+)<", text).group(1).split(), dtype=float)
        for c in ("lower", "upper")
    )  # lat, lon, orthometric h
    source = Dataset.for_path(plateau_dir / YOKOSUKA_BLDG)
    originals = {
        obj.gml_id: obj for obj in FileReader(source[0].sources(only=source[1])[0], include_appearance=False)
    }
    assert set(placed) == set(originals) and len(placed) == 13
    for gml_id, lonlath in placed.items():
        lon, lat, h = lonlath.T
        assert (lon >= lower[1] - 1e-7).all() and (lon <= upper[1] + 1e-7).all(), gml_id
        assert (lat >= lower[0] - 1e-7).all() and (lat <= upper[0] + 1e-7).all(), gml_id
        orthometric = h - geoid_height(lon, lat)
        obj = originals[gml_id]
        lod = 2 if 2 in obj.lods else 1  # LOD2 where the building has it (2 of 13 here)
        original = np.concatenate([p.exterior for p in obj.polygons(lod)])
        # the same heights as in the CityGML, within float32 and transform round-off
        assert orthometric.min() == pytest.approx(original[:, 2].min(), abs=0.03), gml_id
        assert orthometric.max() == pytest.approx(original[:, 2].max(), abs=0.03), gml_id
        assert lon.min() == pytest.approx(original[:, 0].min(), abs=2e-7)  # records: lon, lat, H
        assert lon.max() == pytest.approx(original[:, 0].max(), abs=2e-7)
        assert lat.min() == pytest.approx(original[:, 1].min(), abs=2e-7)
        assert lat.max() == pytest.approx(original[:, 1].max(), abs=2e-7)
        # about 37 m of geoid at Yokosuka: a missing geoid would be off by that much
        assert 35 < float(np.mean(h - orthometric)) < 40


def test_projector_adds_the_geoid_to_orthometric_heights():
    # a point given in the plane zone IX, 10 m above Tokyo Bay mean sea level
    to_plane = Transformer.from_crs("EPSG:6668", "EPSG:6677", always_xy=True)
    x, y = to_plane.transform(139.7671, 35.6812)
    lonlath = EllipsoidalProjector("EPSG:6677")(np.array([[x, y, 10.0]]))
    assert lonlath[0, 0] == pytest.approx(139.7671, abs=1e-9)
    assert lonlath[0, 1] == pytest.approx(35.6812, abs=1e-9)
    assert lonlath[0, 2] == pytest.approx(10.0 + 36.66, abs=0.05)
    higher = EllipsoidalProjector("EPSG:6677", "jpgeo2024")(np.array([[x, y, 10.0]]))
    assert higher[0, 2] > lonlath[0, 2]


# -- textures -----------------------------------------------------------------------
def test_textured_buildings_carry_their_images(textured, textured_dataset, gltf_validator):
    images = []
    paths = content_paths(textured.tileset)
    for path in paths:
        gltf, binary = read_glb(path.read_bytes())
        for image in gltf.get("images", []):
            view = gltf["bufferViews"][image["bufferView"]]
            images.append(
                (
                    image["mimeType"],
                    binary[view.get("byteOffset", 0) : view.get("byteOffset", 0) + view["byteLength"]],
                )
            )
        assert all(
            "TEXCOORD_0" in p["attributes"]
            for m in gltf["meshes"]
            for p in m["primitives"]
            if "baseColorTexture" in gltf["materials"][p["material"]].get("pbrMetallicRoughness", {})
        )
    written = {p.read_bytes() for p in (textured_dataset / "udx" / "bldg").rglob("*.jpg")}
    assert {mime for mime, _ in images} == {"image/jpeg"}
    assert {data for _, data in images} == written  # both images, nothing else
    outside = (textured_dataset.parent / "outside.jpg").read_bytes()
    assert outside not in {data for _, data in images}
    assert any("escapes the dataset" in p for p in textured.problems)
    for report in gltf_validator(paths):
        assert report["numErrors"] == 0, report["messages"]


def test_texture_store_refuses_paths_leaving_the_dataset(tmp_path):
    from PIL import Image

    dataset = tmp_path / "city"
    images = dataset / "udx" / "bldg" / "img"
    images.mkdir(parents=True)
    Image.fromarray(np.full((4, 4, 3), 200, np.uint8)).save(images / "inside.png")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "secret.png")
    (images / "link.png").symlink_to(tmp_path / "secret.png")
    (images / "notes.png").write_bytes(b"not an image")
    store = TextureStore([dataset])
    inside = store.get("udx/bldg/img/inside.png")
    assert inside is not None and inside.mime_type == "image/png"
    assert inside.data == (images / "inside.png").read_bytes()
    assert store.get("udx/bldg/img/../../../../secret.png") is None
    assert store.get("/etc/passwd") is None
    assert store.get("udx/bldg/img/link.png") is None
    assert store.get("udx/bldg/img/notes.png") is None
    assert store.get("udx/bldg/img/absent.jpg") is None
    assert len(store.problems) == 5
    assert (
        sum(
            "escapes the dataset" in p or "absolute" in p or "outside the dataset" in p
            for p in store.problems
        )
        == 3
    )


def test_extra_tables_join_on_gml_id_without_overwriting(tmp_path):
    source = tmp_path / "53396489_bldg.parquet"
    pd.DataFrame(
        {
            "gml_id": ["a", "b", "c"],
            "usage": ["411", "999", "411"],
            "usage_label": ["住宅", None, "住宅"],
            "height_m": [5.0, np.nan, 7.0],
        }
    ).to_parquet(source)
    rows = property_rows(pd.read_parquet(source))
    assert rows["a"] == {"gml_id": "a", "usage": "住宅", "usage_code": "411", "height_m": 5.0}
    assert rows["b"]["usage"] == "999" and rows["b"]["height_m"] is None  # no label: the code
    # two tiles' shade tables with the same column (c in both: the later table wins), one
    # column named like a source property (the source wins), an id of no feature (ignored)
    west, east = tmp_path / "west.parquet", tmp_path / "east.parquet"
    pd.DataFrame(
        {
            "gml_id": ["b", "c", "z"],
            "roof_shade_hours_winter": [3.5, 1.0, 9.0],
            "height_m": [99.0, 99.0, 99.0],
        }
    ).to_parquet(west)
    pd.DataFrame({"gml_id": ["a", "c"], "roof_shade_hours_winter": [0.5, 2.0]}).to_parquet(east)
    from pipeline.tiles3d.layer import file_partial

    extra = [str(west), str(east)]
    features = tmp_path / "53396489_bldg_mesh.parquet"
    pd.DataFrame(
        {"feature_id": ["a", "b", "c"], "feature_type": ["bldg:Building"] * 3, "lod": [1, 1, 1]}
    ).to_parquet(features)
    plan = merge_partials([file_partial("bldg", source, features, extra)])
    assert plan.extra_columns == ["roof_shade_hours_winter"]
    joined = file_rows(source, extra, plan)
    assert [joined[k]["roof_shade_hours_winter"] for k in "abc"] == [0.5, 3.5, 2.0]
    assert joined["b"]["height_m"] is None and "z" not in joined
    assert plan.schema.types["roof_shade_hours_winter"].kind == "FLOAT64"
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"id": ["a"]}).to_parquet(bad)
    with pytest.raises(ValueError, match="gml_id"):
        file_partial("bldg", source, features, [str(bad)])


def _record(result: Result, stage: str, tile: str, key: str) -> Record:
    made = Record.from_result(result, stage=stage, tile=tile, seconds=0.0)
    made.key = key
    return made


def test_stages_join_tables_handed_in_by_other_stages_on_a_dask_worker(tmp_path):
    """The four export tasks as the runner calls them, on a Dask worker: partials of two
    files, the merged plan, one part each, the root."""
    from distributed import Client

    from pipeline.stages.ingest import ingest_task

    sources = Dataset(Path(__file__).resolve().parents[3] / "sample_data" / "omiya").sources(types=["bldg"])[
        :2
    ]
    ingested = [ingest_task(s, str(tmp_path / "ingest"), "EPSG:6677") for s in sources]
    ids = [i for r in ingested for i in gpd.read_parquet(r.outputs.table)["gml_id"]]
    table = tmp_path / "walk.parquet"
    pd.DataFrame({"gml_id": ids, "walkability_score": np.linspace(0, 1, len(ids))}).to_parquet(table)
    options = {
        "dataset_path": [],
        "crs": None,
        "geoid_model": "gsigeo2011",
        "max_features_per_tile": 500,
        "textures": True,
    }
    out = tmp_path / "3dtiles"
    with Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as client:
        partials = [
            client.submit(
                export_properties_task,
                "bldg",
                r.outputs.table,
                r.outputs.meshes,
                str(tmp_path / f"p{i}.json"),
                extra_tables=[str(table)],
                pure=False,
            ).result()
            for i, r in enumerate(ingested)
        ]
        schema = client.submit(
            export_schema_task,
            "bldg",
            str(tmp_path / "plan.json"),
            [p.outputs.partial for p in partials],
            pure=False,
        ).result()
        parts = [
            client.submit(
                export_tiles_task,
                "bldg",
                r.outputs.table,
                r.outputs.meshes,
                str(out),
                schema.outputs.plan,
                extra_tables=[str(table)],
                options=options,
                pure=False,
            ).result()
            for r in ingested
        ]
    assert schema.details["extra_columns"] == ["walkability_score"]
    parts_records = [_record(p, "export_tiles", str(i), f"e{i}") for i, p in enumerate(parts)]
    root = export_tileset_task("bldg", str(out), [p.outputs.tileset for p in parts], parts=parts_records)
    assert root.outputs.tileset == str(out / "bldg" / "tileset.json") and root.problems == []
    assert root.counts["features"] == len(ids) == count_features(root.outputs.tileset)
    assert root.counts["parts"] == 2 and root.feature_type == "bldg"
    scores = {
        fid: s
        for path in content_paths(root.outputs.tileset)
        for t in property_tables(path)
        for fid, s in zip(t["feature_id"], t["walkability_score"])
    }
    assert scores[ids[-1]] == pytest.approx(1.0) and scores[ids[0]] == pytest.approx(0.0)


def test_planner_makes_one_task_per_ingested_file(project_root, tmp_path):
    from pipeline.core.manifest import Manifest
    from pipeline.stages import load_run_definition

    definition = load_run_definition(
        project_root / "dags" / "sample.yaml",
        {"stages.export_tiles.layers": ["bldg", "dem", "frn"], "output": str(tmp_path / "out")},
    )

    def ingest(layer, mesh):
        return Result(
            feature_type=layer,
            outputs=IngestOutputs(table=f"{mesh}_{layer}.parquet", meshes=f"{mesh}_{layer}_mesh.parquet"),
        )

    records = {
        "i1": _record(ingest("bldg", "53396489"), "ingest", "a", "i1"),
        "i3": _record(ingest("dem", "533964"), "ingest", "b", "i3"),
        "i4": _record(ingest("veg", "53396489"), "ingest", "c", "i4"),
        "s1": _record(
            Result(feature_type="bldg", outputs=ShadowOutputs(feature_table="roof.parquet")),
            "shadow",
            "t",
            "s1",
        ),
        "s2": _record(
            Result(outputs=SurfaceOutputs(dsm="x.tif", terrain="", canopy="", building_id="", buildings="")),
            "surface",
            "u",
            "s2",
        ),
    }
    records["i2"] = _record(ingest("bldg", "53396499"), "ingest", "d", "i2")
    records["i2"].status = "failed"
    ctx = PlanContext(
        definition=definition,
        crs="EPSG:6677",
        tiles=[],
        sources=[],
        manifest=Manifest.open(tmp_path),
        output=tmp_path / "out",
    )
    tasks = PROPERTIES.plan(ctx, records)
    assert [(t.stage, t.tile) for t in tasks] == [
        ("export_properties", "bldg_53396489"),
        ("export_properties", "dem_533964"),
    ]
    assert tasks[0].upstream == {"ingest": ["i1"], "handing": ["s1"]}
    assert tasks[1].upstream == {"ingest": ["i3"], "handing": []}
    assert tasks[0].kwargs["extra_tables"] == ["roof.parquet"]
    assert tasks[0].args[3] == str(tmp_path / "out" / "export" / "bldg" / "bldg_53396489_partial.json")


def test_stage_settings_forbid_unknown_keys():
    from pydantic import ValidationError

    assert ExportTilesSettings().layers == ["bldg", "dem", "veg", "tran", "frn"]
    with pytest.raises(ValidationError):
        ExportTilesSettings(geoid="egm96")
    with pytest.raises(ValidationError):
        ExportTilesSettings(geoid_model="egm96")
    # the trees found in the LiDAR are a layer too; other names with an underscore are not
    assert ExportTilesSettings(layers=["veg", "veg_lidar"]).layers == ["veg", "veg_lidar"]
    with pytest.raises(ValidationError, match="veg_lidar"):
        ExportTilesSettings(layers=["bldg_x"])


def test_command_exports_a_single_gml_file(plateau_dir, tmp_path):
    done = CliRunner().invoke(
        export_tiles_command,
        [
            str(plateau_dir / YOKOSUKA_BLDG),
            "--out",
            str(tmp_path),
            "--layers",
            "bldg,dem",
            "--geoid",
            "jpgeo2024",
        ],
    )
    assert done.exit_code == 0, done.output
    assert "bldg" in done.output and (tmp_path / "bldg" / "tileset.json").is_file()
    assert not (tmp_path / "dem").exists()  # a single bldg file: no terrain
    assert not list(tmp_path.glob(".ingest-*"))  # the scratch ingest is gone
    missing = CliRunner().invoke(export_tiles_command, [str(tmp_path / "bldg"), "--out", str(tmp_path / "x")])
    assert missing.exit_code != 0 and "no CityGML files" in missing.output


def test_real_furniture_vegetation_and_roads_get_their_own_valid_tilesets(
    plateau_dir, tmp_path, gltf_validator
):
    """The misc PLATEAU files: 44 textured furniture pieces (images absent), 28 trees and
    plant covers with X3D materials, 9 roads in the old uro 1.4 namespace."""
    results = {
        r.layer: r for r in export_dataset(plateau_dir / "misc", tmp_path, layers=["frn", "veg", "tran"])
    }
    expected = {"frn": 44, "veg": 28, "tran": 9}
    assert {layer: r.features for layer, r in results.items()} == expected
    for layer, result in results.items():
        assert Path(result.tileset).parent.name == layer
        assert check_tileset(result.tileset) == []
        assert count_features(result.tileset) == expected[layer]
    paths = [p for r in results.values() for p in content_paths(r.tileset)]
    for report in gltf_validator(paths):
        assert report["numErrors"] == 0, report["messages"]
    # Missing furniture images fall back to a material colour, with a warning each.
    assert sum("missing" in p for p in results["frn"].problems) == 26


@pytest.mark.parametrize(
    "gml, layer, features",
    [
        ("kawasaki/udx/urf/533915_urf_6668_yoto_op.gml", "urf", 4),
        ("numazu/udx/luse/523836_luse_6668_op.gml", "luse", 225),
    ],
)
def test_command_exports_planning_and_land_use_files_as_flat_polygons_facing_up(
    plateau_dir, tmp_path, gml, layer, features
):
    done = CliRunner().invoke(export_tiles_command, [str(plateau_dir / gml), "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert done.output.split()[:2] == [layer, str(features)]
    tileset = tmp_path / layer / "tileset.json"
    assert count_features(tileset) == features
    for path in content_paths(tileset):
        gltf, binary = read_glb(path.read_bytes())
        for primitive in gltf["meshes"][0]["primitives"]:
            normals = read_accessor(gltf, binary, primitive["attributes"]["NORMAL"])
            # y-up in glTF: every triangle faces the sky (slivers of a few cm² tilt with the geoid)
            assert normals[:, 1].min() > 0 and np.median(normals[:, 1]) > 0.9999
