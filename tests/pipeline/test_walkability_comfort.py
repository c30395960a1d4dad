"""c_thermal and per-segment UTCI, and the issue's street pair: shade wins in summer, sun in winter."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box
from rasterio.features import rasterize

from pipeline.geo.raster import Grid
from pipeline.shade.sun import Scenario, Season, TimeSlot
from pipeline.walkability.comfort import ComfortCurve, segment_thermal, share_columns
from pipeline.thermal.tile import thermal_tile
from pipeline.thermal.weather import read_weather
from pipeline.walkability.network import from_lines

CRS = "EPSG:6677"


def test_comfort_curve_breakpoints():
    curve = ComfortCurve()                    # 1 in UTCI's comfort zone, 18-26 °C
    np.testing.assert_allclose(curve(np.array([-40, -27, -4.5, 9, 18, 20, 26, 32, 38, 50, np.nan])),
                               [0, 0, 0.5, 0.8, 1, 1, 1, 0.5, 0, 0, np.nan])
    whole_band = ComfortCurve(comfort_low_c=9.0)   # 1 in the whole no-thermal-stress class
    np.testing.assert_allclose(whole_band(np.array([-9.0, 9.0, 12.0])), [0.5, 1.0, 1.0])
    hot = ComfortCurve(heat_zero_c=46.0)
    assert hot(38.0) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="breakpoints"):
        ComfortCurve(comfort_low_c=30.0, comfort_high_c=26.0)


def test_segment_utci_c_thermal_and_class_shares():
    lines = [LineString([(0.5, 50), (99.5, 50)]), LineString([(50, 0), (50, 40)])]
    network = from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))
    grid = Grid(0.0, 100.0, 1.0, 100, 100, CRS)
    utci = np.full(grid.shape, 20.0, np.float32)
    utci[:, 50:] = 40.0                       # east half: very strong heat stress
    table = segment_thermal(network, utci, grid, step_m=1.0)
    assert list(table.columns) == ["utci_mean_c", "c_thermal"] + share_columns()
    east_west = table.iloc[0]                  # 100 samples, 50 in each half
    assert east_west["share_no_stress"] == 0.5 and east_west["share_very_strong_heat"] == 0.5
    assert east_west["c_thermal"] == 0.5       # the mean of c, not c of the mean UTCI (c(30) = 0.67)
    assert east_west["utci_mean_c"] == pytest.approx(30.0)
    north_south = table.iloc[1]                # on x = 50: the eastern cells
    assert north_south["share_very_strong_heat"] == 1.0 and north_south["c_thermal"] == 0.0
    np.testing.assert_allclose(table[share_columns()].sum(axis=1), 1.0)


HEAT_DAY = Season("heat_day", 8, 5)
WINTER = Season("winter_solstice", 12, 21)
MIDDAY = TimeSlot("midday", "11:00", "14:00")


def _street_pair():
    """Two equal east-west routes between O (0, 0) and D (400, 0): the north one at y = +40 runs
    along the north face of a 40 m building row (y 10-35), the south one at y = -40 in the open.
    A shop stands on a stub east of D."""
    inner = Grid(-100.0, 100.0, 1.0, 600, 200, CRS)
    outer = inner.buffered(100.0)
    dsm = rasterize([(box(20, 10, 380, 35), 40.0)], out_shape=outer.shape, transform=outer.transform,
                    fill=0.0).astype(np.float64)
    o, d = (0, 0), (400, 0)
    lines = [LineString([o, (0, 40), (400, 40), d]), LineString([o, (0, -40), (400, -40), d]),
             LineString([d, (480, 0)])]
    network = from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))
    return inner, outer, dsm, network


@pytest.fixture(scope="module")
def street_pair(project_root):
    inner, outer, dsm, network = _street_pair()
    weather = read_weather(project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv")
    result = thermal_tile(dsm, outer, inner, [Scenario(HEAT_DAY, MIDDAY), Scenario(WINTER, MIDDAY)], 2026,
                          weather, step_minutes=30)
    y = network.segments.geometry.centroid.y.to_numpy()
    x = network.segments.geometry.centroid.x.to_numpy()
    north, south = (y > 20) & (x < 400), (y < -20) & (x < 400)
    tables = {name: segment_thermal(network, s.utci_mean_c, inner, step_m=2.0)
              for name, s in result.scenarios.items()}
    return network, tables, north, south


def test_street_pair_shade_wins_on_the_heat_day_sun_wins_in_winter(street_pair):
    network, tables, north, south = street_pair
    summer, winter = tables["heat_day_midday"], tables["winter_solstice_midday"]
    for name, table in tables.items():
        print(f"{name}: shaded UTCI {table['utci_mean_c'][north].mean():.1f} c {table['c_thermal'][north].mean():.3f}"
              f", sunny UTCI {table['utci_mean_c'][south].mean():.1f} c {table['c_thermal'][south].mean():.3f}")
    assert summer["c_thermal"][north].mean() > summer["c_thermal"][south].mean() + 0.1
    assert summer["utci_mean_c"][north].mean() < summer["utci_mean_c"][south].mean() - 3
    # a Saitama winter noon in shade is only slightly cold (UTCI about 5-9 °C), below the
    # comfort zone (18-26 °C) that the sunny side reaches
    assert winter["c_thermal"][south].mean() > winter["c_thermal"][north].mean() + 0.15
    assert winter["utci_mean_c"][south].mean() > winter["utci_mean_c"][north].mean() + 3


def test_comfort_weighted_access_follows_c_thermal(street_pair):
    """cityseer's perceived distance to the shop takes the shaded route on the heat day and
    the sunny one in winter, with ``comfort_imp_factor(c_thermal, sun_weight=2)``."""
    pytest.importorskip("cityseer")
    from pipeline.walkability.accessibility import accessibility, assign_destinations, comfort_imp_factor

    network, tables, north, south = street_pair
    shop = gpd.GeoDataFrame({"class": ["shop"]}, geometry=[Point(470, 0)], crs=CRS, index=["shop"])
    origin = network.nodes.index[(network.nodes["x"].abs() < 1e-6) & (network.nodes["y"].abs() < 1e-6)][0]
    data_map = assign_destinations(network, shop)
    length = network.segments["length_m"].to_numpy()
    for name, preferred in (("heat_day_midday", north), ("winter_solstice_midday", south)):
        factor = comfort_imp_factor(tables[name]["c_thermal"].to_numpy(), sun_weight=2.0)
        access = accessibility(network, shop, "class", distances=(2000,), decay="1", per_node=True,
                               imp_factor=factor, data_map=data_map)
        via = {route: float((factor * length)[mask].sum()) for route, mask in
               (("preferred", preferred), ("other", north if preferred is south else south))}
        assert via["preferred"] < via["other"]
        stub = access.loc[origin, "nearest_shop_m"] - via["preferred"]
        assert 0 <= stub <= 80.5                      # then along the stub at plain length
