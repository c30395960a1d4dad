"""Off-screen pyvista images of a district: one per season, with shade, buildings and streets."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from matplotlib import colormaps

from pipeline.export.district_render import render_district_3d
from pipeline.geo.raster import Grid, write_cog

pytest.importorskip("pyvista")


@pytest.fixture()
def district(tmp_path):
    """A 200 m square: one 30 m tower, one street with score 90, shade hours 0 (summer) or 3 (winter)."""
    crs = "EPSG:6677"
    x0, y0 = -10_000.0, -20_000.0
    buildings = gpd.GeoDataFrame({"gml_id": ["b1"], "height_m": [30.0], "ground_elevation_m": [10.0]},
                                 geometry=[shapely.box(x0 + 80, y0 + 80, x0 + 120, y0 + 120)], crs=crs)
    buildings.to_parquet(tmp_path / "b.parquet")
    streets = gpd.GeoDataFrame({"segment_id": ["s1"], "score": [90.0]},
                               geometry=[shapely.LineString([(x0, y0 + 50), (x0 + 200, y0 + 50)])], crs=crs)
    streets.to_parquet(tmp_path / "s.parquet")
    grid = Grid(x0, y0 + 200, 2.0, 100, 100, crs)
    write_cog(tmp_path / "summer.tif", np.zeros(grid.shape, np.float32), grid, nodata=np.nan)
    write_cog(tmp_path / "winter.tif", np.full(grid.shape, 3.0, np.float32), grid, nodata=np.nan)
    write_cog(tmp_path / "terrain.tif", np.full(grid.shape, 10.0, np.float32), grid, nodata=np.nan)
    return tmp_path


def _share_near(image: np.ndarray, colour: np.ndarray, tolerance: int = 60) -> float:
    return float(np.all(np.abs(image[..., :3].astype(int) - colour) <= tolerance, axis=-1).mean())


def test_one_image_per_season_with_the_shade_of_that_season(district):
    from PIL import Image

    paths = render_district_3d(district / "out", buildings=[district / "b.parquet"],
                               streets={"summer": district / "s.parquet", "winter": district / "s.parquet"},
                               shade={"summer": [district / "summer.tif"], "winter": [district / "winter.tif"]},
                               terrain=[district / "terrain.tif"], slot_hours=3.0, window_size=(400, 300))
    assert [p.rsplit("/", 1)[1] for p in paths] == ["district_3d_summer.png", "district_3d_winter.png"]
    summer, winter = (np.asarray(Image.open(p).convert("RGB")) for p in paths)
    assert summer.shape == (300, 400, 3)
    sunny = (np.array(colormaps["cividis_r"](0.0)[:3]) * 255).round()
    shaded = (np.array(colormaps["cividis_r"](1.0)[:3]) * 255).round()
    # the ground is the no-shade colour in summer and the full-shade colour in winter (the
    # other colour is only the end of the legend's bar)
    assert _share_near(summer, sunny) > 0.08 and _share_near(summer, shaded) < 0.02
    assert _share_near(winter, shaded) > 0.08 and _share_near(winter, sunny) < 0.02
    # the street is drawn in the score palette (viridis at 90)
    street = (np.array(colormaps["viridis"](0.9)[:3]) * 255).round()
    assert _share_near(summer, street, 30) > 0.002
    # the building is grey
    assert _share_near(summer, np.array([189, 189, 189]), 30) > 0.005
