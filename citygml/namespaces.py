"""CityGML 2.0, GML 3.1 and i-UR (uro/urf) namespaces as PLATEAU uses them."""

from __future__ import annotations

import functools
import re

GML = "http://www.opengis.net/gml"
XLINK = "http://www.w3.org/1999/xlink"
CORE = "http://www.opengis.net/citygml/2.0"
GEN = "http://www.opengis.net/citygml/generics/2.0"
APP = "http://www.opengis.net/citygml/appearance/2.0"
CORE_NAMESPACES = (CORE, "http://www.opengis.net/citygml/1.0")
GEN_NAMESPACES = (GEN, "http://www.opengis.net/citygml/generics/1.0")
APP_NAMESPACES = (APP, "http://www.opengis.net/citygml/appearance/1.0")

#: Module prefix of each CityGML 2.0 thematic namespace.
MODULES = {
    "http://www.opengis.net/citygml/building/2.0": "bldg",
    "http://www.opengis.net/citygml/vegetation/2.0": "veg",
    "http://www.opengis.net/citygml/relief/2.0": "dem",
    "http://www.opengis.net/citygml/transportation/2.0": "tran",
    "http://www.opengis.net/citygml/cityfurniture/2.0": "frn",
    "http://www.opengis.net/citygml/bridge/2.0": "brid",
    "http://www.opengis.net/citygml/landuse/2.0": "luse",
    "http://www.opengis.net/citygml/waterbody/2.0": "wtr",
    "http://www.opengis.net/citygml/tunnel/2.0": "tun",
    "http://www.opengis.net/citygml/cityobjectgroup/2.0": "grp",
    "http://www.opengis.net/citygml/generics/2.0": "gen",
    CORE: "core",
    # CityGML 1.0 modules, still met in older municipal data.
    "http://www.opengis.net/citygml/building/1.0": "bldg",
    "http://www.opengis.net/citygml/vegetation/1.0": "veg",
    "http://www.opengis.net/citygml/relief/1.0": "dem",
    "http://www.opengis.net/citygml/transportation/1.0": "tran",
    "http://www.opengis.net/citygml/cityfurniture/1.0": "frn",
    "http://www.opengis.net/citygml/landuse/1.0": "luse",
    "http://www.opengis.net/citygml/generics/1.0": "gen",
    "http://www.opengis.net/citygml/1.0": "core",
    "http://www.opengis.net/citygml/appearance/1.0": "app",
    APP: "app",
    GML: "gml",
}

# i-UR extension namespaces: 1.4 lives under kantei.go.jp, 2.0 and 3.x under geospatial.jp.
_URO = re.compile(r"/iur/(uro|urf)/(\d+(?:\.\d+)*)$")


@functools.lru_cache(maxsize=256)
def iur_module(namespace: str) -> tuple[str, str] | None:
    """Return ``("uro"|"urf", version)`` for an i-UR namespace URI, else None."""
    match = _URO.search(namespace)
    if match:
        return match.group(1), match.group(2)
    return None


@functools.lru_cache(maxsize=256)
def prefix_of(namespace: str) -> str:
    """A short prefix for a namespace URI (``bldg``, ``uro``, ...), or the URI itself."""
    if namespace in MODULES:
        return MODULES[namespace]
    iur = iur_module(namespace)
    if iur:
        return iur[0]
    return namespace


@functools.lru_cache(maxsize=4096)
def split_tag(tag: str) -> tuple[str, str]:
    """``{ns}local`` -> ``(ns, local)`` (cached: a document has few distinct tags)."""
    if tag[:1] == "{":
        ns, local = tag[1:].split("}", 1)
        return ns, local
    return "", tag


def q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"
