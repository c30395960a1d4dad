"""Every layer of every shared PLATEAU dataset, ingested and exported as the run does, then
checked: glTF-Validator 0 errors, one type per property across the layer and never STRING
for a property numeric in the GeoParquet, string views as long as their last offset, and
loaders.gl reads every feature id and every property value back as the GeoParquet has it."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from citygml import Dataset
from pipeline.ingest import ingest_file
from pipeline.tiles3d.layer import export_layer
from tiles.gltf import read_glb
from tiles.validate import content_paths

CRS = {
    "kawasaki": "EPSG:6677",
    "sendai": "EPSG:6678",
    "numazu": "EPSG:6676",
    "yokosuka": "EPSG:6677",
    "sapporo": "EPSG:6680",
    "misc": "EPSG:6677",
}


@pytest.fixture(scope="module")
def exported(plateau_dir: Path, tmp_path_factory) -> dict[tuple[str, str], dict]:
    """(dataset, layer) -> {"tileset", "tables", "meshes"} for every shared dataset."""
    out = tmp_path_factory.mktemp("layers")
    layers: dict[tuple[str, str], dict] = {}
    for name, crs in CRS.items():
        dataset = Dataset(plateau_dir / name)
        records = defaultdict(list)
        for source in dataset.sources():
            record = ingest_file(source, out / name / "ingest", crs).to_record()
            records[record["feature_type"]].append(record)
        for layer, found in sorted(records.items()):
            result = export_layer(
                layer,
                [r["outputs"]["table"] for r in found],
                [r["outputs"]["meshes"] for r in found],
                out / name / "3dtiles",
                dataset_path=dataset.path,
                crs=crs,
                max_features_per_tile=20,
            )
            assert result.tileset, f"{name}/{layer}: nothing exported ({result.problems})"
            layers[name, layer] = {
                "tileset": Path(result.tileset),
                "tables": [r["outputs"]["table"] for r in found],
                "meshes": [r["outputs"]["meshes"] for r in found],
            }
    return layers


def test_every_layer_of_every_shared_dataset_passes(exported, check_exported_layer):
    assert {layer for _, layer in exported} >= {"bldg", "dem", "veg", "tran", "frn", "urf", "luse"}
    problems = {key: check_exported_layer(**paths) for key, paths in exported.items()}
    assert {key: p for key, p in problems.items() if p} == {}


def _class_properties(tileset: Path) -> dict[str, dict[str, dict]]:
    """class name -> property name -> schema, merged over every content."""
    found: dict[str, dict[str, dict]] = defaultdict(dict)
    for path in content_paths(tileset):
        gltf, _ = read_glb(path.read_bytes())
        for cls in gltf["extensions"]["EXT_structural_metadata"]["schema"]["classes"].values():
            for prop in cls["properties"].values():
                found[cls["name"]][prop["name"]] = prop
    return found


def test_veg_classes_type_heights_as_numbers_and_plant_cover_declares_no_empty_ones(exported):
    """The sample run's bug: PlantCover typed height and crown_diameter as STRING because
    none of its features has them. Now both are FLOAT64 wherever declared, and a class
    without values declares nothing."""
    classes = _class_properties(exported["misc", "veg"]["tileset"])
    tree, cover = classes["veg:SolitaryVegetationObject"], classes["veg:PlantCover"]
    assert tree["height"]["componentType"] == "FLOAT64"
    assert "height" not in cover and "crown_diameter" not in cover
    assert cover["average_height"]["componentType"] == "FLOAT64"
    assert all(
        p["type"] != "STRING"
        for c in classes.values()
        for n, p in c.items()
        if n in ("height", "average_height", "crown_diameter", "height_m")
    )


def test_constant_units_are_in_the_description_not_a_column(exported):
    classes = _class_properties(exported["yokosuka", "bldg"]["tileset"])
    building = classes["bldg:Building"]
    assert building["measured_height"] == {
        **building["measured_height"],
        "type": "SCALAR",
        "componentType": "FLOAT64",
        "description": "unit: m",
    }
    assert "measured_height_uom" not in building
    green = _class_properties(exported["kawasaki", "urf"]["tileset"])["urf:ProductiveGreenZone"]
    assert green["nominal_area"]["description"] == "unit: ha" and "nominal_area_uom" not in green


def test_use_district_reads_back_with_its_label(exported, loadersgl):
    read = loadersgl(exported["kawasaki", "urf"]["tileset"])
    rows = {}
    for content in read["contents"]:
        for table in content["tables"]:
            if table["name"] == "urf:UseDistrict":
                for i, gml_id in enumerate(table["properties"]["gml_id"]):
                    rows[gml_id] = {k: v[i] for k, v in table["properties"].items()}
    district = rows["urf_68f7d98f-f800-4c92-bcf1-9ae8a7fa9b85"]
    assert (district["function"], district["function_code"]) == ("準工業地域", "11")
    assert (district["floor_area_rate"], district["building_coverage_rate"]) == (2.0, 0.6)
    assert json.dumps(sorted(rows)) and len(rows) == 4


def test_the_read_back_check_reports_a_wrong_value_and_a_lost_feature(exported, loadersgl):
    from pipeline.tiles3d.checks import check_layer_tileset

    paths = exported["numazu", "luse"]
    read = loadersgl(paths["tileset"])
    layer = (paths["tileset"], paths["tables"], paths["meshes"])
    assert check_layer_tileset(*layer, read_back=read) == []
    table = read["contents"][0]["tables"][0]
    table["properties"]["class"][0] = "田"
    lost = table["properties"]["gml_id"][1]
    table["properties"]["gml_id"][1] = "not_a_feature"
    problems = check_layer_tileset(*layer, read_back=read)
    assert any(" class read '田'" in p for p in problems)
    assert any("not_a_feature is not in the GeoParquet" in p for p in problems)
    assert any("1 feature(s) with geometry not read back" in p and lost in p for p in problems)
