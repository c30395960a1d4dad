"""Where a CityGML dataset lies: the first city object with coordinates, and its prefecture.

PLATEAU writes the prefecture and municipality codes of every building in
``uro:buildingIDAttribute`` (i-UR 1.x/2.x also spelt ``uro:buildingIdAttribute``), from
which a metric CRS can be chosen (``pipeline.geo.crs.detect_crs``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from citygml.errors import CityGMLError
from citygml.reader import FileReader
from citygml.source import Source

log = logging.getLogger(__name__)

#: The attribute groups that carry a building's prefecture (``prefecture``) and
#: municipality (``city``, a JIS X 0402 code whose first two digits are the prefecture).
BUILDING_ID_GROUPS = ("uro:buildingIDAttribute", "uro:buildingIdAttribute")


@dataclass(frozen=True)
class Location:
    """A point of a dataset: longitude and latitude (JGD2011 degrees) and its prefecture
    code (JIS X 0401 or a municipality code, as written), None when no object says."""

    lon: float
    lat: float
    prefecture: str | None


def prefecture_code(attributes: dict) -> str | None:
    """The ``prefecture`` (else ``city``) code of a city object's ``uro:buildingIDAttribute``."""
    for group in BUILDING_ID_GROUPS:
        for entry in attributes.get(group, []):
            for key in ("prefecture", "city"):
                if entry.get(key):
                    return str(entry[key])
    return None


def first_location(sources: Iterable[Source]) -> Location | None:
    """The first vertex of the first city object with coordinates, building files first
    (then by file name), with that object's prefecture code; None when no file has one.
    A file that cannot be read is logged and skipped."""
    ordered = sorted(sources, key=lambda s: (s.feature_type != "bldg", s.name))
    for source in ordered:
        try:
            for obj in FileReader(source, include_appearance=False):
                vertices = obj.all_vertices()
                if not len(vertices):
                    continue
                return Location(float(vertices[0, 0]), float(vertices[0, 1]), prefecture_code(obj.attributes))
        except CityGMLError as exc:
            log.warning("locating the dataset skipped %s: %s", source.name, exc)
    return None
