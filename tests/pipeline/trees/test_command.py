"""``machi trees LAS... --out DIR [--veg FOLDER]`` and its bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from click.testing import CliRunner

from pipeline.commands.cli import main
from pipeline.trees.stand import survey

from .helpers import ORIGIN, one_tree, write_las


def _survey(trees, seed=5):
    extent = (ORIGIN[0] - 25, ORIGIN[1] - 25, ORIGIN[0] + 25, ORIGIN[1] + 25)
    return survey(pd.DataFrame(trees), extent, 8.0, np.random.default_rng(seed))


def test_trees_command_writes_veg_and_changes(tmp_path):
    las = write_las(
        tmp_path / "survey.las",
        _survey([one_tree(-8, 0, height=9.0), one_tree(8, 0, height=4.0, radius=2.0)]),
    )
    out = tmp_path / "out"
    first = CliRunner().invoke(main, ["trees", str(las), "--out", str(out / "before")])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("2 trees in 1 tile(s) (EPSG:6677); class 1: 2")
    assert (out / "before/udx/veg/53396489_veg_6697_op.gml").is_file()
    assert (out / "before/codelists/SolitaryVegetationObject_class.xml").is_file()

    later = write_las(tmp_path / "later.las", _survey([one_tree(-8, 0, height=9.0)], seed=6))
    second = CliRunner().invoke(
        main, ["trees", str(later), "--out", str(out / "after"), "--veg", str(out / "before/udx/veg")]
    )
    assert second.exit_code == 0, second.output
    assert "against 2 existing trees: 1 matched, 0 height changed, 0 new, 1 gone" in second.output
    assert (out / "after/changes.parquet").is_file() and (out / "after/changes.png").is_file()


def test_lidar_without_a_crs_is_a_clear_error_naming_the_file(tmp_path):
    las = write_las(tmp_path / "no_crs.las", _survey([one_tree()]), crs=None)
    result = CliRunner().invoke(main, ["trees", str(las), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "no_crs.las" in result.output and "CRS" in result.output
    named = CliRunner().invoke(
        main, ["trees", str(las), "--out", str(tmp_path / "out"), "--crs", "EPSG:6677"]
    )
    assert named.exit_code == 0, named.output
    assert named.output.startswith("1 trees in 1 tile(s)")


def test_lidar_without_vegetation_gives_no_trees_and_no_files(tmp_path):
    las = write_las(tmp_path / "bare.las", _survey([]))
    result = CliRunner().invoke(main, ["trees", str(las), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 trees in 1 tile(s) (EPSG:6677); none")
    assert not (tmp_path / "out/udx").exists()


def test_trees_is_listed_by_help():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "trees" in result.output and "PLATEAU vegetation" in result.output


def test_bldg_footprints_are_read_from_plateau_lod0(project_root):
    from pipeline.commands.trees import _footprints

    polygons = _footprints(project_root / "sample_data/omiya/udx/bldg", "EPSG:6677")
    assert len(polygons) == 502  # the sample's 502 buildings, one LOD0 each
    areas = np.array([p.area for p in polygons])
    assert areas.min() > 20 and areas.max() < 5000  # m², footprints of city blocks' buildings


def test_the_same_lidar_gives_byte_identical_outputs(tmp_path):
    from pipeline.commands.trees import run_trees

    las = write_las(tmp_path / "survey.las", _survey([one_tree(-8, 0), one_tree(8, 3, height=6.0)]))
    first = run_trees([las], tmp_path / "a")
    second = run_trees([las], tmp_path / "b")
    assert first["trees"] == second["trees"] == 2
    for name in (
        "udx/veg/53396489_veg_6697_op.gml",
        "trees.parquet",
        "codelists/SolitaryVegetationObject_class.xml",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_tree_on_the_corner_of_four_meshes_is_written_once(tmp_path):
    from pyproj import Transformer

    from pipeline.commands.trees import run_trees

    # the corner shared by meshes 53396489, 53396499, 53396580 and 53396590
    x, y = Transformer.from_crs("EPSG:6668", "EPSG:6677", always_xy=True).transform(
        139.625, 35.0 + 55.0 / 60.0 - 0.5 / 60.0
    )
    tree = one_tree(x - ORIGIN[0] + 0.3, y - ORIGIN[1] + 0.3, height=10.0, radius=3.0)
    extent = (x - 20, y - 20, x + 20, y + 20)
    points = survey(pd.DataFrame([tree]), extent, 8.0, np.random.default_rng(9))
    summary = run_trees([write_las(tmp_path / "corner.las", points)], tmp_path / "out")
    assert summary["tiles"] == 4
    assert summary["trees"] == 1 and len(summary["gml"]) == 1
