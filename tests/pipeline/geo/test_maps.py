"""PNG maps: what a map shows (title, legend with units, extent, scale bar, north arrow,
overlays), written atomically as a PNG that says so in its text chunks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image
from shapely.geometry import box

from pipeline.geo.maps import Overlay, _nice_length, raster_map_figure, render_raster_map, write_raster_map
from pipeline.geo.raster import Grid

GRID = Grid(1000.0, 2500.0, 5.0, 100, 80, "EPSG:6677")  # 500 m x 400 m


def _data() -> np.ndarray:
    data = np.tile(np.linspace(0, 6, GRID.width, dtype=np.float32), (GRID.height, 1))
    data[:10, :10] = np.nan
    return data


def test_figure_shows_title_legend_extent_scale_and_north():
    fig = raster_map_figure(
        _data(),
        GRID,
        title="Shade hours, winter midday",
        units="shade hours (h)",
        cmap="magma",
        vmin=0,
        overlays=[Overlay([box(1100, 2200, 1200, 2300)], color="cyan", label="buildings")],
    )
    try:
        ax, colorbar = fig.axes
        assert ax.get_title() == "Shade hours, winter midday"
        assert colorbar.get_ylabel() == "shade hours (h)"
        assert ax.get_xlim() == (1000.0, 1500.0) and ax.get_ylim() == (2100.0, 2500.0)
        [image] = ax.get_images()
        assert image.get_extent() == [1000.0, 1500.0, 2100.0, 2500.0]
        assert image.get_clim() == (0.0, pytest.approx(6.0))
        texts = [t.get_text() for t in ax.texts] + [
            t.get_text() for a in ax.artists for t in a.findobj(plt.Text)
        ]
        assert "N" in texts and "100 m" in texts  # north arrow; a 100 m bar on 500 m
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["buildings"]
    finally:
        plt.close(fig)


def test_map_is_written_as_png_that_says_what_it_shows(tmp_path):
    path = write_raster_map(
        tmp_path / "maps" / "shade.png",
        _data(),
        GRID,
        title="Sun hours, equinox",
        units="hours of sun",
        cmap="YlOrRd",
    )
    assert [p.name for p in (tmp_path / "maps").iterdir()] == ["shade.png"]  # no temporary left
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 600
        assert image.text["Title"] == "Sun hours, equinox"
        assert image.text["Description"] == "legend: hours of sun"
        assert image.text["Extent"] == "1000.00 2100.00 1500.00 2500.00 EPSG:6677"


def test_scale_bar_lengths_are_round():
    assert _nice_length(1000.0) == 200.0
    assert _nice_length(730.0) == 100.0
    assert _nice_length(12.0) == 2.0


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="does not match grid"):
        render_raster_map(np.zeros((3, 3)), Grid(0, 10, 1, 4, 4, "EPSG:6677"), title="t", units="u")


def test_japanese_text_is_set_in_the_shipped_japanese_font():
    """Japanese titles, legends and labels draw with IPAexGothic (matplotlib-fontja), no glyph missing."""
    import warnings

    import geopandas as gpd
    from matplotlib import font_manager

    from pipeline.geo.maps import JAPANESE_FONT, map_style

    districts = gpd.GeoDataFrame(
        {"district": ["本町一丁目", "桜木町"]},
        geometry=[box(1000, 2100, 1250, 2500), box(1250, 2100, 1500, 2500)],
        crs="EPSG:6677",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would fail the test
        png = render_raster_map(
            _data(),
            GRID,
            title="日陰時間 猛暑日 昼 (11:00-14:00)",
            units="日陰の時間 (時間, °C −1)",
            overlays=[Overlay(districts, label="地区", text_column="district")],
        )
    with map_style():
        found = font_manager.findfont(
            font_manager.FontProperties(family=JAPANESE_FONT), fallback_to_default=False
        )
        assert found.endswith("ipaexg.ttf")
        fig = raster_map_figure(
            _data(),
            GRID,
            title="日陰時間",
            units="時間",
            overlays=[Overlay(districts, text_column="district")],
        )
    try:
        ax = fig.axes[0]
        assert ax.title.get_fontfamily()[0] == JAPANESE_FONT
        assert font_manager.findfont(ax.title.get_fontproperties()).endswith("ipaexg.ttf")
        labels = {t.get_text(): (t.get_position()) for t in ax.texts}
        assert set(labels) >= {"本町一丁目", "桜木町"}  # one label per district, inside it
        assert 1000 < labels["本町一丁目"][0] < 1250 < labels["桜木町"][0] < 1500
    finally:
        plt.close(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_map_is_the_same_bytes():
    title = dict(title="歩きやすさスコア", units="スコア (0-100)")
    first = render_raster_map(_data(), GRID, **title)
    assert render_raster_map(_data(), GRID, **title) == first
    assert b"Date" not in first and b"Creation" not in first
