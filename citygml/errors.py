"""Errors and warnings raised while reading CityGML.

Every problem names the file, the line and/or ``gml:id`` when known, and what is wrong,
so that a GIS engineer can open the file at the right place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """A recoverable problem met while reading: the reader went on after it."""

    source: str
    message: str
    line: int | None = None
    gml_id: str | None = None
    severity: str = "warning"

    def __str__(self) -> str:
        return _locate(self.source, self.line, self.gml_id) + self.message


class CityGMLError(ValueError):
    """A problem that rejects a file (or a feature, where documented)."""

    def __init__(self, source: str, message: str, *, line: int | None = None, gml_id: str | None = None):
        self.source = source
        self.line = line
        self.gml_id = gml_id
        self.problem = message
        super().__init__(_locate(source, line, gml_id) + message)


class UnsafeInputError(CityGMLError):
    """The input tries something a parser of untrusted data must refuse (DTD, entities, zip escape)."""


def _locate(source: str, line: int | None, gml_id: str | None) -> str:
    where = str(source)
    if line is not None:
        where += f":{line}"
    if gml_id:
        where += f" [gml:id={gml_id}]"
    return where + ": "
