"""From trips per hour on a segment to people on it, scaled to MLIT stay population by one ratio.

A segment carrying ``q`` walkers per hour (both directions) at walking speed ``v`` has on
average ``q l / v`` people on its length ``l`` (Little's law), so per 100 m

    people_per_100m = q x 100 / v                                                  (1)

with ``v`` = 80 m/min = 4,800 m/h, the walking speed Japanese practice uses for walking
times (不動産の表示に関する公正競争規約施行規則, 第9条: 徒歩所要時間は道路距離80mにつき
1分). The simulated people of a mesh cell (the sum of ``q l / v`` over the segments whose
midpoint lies in it) are compared with MLIT's stay population of the cell and slot
through one least-squares ratio (:func:`pipeline.flowsim.validation.fit_ratio`), fitted
over every cell and every slot MLIT covers (midday), and applied to every slot: the
flows give where and when, MLIT how many, in the unit ``people_per_100m`` had before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.flowsim.validation import fit_ratio

#: Walking speed, m/h (80 m per minute; module docstring).
WALK_SPEED_M_PER_H = 80.0 * 60.0


def people_on_segments(
    flow: np.ndarray, length_m: np.ndarray, speed_m_per_h: float = WALK_SPEED_M_PER_H
) -> np.ndarray:
    """People on each segment on average: ``flow (trips/h) x length (m) / speed (m/h)``."""
    return np.asarray(flow, np.float64) * np.asarray(length_m, np.float64) / speed_m_per_h


def people_per_100m(flow: np.ndarray, speed_m_per_h: float = WALK_SPEED_M_PER_H) -> np.ndarray:
    """Equation (1): people per 100 m of street from trips per hour."""
    return np.asarray(flow, np.float64) * 100.0 / speed_m_per_h


def cell_totals(people: pd.DataFrame, cells: np.ndarray) -> pd.DataFrame:
    """Sum of people over the segments of each mesh cell (``cells``: the cell of each row)."""
    return people.groupby(np.asarray(cells)).sum()


def mlit_ratio(simulated_by_cell: pd.DataFrame, mlit_by_cell: pd.DataFrame) -> tuple[float, int]:
    """One ratio MLIT ~ r x simulated over the cells and scenarios both have; and the pair count.

    Both frames: index mesh code, one column per scenario (MLIT NaN where not covered).
    """
    sim, obs = simulated_by_cell.align(mlit_by_cell, join="inner")
    pairs = int((np.isfinite(sim.to_numpy(float)) & np.isfinite(obs.to_numpy(float))).sum())
    return fit_ratio(sim.to_numpy(float), obs.to_numpy(float)), pairs
