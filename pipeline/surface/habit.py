"""Leaf habit of tree crowns: evergreen or deciduous, per tree and per canopy cell.

A tree crown passes more sun when it is bare, so the shade of a deciduous tree changes
with the season while an evergreen tree's does not (:class:`pipeline.shade.shadow.CanopyTransmissivity`).
PLATEAU records the habit of a solitary tree in ``veg:function``: "常緑又は落葉の区分及び
針葉又は広葉の区分" (evergreen or deciduous, and needle- or broad-leaved), a code of the
code list ``SolitaryVegetationObject_function.xml`` (3D都市モデル標準製品仕様書,
veg:SolitaryVegetationObject). The reader resolves the code to its label
(``function_label``, e.g. 落葉広葉樹); the habit is read from that label, so it does not
depend on how a city numbers its codes:

- a label with 常緑 (or ``evergreen``) is :data:`EVERGREEN`;
- a label with 落葉 (or ``deciduous``) is :data:`DECIDUOUS`;
- anything else, or no ``veg:function``, is :data:`UNKNOWN_HABIT`; so is every LiDAR
  canopy cell and every ``veg:PlantCover`` (no per-tree habit).

The surface stage writes the habit of every canopy cell as a uint8 raster
(``<tile>_canopy_habit.tif``): the habit of the crown whose top is the cell's canopy top
(on a tie evergreen, then deciduous, then unknown), :data:`NO_TREE` without canopy.

Overhead covers (measures of kind ``canopy``: awnings, pergolas, shade sails;
:mod:`pipeline.measures.surface`) share the canopy raster and carry their own beam
transmissivity in the same raster, as a code of :func:`cover_code`: ``tau`` in hundredths
above :data:`COVER_ALL_YEAR` (a cover standing all year) or :data:`COVER_SUMMER` (one up
only in the leaf-on months). A cover wins a tie with a tree crown. For the shade beyond
its footprint a cover counts as a crown of the evergreen class (all year) or the
deciduous class (summer only); the cells under it get its own transmissivity
(:class:`pipeline.shade.shadow.Covers`).
"""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pandas as pd

#: Codes of the canopy-habit raster.
NO_TREE, DECIDUOUS, EVERGREEN, UNKNOWN_HABIT = 0, 1, 2, 3
#: Codes of overhead covers: ``base + round(100 * transmissivity)`` (:func:`cover_code`).
COVER_ALL_YEAR, COVER_SUMMER = 20, 130
#: What a crown of unknown habit is taken for (``stages.shadow.transmissivity.unknown_habit``).
UnknownHabit = Literal["deciduous", "evergreen"]
#: Columns of an ingested ``veg`` table that may name a tree's habit, first match wins.
HABIT_COLUMNS = ("function_label", "function", "leaf_habit", "leaf_cycle")


def habit_of_label(label: object) -> int:
    """:data:`EVERGREEN`, :data:`DECIDUOUS` or :data:`UNKNOWN_HABIT` from a function label.

    ``label`` may be a string, a list of strings (``veg:function`` is ``[0..*]``) or a
    JSON list; a label naming both habits is unknown.
    """
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return UNKNOWN_HABIT
    if isinstance(label, str) and label.startswith("["):
        try:
            label = json.loads(label)
        except ValueError:
            pass
    if isinstance(label, (list, tuple, np.ndarray)):
        text = " ".join(str(v) for v in label)
    else:
        text = str(label)
    text = text.lower()
    evergreen = "常緑" in text or "evergreen" in text
    deciduous = "落葉" in text or "deciduous" in text
    if evergreen and not deciduous:
        return EVERGREEN
    if deciduous and not evergreen:
        return DECIDUOUS
    return UNKNOWN_HABIT


def tree_habits(trees: pd.DataFrame) -> np.ndarray:
    """Habit code (uint8) of each row of an ingested ``veg`` table, from :data:`HABIT_COLUMNS`."""
    habits = np.full(len(trees), UNKNOWN_HABIT, dtype=np.uint8)
    for column in HABIT_COLUMNS:
        if column not in trees:
            continue
        found = np.array([habit_of_label(v) for v in trees[column].to_numpy()], dtype=np.uint8)
        undecided = habits == UNKNOWN_HABIT
        habits[undecided] = found[undecided]
    return habits


def cover_code(transmissivity: float, summer_only: bool = False) -> int:
    """The canopy-habit code of an overhead cover passing ``transmissivity`` (0..1, kept to
    0.01) of the direct sun, standing all year or in the leaf-on months only."""
    if not 0.0 <= transmissivity <= 1.0:
        raise ValueError(f"cover transmissivity must be in [0, 1], got {transmissivity}")
    return (COVER_SUMMER if summer_only else COVER_ALL_YEAR) + int(round(100 * transmissivity))


def cover_transmissivity(habit: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
    """``(transmissivity, summer_only)`` of every cover cell of a canopy-habit raster
    (float32, NaN where no cover; bool), or None when it has no cover."""
    if habit is None:
        return None
    habit = np.asarray(habit)
    summer = habit >= COVER_SUMMER
    cover = (habit >= COVER_ALL_YEAR) & (habit <= COVER_SUMMER + 100)
    if not cover.any():
        return None
    hundredths = np.where(
        summer, habit.astype(np.int32) - COVER_SUMMER, habit.astype(np.int32) - COVER_ALL_YEAR
    )
    return np.where(cover, hundredths / np.float32(100), np.nan).astype(np.float32), summer & cover


def canopy_habit(canopy_top: np.ndarray, layers: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Habit of every canopy cell: that of the layer whose top is the cell's canopy top.

    Parameters
    ----------
    canopy_top : numpy.ndarray
        The merged canopy top (cell-wise maximum of the layers' tops), NaN where none.
    layers : list of (numpy.ndarray, int)
        Canopy-top rasters of one habit each (NaN where none) and their habit code.
        On a tie a cover (:func:`cover_code`) wins, then :data:`EVERGREEN`, then
        :data:`DECIDUOUS`, then :data:`UNKNOWN_HABIT`.

    Returns
    -------
    numpy.ndarray of uint8
        Habit code per cell, :data:`NO_TREE` where ``canopy_top`` is NaN.
    """
    habit = np.full(canopy_top.shape, NO_TREE, dtype=np.uint8)
    has = np.isfinite(canopy_top)
    habit[has] = UNKNOWN_HABIT
    covers = sorted({code for _, code in layers if code >= COVER_ALL_YEAR})
    # later wins: covers over evergreen over deciduous over unknown
    for code in (DECIDUOUS, EVERGREEN, *covers):
        for layer, layer_code in layers:
            if layer_code == code:
                habit[has & (np.asarray(layer, dtype=np.float32) == canopy_top)] = code
    return habit


def evergreen_canopy_top(
    canopy_top: np.ndarray, habit: np.ndarray | None, unknown_habit: UnknownHabit = "deciduous"
) -> np.ndarray | None:
    """Canopy tops of the evergreen crowns (NaN elsewhere), or None when there is none.

    ``habit`` is the canopy-habit raster (None: every crown of unknown habit); crowns of
    unknown habit count as ``unknown_habit``.
    """
    canopy_top = np.asarray(canopy_top)
    if habit is None:
        habit = np.where(np.isfinite(canopy_top), UNKNOWN_HABIT, NO_TREE).astype(np.uint8)
    if habit.shape != canopy_top.shape:
        raise ValueError(
            f"canopy habit raster shape {habit.shape} differs from the canopy {canopy_top.shape}"
        )
    # covers standing all year shade beyond their footprint as the evergreen class
    evergreen = (habit == EVERGREEN) | ((habit >= COVER_ALL_YEAR) & (habit < COVER_SUMMER))
    if unknown_habit == "evergreen":
        evergreen |= habit == UNKNOWN_HABIT
    elif unknown_habit != "deciduous":
        raise ValueError(f"unknown_habit must be 'deciduous' or 'evergreen', got {unknown_habit!r}")
    evergreen &= np.isfinite(canopy_top)
    if not evergreen.any():
        return None
    return np.where(evergreen, canopy_top, np.nan).astype(canopy_top.dtype)
