"""The canopy height model trees are found in, made from a tile's points.

Ground, vegetation and noise are decided as the LiDAR stage decides them
(:mod:`pipeline.lidar.ground`, :mod:`pipeline.lidar.noise`); the DTM is the LiDAR
stage's (:func:`pipeline.lidar.rasters.tile_rasters`) on a grid matched to the ground
returns' density (:func:`terrain`), and each vegetation return's height is taken above
it (bilinear). The canopy height model is the highest vegetation return per cell.
Two steps are specific to trees:

- **Each vegetation return stands for the disc of ground it samples**: at a density of
  ``rho`` returns per m² a return represents ``1 / rho`` m², a disc of radius
  ``r = sqrt(1 / (pi rho))``. The canopy height model is dilated by that disc (lidR's
  ``p2r(subcircle=)``; Khosravipour et al. 2014 for the pit-free idea), so a sparse
  survey (0.5 returns per m² gives r = 0.8 m) yields closed crowns without pits, and the
  same radius widens crown outlines drawn through the outermost returns.
- **Buildings are masked**: cells holding a building return (ASPRS class 6) or inside a
  PLATEAU footprint, grown by ``building_buffer_m``, hold no canopy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from pipeline.geo.raster import Grid
from pipeline.lidar import ground as ground_mod
from pipeline.lidar.noise import noise_class_mask
from pipeline.lidar.points import TilePoints
from pipeline.lidar.rasters import max_per_cell, tile_rasters

#: Point density is counted in blocks of this size (m), over the blocks holding returns,
#: so that a tile only partly covered by the survey is not thought sparse.
DENSITY_BLOCK_M = 10.0


@dataclass
class CanopySurface:
    """A tile's terrain, canopy and vegetation returns on ``grid`` (row 0 north).

    ``grid`` is in the tile's metric CRS; point coordinates ``veg_x, veg_y`` are metres
    in that CRS too. Heights are metres: ``dtm`` orthometric, the others above it.
    """

    grid: Grid
    dtm_grid: Grid  # the terrain's coarser grid (see :func:`terrain`)
    dtm: np.ndarray  # float64, orthometric m on dtm_grid (NaN without ground)
    chm: np.ndarray  # float64, highest vegetation return per cell, 0 elsewhere
    canopy: np.ndarray  # float64, chm dilated by each return's disc, buildings 0
    building: np.ndarray  # bool, masked building cells
    veg_x: np.ndarray  # float64, vegetation returns kept (outside buildings)
    veg_y: np.ndarray
    veg_height: np.ndarray  # float64, m above the DTM
    veg_cell: np.ndarray  # int64, flat cell index of each kept return
    density: float  # returns per m² where the survey has returns
    footprint_radius_m: float  # sqrt(1 / (pi density))

    @property
    def spacing_m(self) -> float:
        """Mean distance between returns, ``1 / sqrt(density)`` (m)."""
        return 1.0 / math.sqrt(self.density) if self.density > 0 else self.grid.resolution

    @property
    def has_vegetation(self) -> bool:
        return bool(self.veg_x.size)

    def ground_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Terrain height (orthometric m) at ``x, y`` (metres in the grid's CRS)."""
        return ground_at(self.dtm_grid, self.dtm, x, y)


def terrain(
    grid: Grid,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    ground: np.ndarray,
    vegetation: np.ndarray,
    density: float,
) -> tuple[Grid, np.ndarray]:
    """The DTM on a grid coarse enough to hold about two ground returns a cell.

    Cells are ``sqrt(2 / density)`` (rounded up to a multiple of ``grid.resolution``; at
    least it): a DTM at the CHM's 0.5 m from a 0.5 returns/m² survey would be 7/8
    interpolated gaps. The DTM is :func:`pipeline.lidar.rasters.tile_rasters`'
    (mean of ground returns, gaps interpolated, capped at the DSM). ``x, y`` are metres
    from ``(grid.x_min, grid.y_min)``.
    """
    step = grid.resolution
    if density > 0:
        step = max(1, math.ceil(math.sqrt(2.0 / density) / grid.resolution)) * grid.resolution
    width = max(1, math.ceil(grid.width * grid.resolution / step))
    height = max(1, math.ceil(grid.height * grid.resolution / step))
    coarse = Grid(grid.x_min, grid.y_max, step, width, height, grid.crs)
    local = replace(coarse, x_min=0.0, y_max=grid.height * grid.resolution)
    dtm, *_ = tile_rasters(local, x, y, z, ground, vegetation)
    return coarse, dtm


def ground_at(dtm_grid: Grid, dtm: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear DTM height at ``x, y`` (metres in the grid's CRS; edge cells extended)."""
    col = (np.asarray(x, np.float64) - dtm_grid.x_min) / dtm_grid.resolution - 0.5
    row = (dtm_grid.y_max - np.asarray(y, np.float64)) / dtm_grid.resolution - 0.5
    return ndimage.map_coordinates(dtm, [row, col], order=1, mode="nearest")


def point_density(x: np.ndarray, y: np.ndarray, block_m: float = DENSITY_BLOCK_M) -> float:
    """Returns per m² over the ``block_m`` blocks that hold any return (0 without points)."""
    if x.size == 0:
        return 0.0
    bx = np.floor((x - x.min()) / block_m).astype(np.int64)
    by = np.floor((y - y.min()) / block_m).astype(np.int64)
    occupied = np.unique(bx * (int(by.max()) + 1) + by).size
    return float(x.size / (occupied * block_m * block_m))


def disc(radius_cells: float) -> np.ndarray:
    """Boolean disc footprint of ``radius_cells`` (at least the centre cell)."""
    r = max(int(math.floor(radius_cells)), 0)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (xx * xx + yy * yy) <= radius_cells * radius_cells + 1e-9


def canopy_surface(
    points: TilePoints,
    grid: Grid,
    *,
    resolution_m: float | None = None,
    building_buffer_m: float = 0.5,
    footprint_mask: np.ndarray | None = None,
) -> CanopySurface:
    """Terrain, canopy height model and vegetation returns of one tile.

    Parameters
    ----------
    points : TilePoints
        The tile's points, float32 metres from ``(grid.x_min, grid.y_min)`` as
        :func:`pipeline.lidar.reader.iter_tile_points` yields them.
    grid : Grid
        The tile grid (metric CRS; its resolution is the CHM's).
    building_buffer_m : float
        Growth of the building mask, metres.
    footprint_mask : numpy.ndarray of bool, optional
        Building footprints rasterised on ``grid`` (True inside), e.g. PLATEAU bldg.

    Returns
    -------
    CanopySurface
        Empty vegetation (``has_vegetation`` False, canopy all 0) for a tile without
        vegetation returns.
    """
    keep = ~noise_class_mask(points.classification)
    if not keep.all():
        points = points.subset(keep)
    x, y, z = points.x, points.y, points.z
    cls = points.classification
    if ground_mod.has_ground_classes(cls):
        ground = cls == ground_mod.ASPRS_GROUND
    elif len(points):
        ground = ground_mod.ground_mask_csf(x, y, z)
    else:
        ground = np.zeros(0, bool)
    vegetation = ground_mod.vegetation_mask(
        cls, points.number_of_returns, ground, classes_available=ground_mod.has_object_classes(cls)
    )
    res = grid.resolution
    col = np.floor(x.astype(np.float64) / res).astype(np.int64)
    row = np.floor((grid.height * res - y.astype(np.float64)) / res).astype(np.int64)
    inside = (row >= 0) & (row < grid.height) & (col >= 0) & (col < grid.width)
    density = point_density(x[inside], y[inside])
    radius = math.sqrt(1.0 / (math.pi * density)) if density > 0 else res

    dtm_grid, dtm = terrain(grid, x, y, z, ground, vegetation, density)
    height = z.astype(np.float64) - ground_at(dtm_grid, dtm, x + grid.x_min, y + grid.y_min)
    cell = np.where(inside, row * grid.width + col, -1)

    building = np.zeros(grid.width * grid.height, bool)
    building[cell[inside & (cls == ground_mod.ASPRS_BUILDING)]] = True
    building = building.reshape(grid.shape)
    if footprint_mask is not None:
        building |= footprint_mask
    if building.any() and building_buffer_m > 0:
        building = ndimage.binary_dilation(building, structure=disc(building_buffer_m / res))

    kept = vegetation & inside & np.isfinite(height)
    kept[kept] = ~building.reshape(-1)[cell[kept]]
    veg_cell = cell[kept]
    veg_height = height[kept]
    chm = max_per_cell(veg_cell, veg_height, grid.width * grid.height).reshape(grid.shape)
    chm = np.where(np.isnan(chm), 0.0, np.clip(chm, 0.0, None))
    canopy = ndimage.grey_dilation(chm, footprint=disc(radius / res)) if chm.any() else chm.copy()
    canopy[building] = 0.0
    return CanopySurface(
        grid=grid,
        dtm_grid=dtm_grid,
        dtm=dtm,
        chm=chm,
        canopy=canopy,
        building=building,
        veg_x=x[kept].astype(np.float64) + grid.x_min,
        veg_y=y[kept].astype(np.float64) + grid.y_min,
        veg_height=veg_height,
        veg_cell=veg_cell,
        density=density,
        footprint_radius_m=radius,
    )
