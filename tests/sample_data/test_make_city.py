"""The city generator: N tiles of PLATEAU-style files that read back, each tile its own city."""

from __future__ import annotations

import importlib.util
import math
from collections import Counter

import laspy
import numpy as np
import pytest

from citygml import read_features
from pipeline.stages import load_run_definition


@pytest.fixture(scope="module")
def make_city(project_root):
    spec = importlib.util.spec_from_file_location("make_city", project_root / "sample_data/make_city.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def city(make_city, tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    return out, make_city.write(2, out, lidar_density=0.05)


def test_two_tiles_read_back_in_the_plateau_layout(city, make_city):
    out, counts = city
    tiles = make_city.tile_codes(2)
    assert tiles == [53396489, 53396580]  # the base mesh and its east neighbour
    buildings = list(read_features(out, types=["bldg"]))
    assert len(buildings) == counts["buildings"] > 1000
    per_file = Counter(b.source.rsplit("/", 1)[-1] for b in buildings)
    assert set(per_file) == {f"{t}_bldg_6697_op.gml" for t in tiles}
    lods = Counter(lod for b in buildings for lod in {g.lod for g in b.geometries})
    assert lods[0] == lods[1] == len(buildings) and 0.6 < lods[2] / len(buildings) < 0.95
    kinds = Counter(f.feature_type for f in read_features(out, types=["veg", "tran", "dem"]))
    assert kinds["veg:SolitaryVegetationObject"] == counts["trees"]
    assert kinds["veg:PlantCover"] == counts["parks"] and kinds["tran:Road"] == counts["roads"]
    assert kinds["dem:ReliefFeature"] >= 1
    definition = load_run_definition(out / "city.yaml")
    assert definition.area.meshes == [str(t) for t in tiles]
    assert [p.name for p in definition.inputs.lidar] == [f"{t}.laz" for t in tiles]
    assert (out / "streets.geojson").stat().st_size > 0
    assert (out / "peopleflow/mlit_peopleflow_city.csv").read_text().count("\n") == 1 + 2 * 4 * 9


def test_each_tile_has_its_lidar_inside_it(city, make_city):
    out, counts = city
    total = 0
    for tile in make_city.tile_codes(2):
        las = laspy.read(out / "lidar" / f"{tile}.laz")
        x0, y0, x1, y1 = make_city.tile_bounds(tile)
        assert x0 <= las.x.min() and las.x.max() <= x1 and y0 <= las.y.min() and las.y.max() <= y1
        assert {1, 2, 6} <= set(np.unique(las.classification))  # birds, ground, roofs
        total += len(las.points)
    assert total == counts["lidar_points"]


def test_tiles_are_different_cities_and_the_same_for_a_seed(make_city):
    def district(seed):
        rng = np.random.default_rng(seed)  # one generator through the tiles, as write() does
        summary = []
        for code in make_city.tile_codes(4):
            buildings, parks, trees, roads, lines = make_city.make_tile(code, rng, 0)
            edge = buildings[0].footprint[1] - buildings[0].footprint[0]
            summary.append(
                (
                    len(buildings),
                    round(math.degrees(math.atan2(edge[1], edge[0])), 6),
                    max(b.height for b in buildings),
                    len(parks),
                )
            )
        return summary

    tiles = district(7)
    assert len(set(tiles)) == 4  # block sizes, angles, towers, parks
    assert len({angle for _, angle, _, _ in tiles}) > 1  # streets turn differently
    assert district(7) == tiles  # deterministic for a seed
