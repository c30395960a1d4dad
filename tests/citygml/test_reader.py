"""The reader on the real PLATEAU files in ../shared/data/plateau."""

from __future__ import annotations

import shutil
import zipfile
from collections import Counter

import numpy as np
import pytest
import trimesh
from pyproj import Transformer

from citygml import FileReader, ReadReport, open_dataset, read_features, triangulate_polygon

YOKOSUKA_BLDG = "yokosuka/udx/bldg/52397519_bldg_6697_op.gml"
YOKOSUKA_DEM = "yokosuka/udx/dem/523965_dem_6697_05_op.gml"
SAPPORO_BLDG = "sapporo/udx/bldg/64413325_bldg_6697_op.gml"
VEG = "misc/udx/veg/52385628_veg_6697_op.gml"
TRAN = "misc/udx/tran/533925_tran_6697_op.gml"
FRN = "misc/udx/frn/52384698_frn_6697_op.gml"

to_metric = Transformer.from_crs("EPSG:6668", "EPSG:6677", always_xy=True)


def read(plateau_dir, relative):
    source = open_dataset(plateau_dir / relative)[0]
    reader = FileReader(source)
    return reader.read_all(), reader


@pytest.mark.parametrize(
    "relative, expected",
    [
        (YOKOSUKA_BLDG, {"bldg:Building": 13}),
        (YOKOSUKA_DEM, {"dem:ReliefFeature": 2}),
        (SAPPORO_BLDG, {"bldg:Building": 25}),
        (VEG, {"veg:SolitaryVegetationObject": 19, "veg:PlantCover": 9}),
        (TRAN, {"tran:Road": 9}),
        (FRN, {"frn:CityFurniture": 44}),
    ],
)
def test_feature_counts_match_the_data_readme(plateau_dir, relative, expected):
    objects, _ = read(plateau_dir, relative)
    assert Counter(o.feature_type for o in objects) == expected


def test_yokosuka_building_parts_and_lods(plateau_dir):
    objects, _ = read(plateau_dir, YOKOSUKA_BLDG)
    with_parts = [o for o in objects if o.parts]
    # The file holds two bldg:BuildingPart elements (both under the art museum).
    assert sum(len(o.parts) for o in objects) == 2
    assert all(p.feature_type == "bldg:BuildingPart" for o in with_parts for p in o.parts)
    assert all(p.parent_id == o.gml_id for o in with_parts for p in o.parts)
    assert sum(1 for o in objects if 2 in o.lods) == 2  # three LOD2 solids, two buildings
    assert all(1 in o.lods for o in objects)


def _shell(polygons):
    vertices, faces = [], []
    offset = 0
    for polygon in polygons:
        rings = []
        for ring in polygon.rings:
            x, y = to_metric.transform(ring[:, 0], ring[:, 1])
            rings.append(np.column_stack([x, y, ring[:, 2]]))
        v, t = triangulate_polygon(rings)
        vertices.append(v)
        faces.append(t + offset)
        offset += len(v)
    mesh = trimesh.Trimesh(np.concatenate(vertices), np.concatenate(faces), process=False)
    mesh.merge_vertices(digits_vertex=4)
    return mesh


def test_every_lod2_solid_resolves_its_xlinks_into_a_closed_shell(plateau_dir):
    objects, reader = read(plateau_dir, YOKOSUKA_BLDG)
    solids = [
        g
        for o in objects
        for part in [o, *o.parts]
        for g in part.geometries
        if g.property_name == "lod2Solid"
    ]
    assert len(solids) == 3
    for solid in solids:
        assert solid.unresolved == 0
        assert len(solid.polygons) >= 6
        # The referenced polygons are the typed boundary surfaces.
        assert {p.surface_type for p in solid.polygons} >= {"RoofSurface", "WallSurface", "GroundSurface"}
        mesh = _shell(solid.polygons)
        assert mesh.is_watertight, f"LOD2 solid {solid.gml_id} is not closed"
    assert not [p for p in reader.problems if "xlink" in p.message]


def test_lod1_heights_agree_with_measured_height(plateau_dir):
    objects, _ = read(plateau_dir, YOKOSUKA_BLDG)
    checked = 0
    for obj in objects:
        for item in [obj, *obj.parts]:
            measured = item.attributes.get("measuredHeight")
            z = np.concatenate([p.exterior[:, 2] for p in item.polygons(1, include_parts=False)] or [[]])
            if measured is None or not len(z):
                continue
            assert z.max() - z.min() == pytest.approx(measured, abs=0.15), item.gml_id
            checked += 1
    assert checked >= 13


@pytest.mark.parametrize("relative", [YOKOSUKA_BLDG, YOKOSUKA_DEM, SAPPORO_BLDG, VEG, TRAN, FRN])
def test_coordinates_fall_inside_the_file_envelope(plateau_dir, relative):
    objects, reader = read(plateau_dir, relative)
    lower, upper = reader.summary.envelope
    vertices = np.concatenate([o.all_vertices() for o in objects])
    tolerance = np.array([1e-7, 1e-7, 1e-3])
    assert (vertices >= lower - tolerance).all() and (vertices <= upper + tolerance).all()
    # Axis order is swapped once: x is longitude (~139-141), y latitude (~35-43).
    assert 120 < vertices[:, 0].min() and vertices[:, 1].max() < 50


def test_old_uro_1_4_namespace_is_read(plateau_dir):
    objects, reader = read(plateau_dir, TRAN)
    assert reader.summary.uro_version == "1.4"
    assert all(o.polygons(1) for o in objects)
    assert objects[0].attributes["gen:filename"] == "533925_tran_6697"


def test_sapporo_buildings_without_measured_height_get_a_height(plateau_dir, tmp_path):
    import geopandas as gpd

    from pipeline.ingest import ingest_file

    source = open_dataset(plateau_dir / SAPPORO_BLDG)[0]
    result = ingest_file(source, tmp_path, "EPSG:6680")
    table = gpd.read_parquet(result.table)
    missing = table[table["measured_height"].isna()]
    assert len(missing) == 3
    assert (missing["height_m"] > 0).all()
    assert set(missing["height_source"]) == {"lod1"}


def test_attributes_uro_groups_and_disaster_risks(plateau_dir):
    objects, _ = read(plateau_dir, SAPPORO_BLDG)
    first = objects[0]
    assert first.attributes["measuredHeight"] == 2.9
    assert first.attributes["measuredHeight_uom"] == "m"
    ids = first.attributes["uro:buildingIDAttribute"][0]
    assert ids["buildingID"] == "01100-bldg-636971" and ids["prefecture"] == "01"
    risks = first.attributes["uro:buildingDisasterRiskAttribute"]
    assert [r["depth"] for r in risks] == [0.682, 1.09]
    assert all(r["type"] == "BuildingRiverFloodingRiskAttribute" for r in risks)


def test_generic_attributes_are_typed(plateau_dir):
    objects, _ = read(plateau_dir, YOKOSUKA_BLDG)
    museum = objects[0].attributes
    assert museum["gen:図形ID"] == 16943
    assert museum["gen:１階床面積"] == 42.0 and museum["gen:１階床面積_uom"] == "m2"
    assert museum["gen:床面積換算係数"] == 0.9
    assert museum["usage"] == "422"  # no codelists folder here: the raw code is kept
    assert "usage_label" not in museum


def test_dem_tin_triangles(plateau_dir):
    objects, _ = read(plateau_dir, YOKOSUKA_DEM)
    triangles = [p for o in objects for p in o.polygons(1)]
    assert len(triangles) == 1066
    assert all(len(t.exterior) == 4 for t in triangles)
    assert all(o.parts[0].feature_type == "dem:TINRelief" for o in objects)


def test_vegetation_heights_and_materials(plateau_dir):
    objects, reader = read(plateau_dir, VEG)
    trees = [o for o in objects if o.feature_type == "veg:SolitaryVegetationObject"]
    covers = [o for o in objects if o.feature_type == "veg:PlantCover"]
    assert all(t.attributes["height"] > 0 for t in trees)
    assert all(c.attributes["averageHeight"] > 0 for c in covers)
    assert all(o.lods == [3] for o in objects)
    assert len(reader.appearance.materials) == 47
    assert reader.appearance.materials[0].diffuse_color == pytest.approx((0.5294117647, 0.3411764706, 0.0))


def test_textures_are_read_and_missing_images_are_warnings(plateau_dir):
    objects, reader = read(plateau_dir, FRN)
    assert len(reader.appearance.textures) == 26
    texture = reader.appearance.textures[0]
    assert texture.image_uri.startswith("52384698_frn_6697_appearance/")
    assert texture.image_path is None
    coords = next(iter(next(iter(texture.targets.values())).values()))
    assert coords.shape[1] == 2 and ((coords >= -0.01) & (coords <= 1.01)).all()
    missing = [p for p in reader.problems if "is missing" in p.message]
    assert len(missing) == 26 and all(p.severity == "warning" for p in missing)


def test_city_zip_is_read_in_place(plateau_dir, tmp_path):
    archive = tmp_path / "14201_yokosuka-shi_2023_citygml_op.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in (plateau_dir / "yokosuka").rglob("*.gml"):
            zf.write(
                path,
                "14201_yokosuka-shi_2023_citygml_op/" + path.relative_to(plateau_dir / "yokosuka").as_posix(),
            )
    counts = Counter(o.feature_type for o in read_features(archive))
    assert counts == {"bldg:Building": 13, "dem:ReliefFeature": 2}
    assert not list(tmp_path.glob("**/udx"))  # nothing was extracted


def test_zip_members_escaping_the_folder_are_refused(plateau_dir, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(plateau_dir / TRAN, "city/udx/tran/533925_tran_6697_op.gml")
        zf.writestr("../../escape/udx/bldg/53396489_bldg_6697_op.gml", "<x/>")
        zf.writestr("/abs/udx/bldg/53396489_bldg_6697_op.gml", "<x/>")
    from citygml import Dataset

    dataset = Dataset(archive)
    sources = dataset.sources()
    assert [s.file_name for s in sources] == ["533925_tran_6697_op.gml"]
    assert len(dataset.problems) == 2
    assert all("refused" in p.message for p in dataset.problems)


def test_selection_by_type_mesh_and_bbox(plateau_dir):
    assert {s.feature_type for s in open_dataset(plateau_dir / "yokosuka", types=["dem"])} == {"dem"}
    assert [s.mesh_code for s in open_dataset(plateau_dir, meshes=["52397519"])] == ["52397519"]
    # A second-level code selects the third-level files inside it.
    assert {s.mesh_code for s in open_dataset(plateau_dir, meshes=["523975"])} == {"52397519"}
    everything = list(read_features(plateau_dir / YOKOSUKA_BLDG))
    lon = np.array([o.all_vertices()[:, 0].mean() for o in everything])
    lat = np.array([o.all_vertices()[:, 1].mean() for o in everything])
    west = (lon.min() - 0.001, lat.min() - 0.001, np.median(lon), lat.max() + 0.001)
    selected = list(read_features(plateau_dir / YOKOSUKA_BLDG, bbox=west))
    assert 0 < len(selected) < len(everything)


def test_codelists_resolve_labels_when_present(project_root):
    objects = list(read_features(project_root / "sample_data/omiya", types=["bldg"], meshes=["53396489"]))
    usage = {o.attributes["usage"]: o.attributes["usage_label"] for o in objects}
    assert usage["411"] == "住宅"
    assert all(o.attributes["uro:buildingIDAttribute"][0]["prefecture_label"] == "埼玉県" for o in objects)


def test_triangulation_keeps_area_with_holes():
    outer = np.array([[0, 0, 5], [10, 0, 5], [10, 10, 5], [0, 10, 5], [0, 0, 5]], float)
    hole = np.array([[2, 2, 5], [2, 4, 5], [4, 4, 5], [4, 2, 5], [2, 2, 5]], float)
    vertices, triangles = triangulate_polygon([outer, hole])
    a, b, c = (vertices[triangles[:, i]] for i in range(3))
    area = np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2
    assert area == pytest.approx(100 - 4)
    # Winding follows the exterior ring (counter-clockwise seen from above: +z normals).
    assert (np.cross(b - a, c - a)[:, 2] > 0).all()


def test_batch_read_reports_a_bad_file_and_goes_on(plateau_dir, tmp_path):
    city = tmp_path / "city" / "udx"
    shutil.copytree(plateau_dir / "misc" / "udx", city)
    (city / "bldg").mkdir()
    (city / "bldg" / "53392547_bldg_6697_op.gml").write_text("<core:CityModel", encoding="utf-8")
    report = ReadReport()
    objects = list(read_features(tmp_path / "city", report=report, on_error="skip"))
    assert len(objects) == 44 + 9 + 28
    assert len(report.rejected) == 1
    assert "53392547_bldg_6697_op.gml" in str(report.rejected[0])


def test_a_real_file_with_an_undeclared_prefix_keeps_every_building(plateau_dir, tmp_path):
    """libplateau's test file 53392642_bldg_6697_op2.gml writes ``energy:isHeated`` in its
    buildings without declaring ``xmlns:energy``; the same defect, made here in a real
    PLATEAU file: each of its 13 buildings gets the element on the line that closes it."""
    text = (plateau_dir / YOKOSUKA_BLDG).read_text(encoding="utf-8-sig")
    assert "xmlns:energy" not in text and text.count("</bldg:Building>") == 13
    first_line = text[: text.index("</bldg:Building>")].count("\n") + 1
    paths = {}
    for name, document in [
        ("clean", text),
        (
            "energy",
            text.replace("</bldg:Building>", "<energy:isHeated>true</energy:isHeated></bldg:Building>"),
        ),
    ]:
        paths[name] = tmp_path / name / "udx" / "bldg" / "52397519_bldg_6697_op.gml"
        paths[name].parent.mkdir(parents=True)
        paths[name].write_text(document, encoding="utf-8")
    expected, clean = read(tmp_path, paths["clean"])
    objects, reader = read(tmp_path, paths["energy"])
    assert [o.gml_id for o in objects] == [o.gml_id for o in expected] and len(objects) == 13
    for got, want in zip(objects, expected):
        assert got.attributes == want.attributes and got.lods == want.lods
        assert np.array_equal(got.all_vertices(), want.all_vertices())
    assert len(reader.appearance.textures) == len(clean.appearance.textures) > 0
    undeclared = [p for p in reader.problems if "energy" in p.message]
    assert [(p.line, p.message) for p in undeclared] == [
        (
            first_line,
            "element energy:isHeated uses namespace prefix energy, which the file does not "
            "declare: skipped with its content (13 element(s), the first here)",
        )
    ]
    # everything else reported is what the clean file reports, under its own name
    others = [p.message for p in reader.problems if p not in undeclared]
    assert others == [p.message for p in clean.problems]
