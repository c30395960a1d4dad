"""The exact shade model: rays on a lattice of digital lines, swept with a running maximum.

A cell of the DSM (metres, orthometric, on a north-up :class:`~pipeline.geo.raster.Grid`) is
in shade when something rises above the sun line drawn from its own surface height
toward the sun: roofs count as well as the ground.

Rays are sampled on a lattice of parallel digital lines (:class:`SweepGeometry`). The
raster is first turned (flip/transpose, no resampling) so that the sun lies toward
increasing columns with at most one row of drift per column (``|slope| <= 1``). Line
``m`` holds, in each column ``c``, the cell of row ``m + off[c]`` with
``off[c] = floor(0.5 + c * slope)``; the lines partition the raster, and each is a
straight line crossing every cell it holds. The ray from a cell follows its own line
toward the sun: step ``k`` is the cell of the same line ``k`` columns on, ``k * L``
metres away horizontally (``L = resolution * sqrt(1 + slope**2)``), where the sun line
has risen ``drop[k] = k * (L * tan(altitude))`` (float64, as in :func:`sweep_geometry`).
Then

    shaded(p)  <=>  exists k in 1..K:  h[line, c + k] - drop[k] > h[line, c]

evaluated in float64, cells past the raster edge never blocking. Shearing the lines
into the rows of an array makes this exactly the Ratti & Richens (2004)
shift-and-compare method (shift by ``k`` columns, lower by ``drop[k]``, compare),
written out in numpy as :func:`ratti_shade_codes`: the specification, the test oracle
and the benchmark baseline, at ``K`` full-raster passes per sun position.

:func:`shade_codes` gives the *identical* answer in one pass: along each line
``max_k (h[c+k] - drop[k]) = max_{c'} (h[c'] - c' dz) + c dz`` is a sliding-window
maximum (monotone deque, window ``K``), so the cost no longer grows with the shadow
length. Rounding makes that sum differ from the reference expression by far less than
``tol`` (1e-9 of the largest magnitude involved); a cell whose window maximum lies within
``tol`` of its height is re-decided by the reference expression itself, step by step,
so the boolean masks agree bit for bit (tests and ``benchmarks/shadow.py`` check it).
With a ``window`` (the tile inside its halo) only the lines crossing the window are
swept, each from ``K`` cells beyond the window: the halo casts shadows but is not
itself shaded, so it costs ``K`` cells per line instead of its whole area.

Cells past the edge never block, so the raster must carry a halo at least as wide as
the longest shadow that matters (:func:`pipeline.shade.shadow.shadow_halo_m`). The
search is cut at ``max_distance_m`` (default 500 m: a 100 m tower at 11 degrees of sun)
and at ``relief / tan(altitude)`` (beyond that nothing can rise above the sun line).

Trees
-----
Vegetation is a separate canopy-top raster (metres, same datum, NaN where none). A cell
whose ray, from step 0 on (the crown over the cell itself), passes below the canopy top
of any canopy cell, and that the DSM does not shade, is in canopy shade
(:data:`CANOPY_SHADE`); how much sun passes is the caller's transmissivity. An optional
second raster, ``evergreen_top``, holds the canopy tops of evergreen crowns only (a
subset of ``canopy_top``): a cell whose ray passes below an evergreen crown is in
:data:`EVERGREEN_SHADE` instead, because an evergreen crown keeps its leaves all year and
passes the least sun of any crown on the ray (crowns along a ray are not multiplied, see
:mod:`pipeline.shade.shadow`). Without it the codes are exactly those of before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

#: shade codes per cell and sun position: sunlit, under a deciduous (or unknown-habit)
#: crown, in the shadow of the DSM, under an evergreen crown
SUNLIT, CANOPY_SHADE, SURFACE_SHADE, EVERGREEN_SHADE = 0, 1, 2, 3

DEFAULT_MAX_DISTANCE_M = 500.0

#: (row0, row1, col0, col1): a rectangle of cells, rows and columns half-open
Window = tuple[int, int, int, int]


@dataclass(frozen=True)
class SweepGeometry:
    """How rays toward the sun are sampled for one sun azimuth (see module doc).

    Attributes
    ----------
    transpose, flip : bool
        Orient the raster as ``a = dsm.T if transpose``, then ``a = a[:, ::-1] if flip``,
        so that the sun lies toward increasing columns.
    slope : float
        Rows of drift per column step in the oriented raster, ``|slope| <= 1``.
    step_m : float
        Horizontal length of one step, metres.
    drop_m : numpy.ndarray of float64
        ``drop_m[k - 1]``: rise of the sun line after ``k`` steps, metres, ``k = 1..K``.
    """

    transpose: bool
    flip: bool
    slope: float
    step_m: float
    drop_m: np.ndarray

    def orient(self, array: np.ndarray) -> np.ndarray:
        """``array`` turned so that the sun lies toward increasing columns."""
        a = array.T if self.transpose else array
        return np.ascontiguousarray(a[:, ::-1] if self.flip else a)

    def restore(self, array: np.ndarray) -> np.ndarray:
        """Undo :meth:`orient`."""
        a = array[:, ::-1] if self.flip else array
        return np.ascontiguousarray(a.T if self.transpose else a)

    def orient_window(self, window: Window, shape: tuple[int, int]) -> Window:
        """``window`` of a raster of ``shape`` in the frame of :meth:`orient`."""
        r0, r1, c0, c1 = window
        if self.transpose:
            r0, r1, c0, c1 = c0, c1, r0, r1
        width = shape[0] if self.transpose else shape[1]
        if self.flip:
            c0, c1 = width - c1, width - c0
        return r0, r1, c0, c1

    def line_offsets(self, width: int) -> np.ndarray:
        """``off[c] = floor(0.5 + c * slope)``: row of line 0 in column ``c``."""
        return np.floor(0.5 + np.arange(width, dtype=np.float64) * self.slope).astype(np.int64)


def lattice(sun_azimuth_grid_deg: float, resolution: float) -> tuple[bool, bool, float, float]:
    """``(transpose, flip, slope, step_m)`` of the ray lattice toward an azimuth (grid north, degrees)."""
    toward_col = math.sin(math.radians(sun_azimuth_grid_deg))  # east
    toward_row = -math.cos(math.radians(sun_azimuth_grid_deg))  # rows grow southward
    transpose = abs(toward_row) > abs(toward_col)
    major, minor = (toward_row, toward_col) if transpose else (toward_col, toward_row)
    slope = minor / abs(major)
    return transpose, major < 0, slope, resolution * math.hypot(1.0, slope)


def sweep_geometry(
    sun_azimuth_grid_deg: float, sun_altitude_deg: float, resolution: float, max_distance_m: float
) -> SweepGeometry:
    """The ray sampling shared by :func:`shade_codes` and :func:`ratti_shade_codes`.

    Parameters
    ----------
    sun_azimuth_grid_deg : float
        Sun azimuth, degrees clockwise from *grid* north.
    sun_altitude_deg : float
        Sun altitude, degrees; must be positive.
    resolution : float
        Cell size, metres.
    max_distance_m : float
        Horizontal search distance, metres.
    """
    if not sun_altitude_deg > 0:
        raise ValueError(f"sun altitude must be positive to cast shadows, got {sun_altitude_deg}")
    transpose, flip, slope, step_m = lattice(sun_azimuth_grid_deg, resolution)
    n_steps = int(math.floor(max_distance_m / step_m + 1e-9))
    k = np.arange(1, n_steps + 1, dtype=np.float64)
    drop_m = k * (step_m * math.tan(math.radians(sun_altitude_deg)))
    return SweepGeometry(transpose, flip, slope, step_m, drop_m)


def check_evergreen(evergreen_top: np.ndarray | None, canopy_top: np.ndarray | None) -> np.ndarray | None:
    """``evergreen_top`` as float64, checked against ``canopy_top``; None when it holds no tree.

    Evergreen crowns are a subset of the canopy: every finite evergreen cell must be a
    canopy cell of the same height.
    """
    if evergreen_top is None:
        return None
    evergreen_top = np.asarray(evergreen_top, dtype=np.float64)
    if not np.isfinite(evergreen_top).any():
        return None
    if canopy_top is None or evergreen_top.shape != canopy_top.shape:
        raise ValueError(
            "evergreen_top needs a canopy_top of the same shape (evergreen crowns are part of the canopy)"
        )
    trees = np.isfinite(evergreen_top)
    if not np.array_equal(evergreen_top[trees], canopy_top[trees]):
        raise ValueError(
            "evergreen_top differs from canopy_top where it holds a crown: evergreen "
            "crowns must be canopy cells of the same height"
        )
    return evergreen_top


def check_surface(dsm: np.ndarray, canopy_top: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """``dsm`` and ``canopy_top`` as float64, checked; ``canopy_top`` None when it holds no tree."""
    dsm = np.asarray(dsm, dtype=np.float64)
    if dsm.ndim != 2:
        raise ValueError(f"dsm must be 2-D, got shape {dsm.shape}")
    if not np.isfinite(dsm).all():
        raise ValueError("dsm has NaN/inf cells: fill gaps (e.g. with the DTM) before casting shadows")
    if canopy_top is not None:
        canopy_top = np.asarray(canopy_top, dtype=np.float64)
        if canopy_top.shape != dsm.shape:
            raise ValueError(f"canopy_top shape {canopy_top.shape} differs from dsm {dsm.shape}")
        if not np.isfinite(canopy_top).any():
            canopy_top = None
    return dsm, canopy_top


def check_window(window: Window | None, shape: tuple[int, int]) -> Window:
    """``window`` checked against ``shape``; None means the whole raster."""
    if window is None:
        return 0, shape[0], 0, shape[1]
    r0, r1, c0, c1 = (int(v) for v in window)
    if not (0 <= r0 < r1 <= shape[0] and 0 <= c0 < c1 <= shape[1]):
        raise ValueError(f"window {window} is not a non-empty part of a raster of shape {shape}")
    return r0, r1, c0, c1


def relief_m(dsm: np.ndarray, canopy_top: np.ndarray | None, window: Window) -> float:
    """Highest surface or canopy top above the lowest cell of ``window``, metres."""
    r0, r1, c0, c1 = window
    top = float(dsm.max())
    if canopy_top is not None:
        top = max(top, float(np.nanmax(canopy_top)))
    return max(top - float(dsm[r0:r1, c0:c1].min()), 0.0)


def window_lines(off: np.ndarray, window: Window) -> tuple[int, int]:
    """First and last line (inclusive) holding a cell of the oriented ``window``."""
    r0, r1, c0, c1 = window
    return r0 - int(off[c0:c1].max()), r1 - 1 - int(off[c0:c1].min())


def search_geometry(
    dsm: np.ndarray,
    resolution: float,
    sun_azimuth_grid_deg: float,
    sun_altitude_deg: float,
    *,
    canopy_top: np.ndarray | None = None,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    window: Window | None = None,
) -> SweepGeometry:
    """The :func:`sweep_geometry` that :func:`shade_codes` uses for this surface and sun.

    The search distance is ``min(max_distance_m, relief / tan(altitude))``, the relief
    running from the lowest cell of the window to the highest surface or canopy top.
    """
    caster = ShadeCaster(dsm, resolution, canopy_top=canopy_top, max_distance_m=max_distance_m, window=window)
    return caster.geometry(sun_azimuth_grid_deg, sun_altitude_deg)


def ratti_shade_codes(
    dsm: np.ndarray,
    geometry: SweepGeometry,
    canopy_top: np.ndarray | None = None,
    evergreen_top: np.ndarray | None = None,
) -> np.ndarray:
    """Reference shade codes by the plain Ratti shift-and-compare loop (numpy).

    The rays' lines are sheared into the rows of an array (cells off the raster are
    -inf, never blocking), then for each step ``k`` the whole array is shifted by ``k``
    columns, lowered by ``drop[k]`` and compared. Slow (``K`` full passes) but
    obviously right: the specification of :func:`shade_codes`.

    Returns
    -------
    numpy.ndarray of uint8, shape of ``dsm``
        :data:`SUNLIT`, :data:`CANOPY_SHADE`, :data:`SURFACE_SHADE` or
        :data:`EVERGREEN_SHADE` per cell.
    """
    dsm, canopy_top = check_surface(dsm, canopy_top)
    evergreen_top = check_evergreen(evergreen_top, canopy_top)
    a = geometry.orient(dsm)
    n_rows, width = a.shape
    off = geometry.line_offsets(width)
    line = np.arange(n_rows)[:, None] - off[None, :] + off.max()  # sheared row of each cell
    col = np.broadcast_to(np.arange(width), a.shape)
    n_lines = n_rows + off.max() - off.min()
    sheared = np.full((n_lines, width), -np.inf)
    sheared[line, col] = a
    shaded = np.zeros(sheared.shape, dtype=bool)
    under_canopy = np.zeros(sheared.shape, dtype=bool)
    under_evergreen = np.zeros(sheared.shape, dtype=bool)
    if canopy_top is not None:
        canopy = np.full((n_lines, width), np.nan)
        canopy[line, col] = geometry.orient(canopy_top)
        under_canopy |= canopy > sheared
    if evergreen_top is not None:
        evergreen = np.full((n_lines, width), np.nan)
        evergreen[line, col] = geometry.orient(evergreen_top)
        under_evergreen |= evergreen > sheared
    for k, drop in enumerate(geometry.drop_m, start=1):
        if k >= width:
            break
        shaded[:, :-k] |= (sheared[:, k:] - drop) > sheared[:, :-k]
        if canopy_top is not None:
            under_canopy[:, :-k] |= (canopy[:, k:] - drop) > sheared[:, :-k]
        if evergreen_top is not None:
            under_evergreen[:, :-k] |= (evergreen[:, k:] - drop) > sheared[:, :-k]
    codes = np.where(
        shaded,
        SURFACE_SHADE,
        np.where(under_evergreen, EVERGREEN_SHADE, np.where(under_canopy, CANOPY_SHADE, SUNLIT)),
    )
    return geometry.restore(codes[line, col].astype(np.uint8))


@numba.njit(cache=True, nogil=True)
def _blocked_exact(a, z, m, c, off, drop):
    """The reference test for one cell, step by step (used only within ``tol`` of a tie)."""
    n_rows, width = a.shape
    for k in range(1, drop.size + 1):
        cc = c + k
        if cc >= width:
            return False
        rr = m + off[cc]
        if rr < 0 or rr >= n_rows:
            return False
        if a[rr, cc] - drop[k - 1] > z:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _rises_above(layer, vals, head, tail, c, dz, z, tol, m, off, drop):
    """Whether ``layer`` rises above the sun line from height ``z`` at column ``c``.

    ``vals[head]`` is the running maximum of the layer ahead along the ray (minus the
    sun line's rise); a near tie is settled by the exact step-by-step test.
    """
    if tail <= head:
        return False
    highest = vals[head] + c * dz
    if highest > z + tol:
        return True
    return highest >= z - tol and _blocked_exact(layer, z, m, c, off, drop)


@numba.njit(cache=True, nogil=True)
def _push(deque_col, deque_val, head, tail, col, value):
    while tail > head and deque_val[tail - 1] <= value:
        tail -= 1
    deque_col[tail] = col
    deque_val[tail] = value
    return tail + 1


@numba.njit(parallel=True, cache=True, nogil=True)
def _sweep(a, canopy, has_canopy, evergreen, has_evergreen, off, drop, tol, window, out):
    """Shade codes of the oriented ``window`` cells into ``out`` (same shape as ``a``)."""
    n_rows, width = a.shape
    n_steps = drop.size
    dz = drop[0] if n_steps > 0 else 0.0
    w_r0, w_r1, w_c0, w_c1 = window[0], window[1], window[2], window[3]
    first_col = min(width - 1, w_c1 - 1 + n_steps)
    lo = w_r0 - off[w_c0:w_c1].max()
    n_lines = w_r1 - off[w_c0:w_c1].min() - lo
    for li in numba.prange(n_lines):
        m = lo + li
        cols = np.empty(width, np.int64)
        vals = np.empty(width, np.float64)
        ccols = np.empty(width, np.int64)
        cvals = np.empty(width, np.float64)
        ecols = np.empty(width if has_evergreen else 1, np.int64)
        evals = np.empty(width if has_evergreen else 1, np.float64)
        head = tail = chead = ctail = ehead = etail = 0
        entered = False
        for c in range(first_col, w_c0 - 1, -1):
            r = m + off[c]
            if r < 0 or r >= n_rows:
                if entered:
                    break  # a line's cells are contiguous: it has left the raster for good
                continue
            entered = True
            if n_steps == 0:
                if w_r0 <= r < w_r1 and c < w_c1:
                    code = 1 if has_canopy and canopy[r, c] > a[r, c] else 0
                    if has_evergreen and evergreen[r, c] > a[r, c]:
                        code = 3
                    out[r, c] = code
                continue
            nxt = c + 1
            if nxt < width and 0 <= m + off[nxt] < n_rows:
                rn = m + off[nxt]
                tail = _push(cols, vals, head, tail, nxt, a[rn, nxt] - nxt * dz)
                if has_canopy and not np.isnan(canopy[rn, nxt]):
                    ctail = _push(ccols, cvals, chead, ctail, nxt, canopy[rn, nxt] - nxt * dz)
                if has_evergreen and not np.isnan(evergreen[rn, nxt]):
                    etail = _push(ecols, evals, ehead, etail, nxt, evergreen[rn, nxt] - nxt * dz)
            while tail > head and cols[head] > c + n_steps:
                head += 1
            while ctail > chead and ccols[chead] > c + n_steps:
                chead += 1
            while etail > ehead and ecols[ehead] > c + n_steps:
                ehead += 1
            if not (w_r0 <= r < w_r1 and c < w_c1):
                continue
            z = a[r, c]
            code = 0
            if _rises_above(a, vals, head, tail, c, dz, z, tol, m, off, drop):
                code = 2
            elif has_evergreen and (
                evergreen[r, c] > z
                or _rises_above(evergreen, evals, ehead, etail, c, dz, z, tol, m, off, drop)
            ):
                code = 3
            elif has_canopy and (
                canopy[r, c] > z or _rises_above(canopy, cvals, chead, ctail, c, dz, z, tol, m, off, drop)
            ):
                code = 1
            out[r, c] = code


class ShadeCaster:
    """A surface prepared for casting shadows at many sun positions.

    Checks the rasters once and keeps the four turned copies (see
    :meth:`SweepGeometry.orient`) so that each sun position costs one sweep of the
    lines crossing the window. Arguments as in :func:`shade_codes`.
    """

    def __init__(
        self,
        dsm: np.ndarray,
        resolution: float,
        *,
        canopy_top: np.ndarray | None = None,
        max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
        window: Window | None = None,
        evergreen_top: np.ndarray | None = None,
    ):
        self.dsm, self.canopy_top = check_surface(dsm, canopy_top)
        self.evergreen_top = check_evergreen(evergreen_top, self.canopy_top)
        self.resolution = float(resolution)
        self.max_distance_m = float(max_distance_m)
        self.window = check_window(window, self.dsm.shape)
        self.relief_m = relief_m(self.dsm, self.canopy_top, self.window)
        magnitude = float(np.abs(self.dsm).max())
        if self.canopy_top is not None:
            magnitude = max(magnitude, float(np.nanmax(np.abs(self.canopy_top))))
        self._magnitude = magnitude
        self._turned: dict[tuple[bool, bool], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def geometry(self, sun_azimuth_grid_deg: float, sun_altitude_deg: float) -> SweepGeometry:
        """The ray sampling for this sun (search cut at the relief, see :func:`search_geometry`)."""
        distance = min(self.max_distance_m, self.relief_m / math.tan(math.radians(sun_altitude_deg)))
        return sweep_geometry(sun_azimuth_grid_deg, sun_altitude_deg, self.resolution, distance)

    def _oriented(self, geometry: SweepGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = (geometry.transpose, geometry.flip)
        if key not in self._turned:
            canopy = geometry.orient(self.canopy_top) if self.canopy_top is not None else np.empty((1, 1))
            evergreen = (
                geometry.orient(self.evergreen_top) if self.evergreen_top is not None else np.empty((1, 1))
            )
            self._turned[key] = (geometry.orient(self.dsm), canopy, evergreen)
        return self._turned[key]

    def codes(self, sun_azimuth_grid_deg: float, sun_altitude_deg: float) -> np.ndarray:
        """Shade codes over the window for one sun position (see :func:`shade_codes`)."""
        r0, r1, c0, c1 = self.window
        if not sun_altitude_deg > 0:
            return np.full((r1 - r0, c1 - c0), SURFACE_SHADE, dtype=np.uint8)
        geometry = self.geometry(sun_azimuth_grid_deg, sun_altitude_deg)
        a, canopy, evergreen = self._oriented(geometry)
        width = a.shape[1]
        dz = float(geometry.drop_m[0]) if len(geometry.drop_m) else 0.0
        tol = 1e-9 * (1.0 + self._magnitude + dz * width)
        out = np.zeros(a.shape, dtype=np.uint8)
        window = np.array(geometry.orient_window(self.window, self.dsm.shape), dtype=np.int64)
        _sweep(
            a,
            canopy,
            self.canopy_top is not None,
            evergreen,
            self.evergreen_top is not None,
            geometry.line_offsets(width),
            geometry.drop_m,
            tol,
            window,
            out,
        )
        return geometry.restore(out)[r0:r1, c0:c1]


def shade_codes(
    dsm: np.ndarray,
    resolution: float,
    sun_azimuth_grid_deg: float,
    sun_altitude_deg: float,
    *,
    canopy_top: np.ndarray | None = None,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    window: Window | None = None,
    evergreen_top: np.ndarray | None = None,
) -> np.ndarray:
    """Shade of every cell for one sun position (fast; identical to :func:`ratti_shade_codes`).

    Parameters
    ----------
    dsm : numpy.ndarray
        Surface heights (buildings + terrain), metres, 2-D, finite, with a halo.
    resolution : float
        Cell size, metres.
    sun_azimuth_grid_deg, sun_altitude_deg : float
        Sun position, degrees; azimuth clockwise from grid north.
    canopy_top : numpy.ndarray, optional
        Canopy-top heights, metres, NaN where there is no vegetation.
    max_distance_m : float
        Longest horizontal search, metres.
    window : (row0, row1, col0, col1), optional
        Return only these cells (e.g. the tile without its halo); the whole raster
        still casts shadows into them.
    evergreen_top : numpy.ndarray, optional
        Canopy tops of the evergreen crowns only (a subset of ``canopy_top``), NaN
        elsewhere.

    Returns
    -------
    numpy.ndarray of uint8, shape of the window
        :data:`SUNLIT`, :data:`CANOPY_SHADE`, :data:`SURFACE_SHADE` or
        :data:`EVERGREEN_SHADE`; all :data:`SURFACE_SHADE` when the sun is not above
        the horizon.

    For many sun positions on one surface use :class:`ShadeCaster` directly.
    """
    caster = ShadeCaster(
        dsm,
        resolution,
        canopy_top=canopy_top,
        max_distance_m=max_distance_m,
        window=window,
        evergreen_top=evergreen_top,
    )
    return caster.codes(sun_azimuth_grid_deg, sun_altitude_deg)
