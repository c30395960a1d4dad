"""The measures of a measures file, one plain dataclass per kind (docs/measures.md).

Coordinates are metres in the run's metric CRS (the reader reprojects); heights are
metres above the ground under the measure.

Defaults, with their sources:

- :data:`CROWN_BASE_SHARE` = 0.4: a tree's crown base (the height of its lowest
  branches) is 40 % of its height when the file does not say (issue #24's measures-file
  table). Street trees in Japan are pruned to a clear trunk of about 2-2.5 m under
  道路緑化技術基準 (国土交通省 2015, 建築限界: 歩道 2.5 m), which is 40 % of a 5-6 m
  young street tree. The shadow model casts a crown as a column up to its top (the
  2.5-D canopy of :mod:`pipeline.shade.shadow`), so the crown base is kept for the
  viewer and for later use, not used in the shade.
- :data:`CANOPY_TRANSMISSIVITY`: share of direct sun passing a canopy's cover by its
  ``material`` when the file gives no ``transmissivity``. ``shade_sail``: 0.23, a knitted
  HDPE shade cloth of shade factor 77 % (AS 4174-1994 "Synthetic shadecloth": shade
  factor = 1 - average transmission over 290-770 nm; the 77 % cloth is the example of
  MJ Sails, "Understanding shade terms", mjsails.com.au, and Polyfab, "What is shade
  factor", polyfab.com.au). ``awning``: 0.14, the solar transmittance Ts of a 1 %-open
  white PVC/polyester awning screen (SWF Contract "Compass Y100" solar optical
  properties, Ts 14 %; its darker colours pass 4-7 %). ``roof``: 0.0, an opaque roof
  (a pergola or arcade with a solid cover).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import shapely

#: Crown base as a share of tree height when the file gives none (module docstring).
CROWN_BASE_SHARE = 0.4
#: Transmissivity of a canopy's cover by material (module docstring).
CANOPY_TRANSMISSIVITY: dict[str, float] = {"shade_sail": 0.23, "awning": 0.14, "roof": 0.0}
#: The kinds of measures a file may hold, in the order they are applied; a ``lot`` changes
#: nothing itself: it is the site of the ``building`` measures naming it.
KINDS = ("remove_building", "building", "tree", "tree_row", "canopy", "street", "lot")

CanopySeason = Literal["all_year", "summer"]


@dataclass(frozen=True)
class Tree:
    """A tree planted at ``(x, y)``; a ``tree_row`` becomes one per ``spacing_m``.

    ``source`` names the feature it came from (``"#12"`` or its ``id``)."""

    source: str
    x: float
    y: float
    height_m: float
    crown_diameter_m: float
    crown_base_m: float
    evergreen: bool
    species: str | None = None
    class_code: str | None = None


@dataclass(frozen=True)
class Canopy:
    """An overhead cover (awning, pergola, shade sail) whose underside is ``height_m``
    above the ground, passing ``transmissivity`` of the direct sun; ``season`` "summer":
    up only in the leaf-on months (:class:`pipeline.shade.shadow.CanopyTransmissivity`)."""

    source: str
    polygon: shapely.Polygon
    height_m: float
    transmissivity: float
    season: CanopySeason = "all_year"


@dataclass(frozen=True)
class Building:
    """A new building: an LOD1 prism of ``height_m`` over ``polygon``, on the lot ``lot``
    (the ``lot`` feature named ``lot_id``; None: the footprint is the site)."""

    source: str
    polygon: shapely.Polygon
    height_m: float
    storeys: int | None = None
    usage: str | None = None
    lot: shapely.Polygon | None = None
    lot_id: str | None = None


@dataclass(frozen=True)
class RemovedBuilding:
    """An existing building taken out, by its PLATEAU ``gml_id``."""

    source: str
    gml_id: str


@dataclass(frozen=True)
class StreetChange:
    """A street's new ``width_m`` and/or ``pedestrian_only``: the segments under ``line``
    (within the reader's snapping distance) or the segment ``segment_id``."""

    source: str
    line: shapely.LineString | None = None
    segment_id: str | None = None
    width_m: float | None = None
    pedestrian_only: bool | None = None


@dataclass
class MeasureSet:
    """Every measure of one or more files, in the run's CRS, with what was skipped."""

    crs: str
    trees: list[Tree] = field(default_factory=list)
    canopies: list[Canopy] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    removed: list[RemovedBuilding] = field(default_factory=list)
    streets: list[StreetChange] = field(default_factory=list)
    #: Measures outside the run's area, one message each (reported, not applied).
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.trees) + len(self.canopies) + len(self.buildings) + len(self.removed) + len(self.streets)
        )

    def extend(self, other: MeasureSet) -> None:
        """Add the measures of ``other`` (same CRS) to these."""
        if other.crs != self.crs:
            raise ValueError(f"measure sets in {self.crs} and {other.crs} cannot be joined")
        for name in ("trees", "canopies", "buildings", "removed", "streets", "skipped"):
            getattr(self, name).extend(getattr(other, name))

    def footprints(self) -> list[tuple[shapely.Geometry, float]]:
        """Each surface measure's footprint and the height it rises to (m above ground):
        what a shadow reach is computed from (a removed building has none here)."""
        out = [(shapely.Point(t.x, t.y).buffer(t.crown_diameter_m / 2), t.height_m) for t in self.trees]
        out += [(c.polygon, c.height_m) for c in self.canopies]
        out += [(b.polygon, b.height_m) for b in self.buildings]
        return out
