"""Shade from horizon angles: one pass per azimuth sector, one comparison per cell and sun position.

The exact sweep (:mod:`pipeline.shade.sweep`) decides one sun position per pass over the
raster. A tile's few hundred sun positions lie on a few hundred azimuths, and along one
azimuth everything that decides the shade of a cell is a single number: its *horizon*,
the steepest rise from the cell's surface height to anything ahead of it toward the sun,

    tan H(c) = max_{k = 1..K} (h[c + k] - h[c]) / (k * L)

on the same ray lattice as the sweep (line ``m``, step ``k``, ``L`` metres a step, ``K``
steps up to ``max_distance_m``). The cell is in shade exactly when
``tan(altitude) < tan H(c)``. So horizons are computed once per *sector boundary*
(azimuths ``j * sector_deg``, grid north) and a sun position between two boundaries is
decided by interpolating ``tan H`` linearly in azimuth between them: one
multiply-add and one comparison per cell.

Per line, ``tan H`` is a tangent query on the upper convex hull of the points ahead,
cut at ``K`` steps: the line is split into blocks of ``K`` cells; the window of a cell
is a suffix of its own block (a hull built leftward, point by point) and a prefix of
the next block (a hull built rightward once per block, then rolled back point by point
as the window's end moves left). Each query is a binary search on a hull, so a line of
``n`` cells costs ``O(n log K)`` whatever the shadow length.

Canopy (tree crowns, transmissive) gets its own horizon: the steepest rise from the
cell's *surface* height to a canopy top ahead; a crown over the cell itself shades it
at every sun position. Surface shade wins over canopy shade, as in the sweep. Evergreen
crowns (``evergreen_top``, a subset of the canopy) get a third horizon of their own,
and evergreen shade wins over the other crowns' (:data:`EVERGREEN_SHADE`, see
:mod:`pipeline.shade.sweep`).

Agreement with the exact sweep is measured, not assumed (``tests/pipeline/shade/test_horizon.py``,
``benchmarks/shadow.py``): cells disagree only along shadow edges, where the
interpolated lattice crosses a cell differently from the exact one.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

import numba
import numpy as np

from pipeline.shade.sweep import (
    CANOPY_SHADE,
    DEFAULT_MAX_DISTANCE_M,
    EVERGREEN_SHADE,
    SUNLIT,
    SURFACE_SHADE,
    SweepGeometry,
    Window,
    check_evergreen,
    check_surface,
    check_window,
    lattice,
    window_lines,
)

#: Azimuth step between horizons, degrees. Agreement with the exact sweep hardly depends
#: on it up to 2 degrees (the sweep's own lattice changes as much within 0.05 degrees of
#: azimuth); the cost is one hull pass per sector (``benchmarks/shadow.py``).
DEFAULT_SECTOR_DEG = 2.0
#: ``tan H`` of a cell with nothing ahead of it (finite, so interpolation stays finite).
NO_HORIZON = -1e30
#: Lines handed to one parallel work item (buffers are allocated once per item).
_LINES_PER_ITEM = 64


# -- hulls ---------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True, inline="always")
def _above(qx, qz, ax, az, bx, bz):
    """``> 0`` when ``b`` lies above the line from ``q`` through ``a`` (``q`` left of ``a``)."""
    return (ax - qx) * (bz - qz) - (az - qz) * (bx - qx)


@numba.njit(cache=True, nogil=True)
def _steepest(qx, qz, hull, hull_z, n, leftward):
    """Steepest slope from ``(qx, qz)`` to an upper hull left of nothing it holds.

    ``hull[:n]`` holds point indices (x), ``hull_z[:n]`` their heights (z), left to right
    (``leftward`` False) or right to left (True). The slope to the hull's vertices
    rises then falls, so the top is found by bisection. -inf for an empty hull.
    """
    if n == 0:
        return -np.inf
    lo, hi = 0, n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        a = n - 1 - mid if leftward else mid
        b = n - 2 - mid if leftward else mid + 1
        if _above(qx, qz, hull[a], hull_z[a], hull[b], hull_z[b]) > 0:
            lo = mid + 1
        else:
            hi = mid
    v = n - 1 - lo if leftward else lo
    return (hull_z[v] - qz) / (hull[v] - qx)


@numba.njit(cache=True, nogil=True, inline="always")
def _push_left(hull, hull_z, n, j, zj):
    """Add point ``(j, zj)``, left of every point of the hull ``hull[:n]`` (kept right to left)."""
    while n >= 2 and _above(j, zj, hull[n - 1], hull_z[n - 1], hull[n - 2], hull_z[n - 2]) >= 0:
        n -= 1  # hull[n - 1] is not strictly above the line from j to hull[n - 2]
    hull[n] = j
    hull_z[n] = zj
    return n + 1


@numba.njit(cache=True, nogil=True)
def _line_horizon(values, heights, same, n_query, k_max, out, hull_a, hull_b, log, top, hull_z):
    """``out[i] = max_{i < j <= i + k_max} (values[j] - heights[i]) / (j - i)`` for ``i < n_query``.

    ``values`` are the line's blocking heights (NaN: nothing there), ``heights`` the
    query heights, both indexed by step along the line (``same``: they are the same
    array, the surface's own horizon). -inf where nothing is ahead.
    ``hull_a``, ``hull_b`` (int64), ``log`` (int64, ``(n, 4)``), ``top`` (float64) and
    ``hull_z`` (float64, ``(3, n)``: heights of the two hulls' points and of the undo
    log), ``n >= k_max + 1``, are work buffers.
    """
    size = values.size
    z_a, z_b, log_z = hull_z[0], hull_z[1], hull_z[2]
    n_a = n_b = n_log = 0
    start = size
    boundary = size - 1  # the next i that enters a block from the right
    for i in range(size - 1, -1, -1):
        if i == boundary:
            # entering block i // k_max from the right: an empty suffix hull, and the
            # prefix hull of the next block built rightward with an undo log (and the
            # running maximum of its values, to skip queries it cannot win)
            n_a = 0
            n_b = n_log = 0
            start = (i // k_max + 1) * k_max
            boundary = start - k_max - 1
            highest = -np.inf
            for j in range(start, min(start + k_max, size)):
                zj = values[j]
                if zj > highest:  # NaN never raises the maximum
                    highest = zj
                top[j - start] = highest
                if np.isnan(zj):
                    continue
                old = n_b
                while (
                    n_b >= 2
                    and _above(hull_b[n_b - 2], z_b[n_b - 2], hull_b[n_b - 1], z_b[n_b - 1], j, zj) >= 0
                ):
                    n_b -= 1
                log[n_log, 0] = j
                log[n_log, 1] = old
                log[n_log, 2] = n_b
                log[n_log, 3] = hull_b[n_b]
                log_z[n_log] = z_b[n_b]
                n_log += 1
                hull_b[n_b] = j
                z_b[n_b] = zj
                n_b += 1
        # the window (i, i + k_max] has lost the points beyond i + k_max: roll back
        while n_log > 0 and log[n_log - 1, 0] > i + k_max:
            n_log -= 1
            k = log[n_log, 2]
            hull_b[k] = log[n_log, 3]
            z_b[k] = log_z[n_log]
            n_b = log[n_log, 1]
        z = heights[i]
        if same:
            # the query point joins the suffix hull: its neighbour there is the tangent
            n_a = _push_left(hull_a, z_a, n_a, i, z)
            if i >= n_query:
                continue
            best = (z_a[n_a - 2] - z) / (hull_a[n_a - 2] - i) if n_a >= 2 else -np.inf
        else:
            if i < n_query:
                best = _steepest(i, z, hull_a, z_a, n_a, True)
            if not np.isnan(values[i]):
                n_a = _push_left(hull_a, z_a, n_a, i, values[i])
            if i >= n_query:
                continue
        if n_b > 0:
            # no point of the next block rises above its running maximum
            end = min(i + k_max, size - 1) - start
            rise = top[end] - z
            if rise / ((start - i) if rise >= 0 else (end + start - i)) > best:
                best = max(best, _steepest(i, z, hull_b, z_b, n_b, False))
        out[i] = best


@numba.njit(parallel=True, cache=True, nogil=True)
def _sector_horizons(
    a,
    canopy,
    has_canopy,
    tree_span,
    off,
    k_max,
    step_m,
    window,
    lines,
    transpose,
    flip,
    window_origin,
    out_surface,
    out_canopy,
    surface_wanted=True,
):
    """``tan H`` of every oriented-``window`` cell, written into the un-oriented outputs.

    ``a``/``canopy`` are the oriented rasters, ``lines`` the first and last line
    crossing the window; outputs are window-shaped, in the raster's own orientation.
    ``tree_span[li]`` holds the first and last column of a canopy cell on line
    ``lines[0] + li`` (-1, -1 for none): only that stretch of a line, and the ``k_max``
    steps before it, is read for the canopy horizon and written into ``out_canopy``,
    which the caller fills with :data:`NO_HORIZON` beforehand. With ``surface_wanted``
    False only the canopy horizon is computed (``out_surface`` is left as it was).
    """
    n_rows, width = a.shape
    w_r0, w_r1, w_c0, w_c1 = window[0], window[1], window[2], window[3]
    rising = off[-1] >= off[0]
    falling = -off  # sorted when the lines fall
    first_line = lines[0]
    n_lines = lines[1] - lines[0] + 1
    n_items = (n_lines + _LINES_PER_ITEM - 1) // _LINES_PER_ITEM
    span = w_c1 - w_c0 + k_max + 1
    for item in numba.prange(n_items):
        values = np.empty(span, np.float64)
        canopy_values = np.empty(span, np.float64)
        tan_h = np.empty(span, np.float64)
        hull_a = np.empty(k_max + 2, np.int64)
        hull_b = np.empty(k_max + 2, np.int64)
        log = np.empty((k_max + 2, 4), np.int64)
        top = np.empty(k_max + 2, np.float64)
        hull_z = np.empty((3, k_max + 2), np.float64)
        for li in range(item * _LINES_PER_ITEM, min(n_lines, (item + 1) * _LINES_PER_ITEM)):
            m = first_line + li
            # the line's cells inside the window: rows move monotonically along the line
            if rising:
                q_lo = w_c0 + np.searchsorted(off[w_c0:w_c1], w_r0 - m)
                q_hi = w_c0 + np.searchsorted(off[w_c0:w_c1], w_r1 - m) - 1
            else:
                q_lo = w_c0 + np.searchsorted(falling[w_c0:w_c1], m - w_r1 + 1)
                q_hi = w_c0 + np.searchsorted(falling[w_c0:w_c1], m - w_r0 + 1) - 1
            if q_lo > q_hi:
                continue
            n = 0
            for c in range(q_lo, min(width, q_hi + k_max + 1)):
                r = m + off[c]
                if r < 0 or r >= n_rows:
                    break
                values[n] = a[r, c]
                n += 1
            n_query = q_hi - q_lo + 1
            if surface_wanted:
                if k_max > 0:
                    _line_horizon(
                        values[:n], values[:n], True, n_query, k_max, tan_h, hull_a, hull_b, log, top, hull_z
                    )
                else:
                    tan_h[:n_query] = -np.inf
                _scatter(
                    tan_h, n_query, m, q_lo, off, width, transpose, flip, step_m, window_origin, out_surface
                )
            if not has_canopy or k_max == 0:
                continue
            # the line's canopy cells ahead of its first window cell and within reach
            s0 = max(tree_span[li, 0], q_lo) - q_lo
            s1 = min(tree_span[li, 1], q_lo + n - 1) - q_lo
            if tree_span[li, 0] < 0 or s0 > s1:
                continue
            first_tree, last_tree = -1, -1
            for i in range(s0, s1 + 1):
                c = q_lo + i
                canopy_values[i] = canopy[m + off[c], c]
                if not np.isnan(canopy_values[i]):
                    if first_tree < 0:
                        first_tree = i
                    last_tree = i
            # only cells up to k_max before the line's last tree can see a tree ahead
            lo = max(0, first_tree - k_max)
            if last_tree > 0 and lo < n_query:
                canopy_values[lo:first_tree] = np.nan
                n_tree_query = min(n_query, last_tree) - lo
                _line_horizon(
                    canopy_values[lo : last_tree + 1],
                    values[lo : last_tree + 1],
                    False,
                    n_tree_query,
                    k_max,
                    tan_h[lo:],
                    hull_a,
                    hull_b,
                    log,
                    top,
                    hull_z,
                )
                _scatter(
                    tan_h[lo:],
                    n_tree_query,
                    m,
                    q_lo + lo,
                    off,
                    width,
                    transpose,
                    flip,
                    step_m,
                    window_origin,
                    out_canopy,
                )


@numba.njit(cache=True, nogil=True)
def _scatter(tan_h, n_query, m, q_lo, off, width, transpose, flip, step_m, window_origin, out):
    """Write a line's ``tan H`` (per step, divided by the step length) into the window raster."""
    for i in range(n_query):
        c = q_lo + i
        r = m + off[c]
        cu = width - 1 - c if flip else c
        row, col = (cu, r) if transpose else (r, cu)
        t = tan_h[i] / step_m
        out[row - window_origin[0], col - window_origin[1]] = t if t > NO_HORIZON else NO_HORIZON


# -- shade from horizons -------------------------------------------------------------
@numba.njit(parallel=True, cache=True, nogil=True)
def _accumulate_light(
    h0,
    h1,
    c0,
    c1,
    crown,
    has_canopy,
    e0,
    e1,
    evergreen_crown,
    has_evergreen,
    blend,
    tan_altitude,
    transmissivity,
    evergreen_transmissivity,
    start,
    target,
    weight,
    is_sun,
    acc,
    cover_on,
    cover_off,
    has_cover,
    leaf_off,
):
    """Add every position's light to its targets: ``acc[target] += weight * light`` (sun)
    or ``weight * (1 - light)`` (shade), light 0 / ``transmissivity`` (deciduous crown) /
    ``evergreen_transmissivity`` (evergreen crown) / 1; with ``has_cover``, a cell under a
    cover (``cover_on``, or ``cover_off`` at a position of the leaf-off months, not NaN)
    and not in surface shade gets the cover's value instead."""
    n_rows, n_cols = h0.shape
    for r in numba.prange(n_rows):
        light = np.empty(n_cols, np.float64)
        for p in range(tan_altitude.size):
            w = blend[p]
            t = tan_altitude[p]
            tau = transmissivity[p]
            tau_e = evergreen_transmissivity[p]
            # branch-free selects (the loops vectorise); same arithmetic as _codes
            if has_evergreen:
                for c in range(n_cols):
                    s0 = h0[r, c]
                    k0 = c0[r, c]
                    g0 = e0[r, c]
                    under = crown[r, c] | (t < k0 + w * (c1[r, c] - k0))
                    under_e = evergreen_crown[r, c] | (t < g0 + w * (e1[r, c] - g0))
                    light[c] = (
                        0.0
                        if t < s0 + w * (h1[r, c] - s0)
                        else (tau_e if under_e else (tau if under else 1.0))
                    )
            elif has_canopy:
                for c in range(n_cols):
                    s0 = h0[r, c]
                    k0 = c0[r, c]
                    under = crown[r, c] | (t < k0 + w * (c1[r, c] - k0))
                    light[c] = 0.0 if t < s0 + w * (h1[r, c] - s0) else (tau if under else 1.0)
            else:
                for c in range(n_cols):
                    s0 = h0[r, c]
                    light[c] = 0.0 if t < s0 + w * (h1[r, c] - s0) else 1.0
            if has_cover:
                cover = cover_off if leaf_off[p] else cover_on
                for c in range(n_cols):
                    v = cover[r, c]
                    s0 = h0[r, c]
                    if v == v and not t < s0 + w * (h1[r, c] - s0):
                        light[c] = v
            for e in range(start[p], start[p + 1]):
                row = acc[target[e], r]
                wt = weight[e]
                if is_sun[e]:
                    for c in range(n_cols):
                        row[c] += wt * light[c]
                else:
                    for c in range(n_cols):
                        row[c] += wt * (1.0 - light[c])


@numba.njit(parallel=True, cache=True, nogil=True)
def _codes(h0, h1, c0, c1, crown, has_canopy, e0, e1, evergreen_crown, has_evergreen, w, tan_altitude, out):
    """Shade codes of one sun position from the horizons of the two sectors around it
    (``h0 + w (h1 - h0)``, the arithmetic of :func:`_accumulate_light`): surface shade
    where the sun is below the surface horizon, else evergreen shade under an evergreen
    crown or below the evergreen horizon, else canopy shade under a crown or below the
    canopy horizon, else sunlit."""
    n_rows, n_cols = h0.shape
    for r in numba.prange(n_rows):
        for c in range(n_cols):
            s0 = h0[r, c]
            if tan_altitude < s0 + w * (h1[r, c] - s0):
                out[r, c] = SURFACE_SHADE
            elif has_evergreen and (
                evergreen_crown[r, c] or tan_altitude < e0[r, c] + w * (e1[r, c] - e0[r, c])
            ):
                out[r, c] = EVERGREEN_SHADE
            elif has_canopy and (crown[r, c] or tan_altitude < c0[r, c] + w * (c1[r, c] - c0[r, c])):
                out[r, c] = CANOPY_SHADE
            else:
                out[r, c] = SUNLIT


def tree_spans(
    trees: tuple[np.ndarray, np.ndarray] | None, off: np.ndarray, lines: tuple[int, int]
) -> np.ndarray:
    """First and last column of a canopy cell on each line ``lines[0]..lines[1]`` (-1, -1
    for none), from the (row, column) indices ``trees`` of the oriented raster's canopy
    cells; line ``m`` holds row ``m + off[c]`` of column ``c``."""
    spans = np.full((lines[1] - lines[0] + 1, 2), -1, dtype=np.int64)
    if trees is not None:
        _tree_spans(trees[0], trees[1], off, lines[0], spans)
    return spans


@numba.njit(cache=True, nogil=True)
def _tree_spans(rows, cols, off, first_line, spans):
    for t in range(rows.size):
        c = cols[t]
        li = rows[t] - off[c] - first_line
        if li < 0 or li >= spans.shape[0]:
            continue
        if spans[li, 0] < 0 or c < spans[li, 0]:
            spans[li, 0] = c
        if c > spans[li, 1]:
            spans[li, 1] = c


class HorizonCaster:
    """A surface prepared for shade by horizon angles (see module doc).

    Parameters
    ----------
    dsm : numpy.ndarray
        Surface heights, metres, 2-D, finite, with a halo around ``window``.
    resolution : float
        Cell size, metres.
    canopy_top : numpy.ndarray, optional
        Canopy-top heights, metres, NaN where there is no vegetation.
    max_distance_m : float
        Longest horizontal search, metres (as in :func:`pipeline.shade.sweep.shade_codes`).
    window : (row0, row1, col0, col1), optional
        The cells to shade (the tile without its halo); default the whole raster.
    sector_deg : float
        Azimuth step between computed horizons, degrees; must divide 360.
    cache_sectors : int
        Sector horizons kept in memory (one window-sized float64 raster each, two with
        canopy, three with evergreen crowns).
    evergreen_top : numpy.ndarray, optional
        Canopy tops of the evergreen crowns only (a subset of ``canopy_top``), NaN elsewhere.
    """

    def __init__(
        self,
        dsm: np.ndarray,
        resolution: float,
        *,
        canopy_top: np.ndarray | None = None,
        max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
        window: Window | None = None,
        sector_deg: float = DEFAULT_SECTOR_DEG,
        cache_sectors: int = 4,
        evergreen_top: np.ndarray | None = None,
    ):
        n_sectors = 360.0 / sector_deg if sector_deg > 0 else 0.0
        if not (n_sectors >= 1 and abs(n_sectors - round(n_sectors)) < 1e-9):
            raise ValueError(f"sector_deg must divide 360 degrees, got {sector_deg}")
        self.dsm, self.canopy_top = check_surface(dsm, canopy_top)
        self.evergreen_top = check_evergreen(evergreen_top, self.canopy_top)
        self.resolution = float(resolution)
        self.max_distance_m = float(max_distance_m)
        self.window = check_window(window, self.dsm.shape)
        self.sector_deg = float(sector_deg)
        self.n_sectors = int(round(n_sectors))
        r0, r1, c0, c1 = self.window
        self.crown = (
            np.zeros((1, 1), dtype=np.bool_)
            if self.canopy_top is None
            else np.nan_to_num(self.canopy_top[r0:r1, c0:c1], nan=-np.inf) > self.dsm[r0:r1, c0:c1]
        )
        self.evergreen_crown = (
            np.zeros((1, 1), dtype=np.bool_)
            if self.evergreen_top is None
            else np.nan_to_num(self.evergreen_top[r0:r1, c0:c1], nan=-np.inf) > self.dsm[r0:r1, c0:c1]
        )
        self._turned: dict[tuple[bool, bool], tuple] = {}
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_size = max(2, int(cache_sectors))
        self.sectors_computed = 0

    @property
    def shape(self) -> tuple[int, int]:
        r0, r1, c0, c1 = self.window
        return r1 - r0, c1 - c0

    def sector(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``tan H`` of the surface, of the canopy and of the evergreen crowns over the
        window at azimuth ``index * sector_deg``.

        Float64, window-shaped; :data:`NO_HORIZON` where nothing lies ahead (the canopy
        array is 1 x 1 when there is no canopy, the evergreen one when there is no
        evergreen crown).
        """
        index %= self.n_sectors
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        transpose, flip, slope, step_m = lattice(index * self.sector_deg, self.resolution)
        geometry = SweepGeometry(transpose, flip, slope, step_m, np.empty(0))
        key = (transpose, flip)
        if key not in self._turned:
            canopy = geometry.orient(self.canopy_top) if self.canopy_top is not None else np.empty((1, 1))
            trees = np.nonzero(~np.isnan(canopy)) if self.canopy_top is not None else None
            evergreen = (
                geometry.orient(self.evergreen_top) if self.evergreen_top is not None else np.empty((1, 1))
            )
            evergreens = np.nonzero(~np.isnan(evergreen)) if self.evergreen_top is not None else None
            self._turned[key] = (geometry.orient(self.dsm), canopy, trees, evergreen, evergreens)
        a, canopy, trees, evergreen, evergreens = self._turned[key]
        off = geometry.line_offsets(a.shape[1])
        window = geometry.orient_window(self.window, self.dsm.shape)
        lines = window_lines(off, window)
        k_max = int(math.floor(self.max_distance_m / step_m + 1e-9))
        surface = np.empty(self.shape, dtype=np.float64)
        canopy_h = np.full(self.shape if self.canopy_top is not None else (1, 1), NO_HORIZON)
        _sector_horizons(
            a,
            canopy,
            self.canopy_top is not None,
            tree_spans(trees, off, lines),
            off,
            k_max,
            step_m,
            np.array(window, dtype=np.int64),
            np.array(lines, dtype=np.int64),
            transpose,
            flip,
            np.array(self.window[::2], dtype=np.int64),
            surface,
            canopy_h,
        )
        evergreen_h = np.full(self.shape if self.evergreen_top is not None else (1, 1), NO_HORIZON)
        if self.evergreen_top is not None:
            _sector_horizons(
                a,
                evergreen,
                True,
                tree_spans(evergreens, off, lines),
                off,
                k_max,
                step_m,
                np.array(window, dtype=np.int64),
                np.array(lines, dtype=np.int64),
                transpose,
                flip,
                np.array(self.window[::2], dtype=np.int64),
                surface,
                evergreen_h,
                False,
            )
        self.sectors_computed += 1
        self._cache[index] = (surface, canopy_h, evergreen_h)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return surface, canopy_h, evergreen_h

    def bracket(self, sun_azimuth_grid_deg: float) -> tuple[int, float]:
        """Sector below the azimuth and the interpolation weight toward the next one."""
        position = (float(sun_azimuth_grid_deg) % 360.0) / self.sector_deg
        index = int(math.floor(position))
        return index % self.n_sectors, position - index

    def codes(self, sun_azimuth_grid_deg: float, sun_altitude_deg: float) -> np.ndarray:
        """Shade codes over the window for one sun position, as :meth:`ShadeCaster.codes`."""
        if not sun_altitude_deg > 0:
            return np.full(self.shape, SURFACE_SHADE, dtype=np.uint8)
        index, w = self.bracket(sun_azimuth_grid_deg)
        s0, k0, e0 = self.sector(index)
        s1, k1, e1 = self.sector(index + 1) if w > 0 else (s0, k0, e0)
        codes = np.empty(self.shape, dtype=np.uint8)
        _codes(
            s0,
            s1,
            k0,
            k1,
            self.crown,
            self.canopy_top is not None,
            e0,
            e1,
            self.evergreen_crown,
            self.evergreen_top is not None,
            w,
            math.tan(math.radians(sun_altitude_deg)),
            codes,
        )
        return codes

    def accumulate(
        self,
        sun_azimuth_grid_deg: np.ndarray,
        sun_altitude_deg: np.ndarray,
        transmissivity: np.ndarray,
        start: np.ndarray,
        target: np.ndarray,
        weight_hours: np.ndarray,
        is_sun: np.ndarray,
        acc: np.ndarray,
        evergreen_transmissivity: np.ndarray | None = None,
        visit: Callable[[HorizonCaster, int, np.ndarray], None] | None = None,
        covers: tuple[np.ndarray, np.ndarray] | None = None,
        leaf_off: np.ndarray | None = None,
    ) -> None:
        """Add the light of many sun positions to window-shaped accumulators, in place.

        Position ``p`` adds, for each ``e`` in ``start[p]:start[p + 1]``,
        ``weight_hours[e] * light`` (``is_sun[e]``) or ``weight_hours[e] * (1 - light)``
        to ``acc[target[e]]``, light being 1 sunlit, ``transmissivity[p]`` in canopy
        shade, ``evergreen_transmissivity[p]`` in evergreen shade (default: the same as
        ``transmissivity``), 0 in surface shade or with the sun at or below the horizon.
        Positions are taken in azimuth order so each sector horizon is computed once.

        ``visit(caster, sector_index, positions)``, when given, is called once per sector after
        its positions' light is added, with this caster and the indices of those positions
        (sun up): the two
        sectors around them are then the last two computed, so :meth:`sector` and
        :meth:`codes` answer from the cache (the thermal pass takes its shade codes and
        sky view there, :mod:`pipeline.thermal.tile`).

        ``covers``: the window's overhead covers in leaf-on and in leaf-off months
        (:meth:`pipeline.shade.shadow.Covers.window`, float64, NaN where none) and
        ``leaf_off`` (bool per position) which of the two each position takes: a cell under a
        cover and not in surface shade receives the cover's share of the beam.
        """
        altitude = np.asarray(sun_altitude_deg, dtype=np.float64)
        azimuth = np.asarray(sun_azimuth_grid_deg, dtype=np.float64)
        start = np.asarray(start, dtype=np.int64)
        target = np.asarray(target, dtype=np.int64)
        weight = np.asarray(weight_hours, dtype=np.float64)
        is_sun = np.asarray(is_sun, dtype=np.bool_)
        transmissivity = np.asarray(transmissivity, dtype=np.float64)
        evergreen_transmissivity = (
            transmissivity
            if evergreen_transmissivity is None
            else np.asarray(evergreen_transmissivity, dtype=np.float64)
        )
        none = np.empty((1, 1), np.float64)
        cover_on, cover_off = (none, none) if covers is None else covers
        leaf_off = np.zeros(altitude.size, np.bool_) if leaf_off is None else np.asarray(leaf_off, np.bool_)
        for p in np.flatnonzero(~(altitude > 0)):  # night: no light anywhere
            for e in range(start[p], start[p + 1]):
                if not is_sun[e]:
                    acc[target[e]] += weight[e]
        up = np.flatnonzero(altitude > 0)
        brackets = [self.bracket(a) for a in azimuth[up]]
        index = np.array([b[0] for b in brackets], dtype=np.int64)
        blend = np.array([b[1] for b in brackets], dtype=np.float64)
        order = np.lexsort((blend, index))
        for sector_index in np.unique(index):
            chosen = order[index[order] == sector_index]
            positions = up[chosen]
            s0, k0, e0 = self.sector(int(sector_index))
            s1, k1, e1 = self.sector(int(sector_index) + 1)
            counts = start[positions + 1] - start[positions]
            sub_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            entries = np.concatenate([np.arange(start[p], start[p + 1]) for p in positions]).astype(np.int64)
            _accumulate_light(
                s0,
                s1,
                k0,
                k1,
                self.crown,
                self.canopy_top is not None,
                e0,
                e1,
                self.evergreen_crown,
                self.evergreen_top is not None,
                blend[chosen],
                np.tan(np.radians(altitude[positions])),
                transmissivity[positions],
                evergreen_transmissivity[positions],
                sub_start,
                target[entries],
                weight[entries],
                is_sun[entries],
                acc,
                cover_on,
                cover_off,
                covers is not None,
                leaf_off[positions],
            )
            if visit is not None:
                visit(self, int(sector_index), positions)
