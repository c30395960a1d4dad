"""Parameters of individual tree detection, each with its source.

Heights are metres above the terrain (the LiDAR DTM); distances are metres in the
tile grid's metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Popescu & Wynne (2004), "Seeing the trees in the forest: using lidar and multispectral
#: data fusion with local filtering and variable window size for estimating tree height",
#: Photogrammetric Engineering & Remote Sensing 70(5): 589-604. Crown width (m) against
#: tree height h (m), the diameter of their variable local-maximum window:
#: ``a + b h + c h^2`` per forest type.
POPESCU_WYNNE_2004 = {
    "deciduous": (3.09632, 0.0, 0.00895),
    "pines": (3.75105, 0.17919, 0.01241),
    "combined": (2.51503, 0.0, 0.00901),
}

#: PLATEAU ``SolitaryVegetationObject_class`` code list (3D都市モデル標準製品仕様書; as
#: shipped with PLATEAU datasets, e.g. Kawasaki's ``codelists/SolitaryVegetationObject_class.xml``
#: in the shared test data, ``../shared/data/plateau``): 1 高木 (樹高3m以上), 2 中木 (樹高1m以上3m未満),
#: 3 低木 (樹高1m未満), 0 不明.
TALL_TREE, MIDDLE_TREE, SHRUB, UNKNOWN_CLASS = "1", "2", "3", "0"
CLASS_LABELS = {TALL_TREE: "高木", MIDDLE_TREE: "中木", SHRUB: "低木", UNKNOWN_CLASS: "不明"}
#: The code list's descriptions, as PLATEAU writes them (written with the veg files).
CLASS_DESCRIPTIONS = {
    TALL_TREE: "高木（樹高3m以上）",
    MIDDLE_TREE: "中木（樹高1m以上3m未満）",
    SHRUB: "低木（樹高1m未満）",
    UNKNOWN_CLASS: "不明",
}


@dataclass(frozen=True)
class TreeParameters:
    """How trees are found in a tile's points.

    Attributes
    ----------
    resolution_m : float
        Canopy height model cell size. 0.5 m: fine enough that a 3 m crown spans 6 cells.
    min_tree_height_m : float
        Lowest tree top and lowest crown cell, metres above ground: lidR ``dalponte2016``'s
        ``th_tree`` default, 2 m (Roussel et al. 2020, lidR).
    seed_fraction : float
        A crown cell must be higher than this fraction of its tree's top: Dalponte &
        Coomes (2016) ``th_seed``, 0.45 (the lidR default).
    crown_fraction : float
        ... and higher than this fraction of the crown's mean height: Dalponte & Coomes
        (2016) ``th_cr``, 0.55 (the lidR default).
    max_crown_diameter_m : float
        No crown cell further than half this from its tree top: lidR ``dalponte2016``'s
        ``max_cr`` default is 10 cells; taken here as 10 m (10 cells of a 1 m CHM), so that
        the limit does not shrink with the CHM's cell size.
    window : str
        Popescu & Wynne (2004) crown-width equation giving the local-maximum window:
        ``"deciduous"`` (the default: Japanese street trees are mostly broadleaves),
        ``"pines"`` or ``"combined"``.
    fixed_window_m : float or None
        A window of this diameter whatever the height instead (the fixed-window baseline
        the variable window is compared with). None.
    min_window_m : float
        Smallest window diameter, metres: 3 m, lidR's example ``ws = 0.1 h + 3`` floor.
    crown_base_percentile : float
        Crown base height: this percentile of the heights of the crown's returns, 10. A
        low percentile rather than the lowest return, which one stray branch or understorey
        return decides; a simple stand-in for the vertical-profile methods of Popescu &
        Zhao (2008), which find the crown base where the crown's return distribution
        starts. With first returns only (as the sample's), it is the lower edge of the
        visible crown, not the lowest branch.
    smoothing_spacings : float
        Sigma of the Gaussian smoothing the CHM before tops are looked for, in mean
        return spacings ``1 / sqrt(density)`` (Pitkänen et al. 2004 smooth with a
        Gaussian; at one spacing a top is a crown's, not one return's). 1.
    building_buffer_m : float
        Cells within this distance of a building return (ASPRS class 6) or footprint are
        masked out, so roof edges and eaves do not become trees. One 0.5 m cell.
    """

    resolution_m: float = 0.5
    min_tree_height_m: float = 2.0
    seed_fraction: float = 0.45
    crown_fraction: float = 0.55
    max_crown_diameter_m: float = 10.0
    window: str = "deciduous"
    fixed_window_m: float | None = None
    min_window_m: float = 3.0
    crown_base_percentile: float = 10.0
    smoothing_spacings: float = 1.0
    building_buffer_m: float = 0.5

    def __post_init__(self) -> None:
        if self.window not in POPESCU_WYNNE_2004:
            raise ValueError(f"window {self.window!r}: use one of {sorted(POPESCU_WYNNE_2004)}")
        if self.resolution_m <= 0:
            raise ValueError(f"resolution_m must be positive, got {self.resolution_m}")


def window_diameter(height_m: np.ndarray, window: str = "deciduous", min_window_m: float = 3.0) -> np.ndarray:
    """Local-maximum window diameter (m) for a tree ``height_m`` (m above ground).

    The crown width Popescu & Wynne (2004) regressed on tree height for ``window``'s
    forest type (:data:`POPESCU_WYNNE_2004`), never below ``min_window_m``.
    """
    a, b, c = POPESCU_WYNNE_2004[window]
    h = np.asarray(height_m, dtype=np.float64)
    return np.maximum(a + b * h + c * h * h, min_window_m)


def height_class(height_m: np.ndarray) -> np.ndarray:
    """PLATEAU ``SolitaryVegetationObject_class`` code of each tree height (m).

    3 m and above 高木 (``"1"``), 1 m to under 3 m 中木 (``"2"``), under 1 m 低木
    (``"3"``), NaN 不明 (``"0"``): the rule written in the code list's descriptions.
    """
    h = np.asarray(height_m, dtype=np.float64)
    out = np.full(h.shape, UNKNOWN_CLASS, dtype=object)
    out[h >= 3.0] = TALL_TREE
    out[(h >= 1.0) & (h < 3.0)] = MIDDLE_TREE
    out[h < 1.0] = SHRUB
    return out
