"""PNG maps: a real image with the raster's colours, written atomically."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib import image as mpimg
from shapely.geometry import box

from pipeline.geo.maps import Overlay, _nice_length, render_raster_map, write_raster_map
from pipeline.geo.raster import Grid


def test_map_is_written_as_png_with_overlay(tmp_path):
    grid = Grid(0.0, 500.0, 5.0, 100, 100, "EPSG:6677")
    data = np.tile(np.linspace(0, 6, 100, dtype=np.float32), (100, 1))
    data[:10, :10] = np.nan
    path = write_raster_map(tmp_path / "maps" / "shade.png", data, grid, title="Shade hours, winter midday",
                            units="shade hours (h)", cmap="magma",
                            overlays=[Overlay([box(100, 100, 200, 200)], color="cyan", label="building")])
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 400
    assert [p.name for p in (tmp_path / "maps").iterdir()] == ["shade.png"]   # no temporary left
    # the left and right of the raster take the two ends of the colour map
    assert not np.allclose(image[image.shape[0] // 2, image.shape[1] // 5],
                           image[image.shape[0] // 2, image.shape[1] * 3 // 5])


def test_scale_bar_lengths_are_round():
    assert _nice_length(1000.0) == 200.0
    assert _nice_length(730.0) == 100.0
    assert _nice_length(12.0) == 2.0


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="does not match grid"):
        render_raster_map(np.zeros((3, 3)), Grid(0, 10, 1, 4, 4, "EPSG:6677"), title="t", units="u")
