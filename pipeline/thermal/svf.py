"""Sky view factor per cell from a DSM, by horizon angles along the shadow stage's ray lattice.

The sky view factor (SVF) of a horizontal surface is the share of the hemisphere's
radiation it receives from an isotropic sky: each direction weighted by the cosine of its
zenith angle. With the horizon at elevation ``h(phi)`` in azimuth ``phi``:

    SVF = (1 / 2 pi) * integral over phi of cos^2 h(phi) dphi

(the inner integral of ``cos z sin z dz / pi`` from the zenith down to the horizon). UMEP
computes the same quantity by casting shadows for 145 sky patches (Lindberg & Grimmond
2010); here the horizon angle of every cell is found exactly, direction by direction:

- for each of ``n_azimuths`` directions the DSM is swept along the *same* digital ray lines
  as :mod:`pipeline.shade.shadow` (:class:`~pipeline.shade.shadow.SweepGeometry`: the
  raster turned so the direction points to increasing columns, line ``m`` holding row
  ``m + floor(0.5 + c * slope)`` of column ``c``, steps of ``resolution * sqrt(1 + slope**2)``
  metres);
- along each line, cells are visited against the direction while the upper convex hull of
  the surface ahead is kept on a stack (Andrew's monotone chain); the horizon of a cell is
  the steepest slope to that hull, found by binary search (the slope to a concave chain
  from a point before it rises, then falls). Each line costs ``O(n log n)``, independent of
  how far the horizon lies;
- ``cos^2 h = 1 / (1 + tan^2 h)`` is summed over the directions (``h`` below 0 counts as 0:
  a roof sees the whole sky) and averaged.

Heights are samples at cell centres, so a wall stands at the centre of its first building
cell. Rays run to the raster's edge: the tile's halo bounds them (with a 200 m halo a
20 m building is seen down to 5.7 degrees; sky hidden below that weighs cos^2 5.7 = 1 %
of a direction at most). The cell's own height is its DSM height: a pedestrian's 1.1 m
eye level is not added.

Trees: with a canopy-top raster (metres, same datum as the DSM, NaN where none) a second
SVF treats crowns as opaque from the ground to their top (trunks are not modelled: no sky
is seen under a crown's edge) and a cell under a crown sees no sky. The sky a person sees
through foliage of transmissivity ``tau`` is then (as UMEP combines its building and
vegetation SVFs, Lindberg & Grimmond 2011)

    SVF(tau) = SVF_opaque_trees + tau * (SVF_surface - SVF_opaque_trees).

With evergreen crowns (``evergreen_top``, a subset of the canopy) a third SVF treats only
the evergreen crowns as opaque, so each habit's share of the hidden sky is seen through
its own transmissivity:

    SVF(tau_d, tau_e) = SVF_opaque_trees + tau_d * (SVF_opaque_evergreen - SVF_opaque_trees)
                        + tau_e * (SVF_surface - SVF_opaque_evergreen),

which is the formula above when both are equal or there is no evergreen crown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from pipeline.shade.shadow import sweep_geometry

DEFAULT_AZIMUTHS = 36


@numba.njit(cache=True, nogil=True)
def _steepest(hx, hz, top, c, z, step_m):
    """tan of the horizon from (column c, height z) to the hull on the stack (1/(1+t^2) form)."""
    if top == 0:
        return 1.0
    lo, hi = 0, top - 1  # chain position i = stack index top - 1 - i (near to far)
    while lo < hi:
        mid = (lo + hi) // 2
        a = top - 1 - mid
        b = a - 1
        s_a = (hz[a] - z) / ((hx[a] - c) * step_m)
        s_b = (hz[b] - z) / ((hx[b] - c) * step_m)
        if s_a >= s_b:
            hi = mid
        else:
            lo = mid + 1
    k = top - 1 - lo
    tan_h = (hz[k] - z) / ((hx[k] - c) * step_m)
    if tan_h <= 0.0:
        return 1.0
    return 1.0 / (1.0 + tan_h * tan_h)


@numba.njit(cache=True, nogil=True)
def _push_hull(hx, hz, top, c, z):
    """Add (c, z) before the chain, dropping vertices that fall on or below the new hull."""
    while top >= 2:
        x1, z1 = hx[top - 1], hz[top - 1]
        x2, z2 = hx[top - 2], hz[top - 2]
        if (z1 - z) * (x2 - c) <= (z2 - z) * (x1 - c):
            top -= 1
        else:
            break
    hx[top] = c
    hz[top] = z
    return top + 1


@numba.njit(parallel=True, cache=True, nogil=True)
def _horizon_sweep(surface, crowns, has_crowns, off, step_m, out_surface, out_opaque):
    """cos^2 of the horizon toward increasing columns for every cell (see module doc)."""
    n_rows, width = surface.shape
    first_line = -off.max()
    n_lines = n_rows + off.max() - off.min()
    for li in numba.prange(n_lines):
        m = first_line + li
        sx = np.empty(width, np.int64)
        sz = np.empty(width, np.float64)
        tx = np.empty(width, np.int64)
        tz = np.empty(width, np.float64)
        s_top = 0
        t_top = 0
        entered = False
        for c in range(width - 1, -1, -1):
            r = m + off[c]
            if r < 0 or r >= n_rows:
                if entered:
                    break  # a line's cells are contiguous
                continue
            entered = True
            z = surface[r, c]
            out_surface[r, c] = _steepest(sx, sz, s_top, c, z, step_m)
            if has_crowns:
                top = crowns[r, c]
                if top > z:
                    out_opaque[r, c] = 0.0  # under a crown
                else:
                    out_opaque[r, c] = _steepest(tx, tz, t_top, c, z, step_m)
                t_top = _push_hull(tx, tz, t_top, c, max(top, z))
            s_top = _push_hull(sx, sz, s_top, c, z)


@dataclass(frozen=True)
class SkyView:
    """Sky view factors of the cells of a window (0..1, float32).

    Attributes
    ----------
    surface : numpy.ndarray
        SVF with the DSM alone (buildings and terrain).
    opaque_trees : numpy.ndarray or None
        SVF with tree crowns opaque; None without a canopy raster.
    opaque_evergreen : numpy.ndarray or None
        SVF with the evergreen crowns alone opaque; None without evergreen crowns.
    """

    surface: np.ndarray
    opaque_trees: np.ndarray | None = None
    opaque_evergreen: np.ndarray | None = None

    def with_trees(self, transmissivity: float, evergreen_transmissivity: float | None = None) -> np.ndarray:
        """SVF through foliage (0 opaque, 1 no trees), float32.

        ``transmissivity`` is that of deciduous (and unknown-habit) crowns,
        ``evergreen_transmissivity`` that of evergreen crowns (default: the same).
        """
        if self.opaque_trees is None:
            return self.surface
        for tau in (transmissivity, evergreen_transmissivity):
            if tau is not None and not 0.0 <= tau <= 1.0:
                raise ValueError(f"transmissivity must be in [0, 1], got {tau}")
        if self.opaque_evergreen is None or evergreen_transmissivity is None:
            return (
                self.opaque_trees + np.float32(transmissivity) * (self.surface - self.opaque_trees)
            ).astype(np.float32)
        return (
            self.opaque_trees
            + np.float32(transmissivity) * (self.opaque_evergreen - self.opaque_trees)
            + np.float32(evergreen_transmissivity) * (self.surface - self.opaque_evergreen)
        ).astype(np.float32)


def sky_view_factor(
    dsm: np.ndarray,
    resolution: float,
    *,
    canopy_top: np.ndarray | None = None,
    n_azimuths: int = DEFAULT_AZIMUTHS,
    window: tuple[int, int, int, int] | None = None,
    evergreen_top: np.ndarray | None = None,
) -> SkyView:
    """Sky view factor of every cell of ``window`` (see module docstring).

    Parameters
    ----------
    dsm : numpy.ndarray
        Surface heights (buildings + terrain), metres, orthometric, 2-D, finite, on a
        north-up grid with a halo.
    resolution : float
        Cell size, metres.
    canopy_top : numpy.ndarray, optional
        Canopy-top heights on the same grid, metres, NaN where there is no vegetation.
    n_azimuths : int
        Directions sampled, evenly from grid north (36: every 10 degrees).
    window : (row0, row1, col0, col1), optional
        Cells to return (e.g. the tile without its halo); the whole raster blocks the sky.
    evergreen_top : numpy.ndarray, optional
        Canopy tops of the evergreen crowns only (a subset of ``canopy_top``), NaN
        elsewhere: adds :attr:`SkyView.opaque_evergreen`.

    Returns
    -------
    SkyView
        float32 arrays of the window's shape.
    """
    dsm = np.asarray(dsm, dtype=np.float64)
    if dsm.ndim != 2 or not np.isfinite(dsm).all():
        raise ValueError("dsm must be a finite 2-D array (fill gaps before computing the sky view)")
    if n_azimuths < 4:
        raise ValueError(f"n_azimuths must be at least 4, got {n_azimuths}")
    has_crowns = canopy_top is not None and bool(np.isfinite(canopy_top).any())
    if has_crowns:
        canopy_top = np.asarray(canopy_top, dtype=np.float64)
        if canopy_top.shape != dsm.shape:
            raise ValueError(f"canopy_top shape {canopy_top.shape} differs from dsm {dsm.shape}")
        crowns = np.where(np.isfinite(canopy_top), canopy_top, -np.inf)
    has_evergreen = has_crowns and evergreen_top is not None and bool(np.isfinite(evergreen_top).any())
    if has_evergreen:
        evergreen_top = np.asarray(evergreen_top, dtype=np.float64)
        if evergreen_top.shape != dsm.shape:
            raise ValueError(f"evergreen_top shape {evergreen_top.shape} differs from dsm {dsm.shape}")
        evergreen_crowns = np.where(np.isfinite(evergreen_top), evergreen_top, -np.inf)
    r0, r1, c0, c1 = window if window is not None else (0, dsm.shape[0], 0, dsm.shape[1])
    total_surface = np.zeros((r1 - r0, c1 - c0), np.float64)
    total_opaque = np.zeros((r1 - r0, c1 - c0), np.float64) if has_crowns else None
    total_evergreen = np.zeros((r1 - r0, c1 - c0), np.float64) if has_evergreen else None
    for azimuth in np.arange(n_azimuths) * (360.0 / n_azimuths):
        # only the ray lattice is used: no search distance, no sun line
        geometry = sweep_geometry(float(azimuth), 45.0, resolution, 0.0)
        surface = geometry.orient(dsm)
        layer = geometry.orient(crowns) if has_crowns else np.empty((1, 1))
        out_surface = np.empty(surface.shape, np.float64)
        out_opaque = np.empty(surface.shape, np.float64) if has_crowns else np.empty((1, 1))
        offsets = geometry.line_offsets(surface.shape[1])
        _horizon_sweep(surface, layer, has_crowns, offsets, geometry.step_m, out_surface, out_opaque)
        total_surface += geometry.restore(out_surface)[r0:r1, c0:c1]
        if has_crowns:
            total_opaque += geometry.restore(out_opaque)[r0:r1, c0:c1]
        if has_evergreen:
            _horizon_sweep(
                surface,
                geometry.orient(evergreen_crowns),
                True,
                offsets,
                geometry.step_m,
                out_surface,
                out_opaque,
            )
            total_evergreen += geometry.restore(out_opaque)[r0:r1, c0:c1]
    return SkyView(
        (total_surface / n_azimuths).astype(np.float32),
        None if total_opaque is None else (total_opaque / n_azimuths).astype(np.float32),
        None if total_evergreen is None else (total_evergreen / n_azimuths).astype(np.float32),
    )


# -- the same sky view from a shade caster's sector horizons ------------------------------
#: Fixed-point scale of :class:`HorizonSkyView`'s sums: integer sums do not depend on the
#: order the directions come in (the pass takes them in the order the sun needs them), and
#: 2^-40 (1e-12) is far below float32's resolution of the result.
_SKY_SCALE = float(2**40)


@numba.njit(cache=True, nogil=True, inline="always")
def _cos2_fixed(t):
    """``cos^2 h`` from ``tan h`` (1 for ``h <= 0``), in units of 1 / :data:`_SKY_SCALE`."""
    c = 1.0 / (1.0 + t * t) if t > 0.0 else 1.0
    return np.int64(c * 1099511627776.0 + 0.5)


@numba.njit(parallel=True, cache=True, nogil=True)
def _add_horizon_sky(
    surface,
    canopy,
    crown,
    has_canopy,
    evergreen,
    evergreen_crown,
    has_evergreen,
    total_surface,
    total_opaque,
    total_evergreen,
):
    """Add one direction's ``cos^2 h`` from ``tan h`` of the surface, the canopy and the
    evergreen crowns (as :func:`_steepest`): the crowns opaque take the steeper of the
    surface's and their horizon, and 0 under a crown."""
    n_rows, n_cols = surface.shape
    for r in numba.prange(n_rows):
        for c in range(n_cols):
            t = surface[r, c]
            total_surface[r, c] += _cos2_fixed(t)
            if has_canopy and not crown[r, c]:
                total_opaque[r, c] += _cos2_fixed(max(t, canopy[r, c]))
            if has_evergreen and not evergreen_crown[r, c]:
                total_evergreen[r, c] += _cos2_fixed(max(t, evergreen[r, c]))


class HorizonSkyView:
    """The sky view factor of a shade caster's window from its sector horizons.

    The same integral as :func:`sky_view_factor`, ``n_azimuths`` directions evenly from grid
    north, on the same ray lattice (:func:`pipeline.shade.sweep.lattice`), with each
    direction's horizon taken from :meth:`pipeline.shade.horizon.HorizonCaster.sector`
    instead of a sweep of its own: the shadow pass computes most of those sectors anyway
    (every sector the sun crosses), so only the directions it never faces (the north) cost a
    sector each. One difference, stated: the caster's horizon looks ``max_distance_m`` (the
    tile's halo, 200 m) ahead, where :func:`sky_view_factor` looks to the raster's edge
    (200 m and more); terrain and buildings beyond the halo are not on the raster of a tile
    cell near the halo anyway. ``n_azimuths`` directions must fall on sector boundaries
    (``360 / n_azimuths`` a multiple of ``sector_deg``).

    Call :meth:`take` with any sector index while it is cached (the pass's ``visit``), then
    :meth:`finish`: it computes the directions not yet taken and returns the :class:`SkyView`.
    The directions are summed in fixed point (:data:`_SKY_SCALE`), so the result does not
    depend on the order they were taken in (the shadow stage's pass and the thermal stage's
    own give the same bytes); it differs from a float64 sum by less than 1e-11.
    """

    def __init__(self, caster, n_azimuths: int = DEFAULT_AZIMUTHS):
        if n_azimuths < 4:
            raise ValueError(f"n_azimuths must be at least 4, got {n_azimuths}")
        per_direction = caster.n_sectors / n_azimuths
        if abs(per_direction - round(per_direction)) > 1e-9 or round(per_direction) < 1:
            raise ValueError(
                f"{n_azimuths} sky directions do not fall on the {caster.sector_deg} degree "
                "sectors of the horizons"
            )
        self.caster = caster
        self.n_azimuths = int(n_azimuths)
        self._pending = {k * int(round(per_direction)) for k in range(n_azimuths)}
        shape = caster.shape
        self._has_canopy = caster.canopy_top is not None
        self._has_evergreen = caster.evergreen_top is not None
        self._surface = np.zeros(shape, np.int64)
        self._opaque = np.zeros(shape if self._has_canopy else (1, 1), np.int64)
        self._evergreen = np.zeros(shape if self._has_evergreen else (1, 1), np.int64)

    @staticmethod
    def fits(caster, n_azimuths: int) -> bool:
        """Whether ``n_azimuths`` directions fall on ``caster``'s sector boundaries."""
        per_direction = getattr(caster, "n_sectors", 0) / n_azimuths
        return per_direction >= 1 and abs(per_direction - round(per_direction)) < 1e-9

    def take(self, index: int) -> None:
        """Add the direction of sector ``index`` if it is one of the sky's and not yet added."""
        index %= self.caster.n_sectors
        if index not in self._pending:
            return
        self._pending.discard(index)
        surface, canopy, evergreen = self.caster.sector(index)
        _add_horizon_sky(
            surface,
            canopy,
            self.caster.crown,
            self._has_canopy,
            evergreen,
            self.caster.evergreen_crown,
            self._has_evergreen,
            self._surface,
            self._opaque,
            self._evergreen,
        )

    def finish(self) -> SkyView:
        """The sky view, after adding the directions not taken yet (in azimuth order)."""
        for index in sorted(self._pending):
            self.take(index)
        scale = _SKY_SCALE * self.n_azimuths
        return SkyView(
            (self._surface / scale).astype(np.float32),
            (self._opaque / scale).astype(np.float32) if self._has_canopy else None,
            (self._evergreen / scale).astype(np.float32) if self._has_evergreen else None,
        )
