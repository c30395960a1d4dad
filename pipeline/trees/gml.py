"""Trees as PLATEAU vegetation: i-UR 3.1 CityGML ``veg:SolitaryVegetationObject`` files.

One file per third-level mesh (``udx/veg/<mesh>_veg_6697_op.gml``), coordinates in
EPSG:6697 (latitude, longitude, orthometric height), as PLATEAU delivers veg:

- ``veg:class`` (``codeSpace="../../codelists/SolitaryVegetationObject_class.xml"``,
  the PLATEAU code list: 1 高木, 2 中木, 3 低木), ``veg:height`` and
  ``veg:crownDiameter`` (``uom="m"``);
- ``uro:vegDataQualityAttribute/uro:DataQualityAttribute/uro:dataAcquisition`` naming
  the LiDAR source and its date, and the crown base height as the generic attribute
  ``crownBaseHeight`` (CityGML has none); evergreen/deciduous is not known and not written;
- LOD1 (``veg:lod1Geometry``, a ``gml:Solid``): the crown polygon extruded from the crown
  base to the top (標準製品仕様書 LOD1: 一律の高さは樹木の最高高さ);
- LOD2 (``veg:lod2Geometry``, one ``gml:Solid``): the crown as an ellipsoid (one of the
  spec's simple solids 楕円体, 球体, 円錐, ...) of the crown diameter and crown depth, on a
  trunk cylinder from the ground, joined into one closed solid of revolution (標準作業手順書
  R.3.1.3.2: 樹冠及び樹幹を表す立体を結合し、一つの立体とする). The trunk is drawn
  with a diameter of 1/20 of the crown diameter (about the ratio of crown to stem diameter
  of open-grown broadleaves, Hemery et al. 2005), at least 0.2 m; it is a drawing only and
  no ``veg:trunkDiameter`` is written.

Feature ids are UUIDs derived (uuid5) from the mesh and the position to the centimetre, so
the same trees give the same file, byte for byte.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from lxml import etree
from pyproj import Transformer
from shapely.geometry.polygon import orient

from pipeline.geo import meshcode
from pipeline.trees.parameters import CLASS_DESCRIPTIONS
from tiles.atomic import write_bytes_atomic

NS = {
    "core": "http://www.opengis.net/citygml/2.0",
    "gml": "http://www.opengis.net/gml",
    "veg": "http://www.opengis.net/citygml/vegetation/2.0",
    "gen": "http://www.opengis.net/citygml/generics/2.0",
    "uro": "https://www.geospatial.jp/iur/uro/3.1",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
SCHEMA_LOCATION = (
    "https://www.geospatial.jp/iur/uro/3.1 ../../schemas/iur/uro/3.1/urbanObject.xsd "
    "http://www.opengis.net/citygml/2.0 http://schemas.opengis.net/citygml/2.0/cityGMLBase.xsd "
    "http://www.opengis.net/citygml/vegetation/2.0 "
    "http://schemas.opengis.net/citygml/vegetation/2.0/vegetation.xsd "
    "http://www.opengis.net/citygml/generics/2.0 "
    "http://schemas.opengis.net/citygml/generics/2.0/generics.xsd"
)
SRS_NAME = "http://www.opengis.net/def/crs/EPSG/0/6697"
CLASS_CODESPACE = "../../codelists/SolitaryVegetationObject_class.xml"
ID_NAMESPACE = uuid.UUID("6b1f3a52-6f0e-4c55-9d0c-6d61636869ff")  # Machi trees
#: Azimuth segments of the LOD2 solid of revolution, and crown rings above its widest.
SEGMENTS = 8
CROWN_RINGS = 4
TRUNK_TO_CROWN = 1.0 / 20.0
MIN_TRUNK_DIAMETER_M = 0.2
MIN_CROWN_DEPTH_M = 0.5


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _pos_list(lat: np.ndarray, lon: np.ndarray, h: np.ndarray) -> str:
    return " ".join(f"{a:.9f} {o:.9f} {z:.3f}" for a, o, z in zip(lat, lon, h))


def _polygon(parent, ring_lat, ring_lon, ring_h) -> None:
    """A ``gml:Polygon`` of one closed ring (first vertex repeated)."""
    member = etree.SubElement(parent, _q("gml", "surfaceMember"))
    polygon = etree.SubElement(member, _q("gml", "Polygon"))
    ring = etree.SubElement(etree.SubElement(polygon, _q("gml", "exterior")), _q("gml", "LinearRing"))
    closed = lambda a: np.append(a, a[0])  # noqa: E731
    etree.SubElement(ring, _q("gml", "posList")).text = _pos_list(
        closed(ring_lat), closed(ring_lon), closed(ring_h)
    )


def _solid(parent, faces: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    solid = etree.SubElement(parent, _q("gml", "Solid"))
    shell = etree.SubElement(etree.SubElement(solid, _q("gml", "exterior")), _q("gml", "CompositeSurface"))
    for lat, lon, h in faces:
        _polygon(shell, lat, lon, h)


def prism_faces(
    ring_x: np.ndarray, ring_y: np.ndarray, bottom: float, top: float
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Faces (x, y, z; rings open) of ``ring`` (counter-clockwise, open) extruded from
    ``bottom`` to ``top``, outward-facing: bottom reversed, top, one wall per edge."""
    n = len(ring_x)
    faces = [(ring_x[::-1], ring_y[::-1], np.full(n, bottom)), (ring_x, ring_y, np.full(n, top))]
    for i in range(n):
        k = (i + 1) % n
        faces.append(
            (
                np.array([ring_x[i], ring_x[k], ring_x[k], ring_x[i]]),
                np.array([ring_y[i], ring_y[k], ring_y[k], ring_y[i]]),
                np.array([bottom, bottom, top, top]),
            )
        )
    return faces


def revolution_profile(
    ground: float, base: float, top: float, crown_diameter: float
) -> tuple[np.ndarray, np.ndarray]:
    """(radius, z) of the LOD2 tree from the ground up (the apex excluded): a trunk of
    radius ``r_t`` to where the crown ellipsoid is ``r_t`` wide, then the ellipsoid."""
    a = max(crown_diameter / 2.0, 0.05)
    c = max((top - base) / 2.0, 0.05)
    zc = top - c
    r_t = min(max(crown_diameter * TRUNK_TO_CROWN, MIN_TRUNK_DIAMETER_M) / 2.0, 0.9 * a)
    start = -math.acos(r_t / a)
    phi = np.linspace(start, math.pi / 2, CROWN_RINGS + 2)[:-1]
    radius = np.concatenate([[r_t], a * np.cos(phi)])
    z = np.concatenate([[ground], zc + c * np.sin(phi)])
    return radius, z


def revolution_faces(
    x: float, y: float, radius: np.ndarray, z: np.ndarray, apex: float
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Outward faces of the closed solid of revolution of a profile about ``(x, y)``."""
    t = np.arange(SEGMENTS) * (2 * math.pi / SEGMENTS)
    cos, sin = np.cos(t), np.sin(t)
    rings = [(x + r * cos, y + r * sin, np.full(SEGMENTS, h)) for r, h in zip(radius, z)]
    faces = [(rings[0][0][::-1], rings[0][1][::-1], rings[0][2])]  # bottom cap, facing down
    for lower, upper in zip(rings[:-1], rings[1:]):
        for i in range(SEGMENTS):
            k = (i + 1) % SEGMENTS
            faces.append(
                (
                    np.array([lower[0][i], lower[0][k], upper[0][k], upper[0][i]]),
                    np.array([lower[1][i], lower[1][k], upper[1][k], upper[1][i]]),
                    np.array([lower[2][i], lower[2][k], upper[2][k], upper[2][i]]),
                )
            )
    last = rings[-1]
    for i in range(SEGMENTS):
        k = (i + 1) % SEGMENTS
        faces.append(
            (
                np.array([last[0][i], last[0][k], x]),
                np.array([last[1][i], last[1][k], y]),
                np.array([last[2][i], last[2][k], apex]),
            )
        )
    return faces


def tree_meshes(trees: pd.DataFrame, crs: str) -> np.ndarray:
    """Third-level mesh code (str) of each tree's position."""
    lon, lat = Transformer.from_crs(crs, "EPSG:6668", always_xy=True).transform(
        trees.x.to_numpy(float), trees.y.to_numpy(float)
    )
    return np.asarray(meshcode.encode(lat, lon, 3)).astype(str)


def tree_gml_id(mesh: str, x: float, y: float) -> str:
    """Stable feature id of a tree: uuid5 of its mesh and position to the centimetre."""
    return "veg_" + str(uuid.uuid5(ID_NAMESPACE, f"{mesh}:{x:.2f}:{y:.2f}"))


def veg_document(trees: pd.DataFrame, crs: str, mesh: str, acquisition: str) -> bytes:
    """The CityGML document of ``trees`` (all in ``mesh``).

    Parameters
    ----------
    trees : GeoDataFrame
        :func:`pipeline.trees.detect.detect_trees` rows (metric ``crs``, crown polygons).
    acquisition : str
        Text of ``uro:dataAcquisition``: the LiDAR source and its date.
    """
    to_lonlat = Transformer.from_crs(crs, "EPSG:6668", always_xy=True)
    root = etree.Element(_q("core", "CityModel"), nsmap=NS)
    root.set(_q("xsi", "schemaLocation"), SCHEMA_LOCATION)
    bounded = etree.SubElement(root, _q("gml", "boundedBy"))
    envelope = etree.SubElement(bounded, _q("gml", "Envelope"), srsName=SRS_NAME, srsDimension="3")
    lows, highs = [], []
    order = np.lexsort((trees.x.to_numpy(float), -trees.y.to_numpy(float)))
    for index in order:
        tree = trees.iloc[index]
        ground = float(tree.ground_z)
        top = ground + float(tree.height_m)
        # a crown seen by one return has no depth: draw it MIN_CROWN_DEPTH_M deep
        base = min(ground + float(tree.crown_base_m), top - MIN_CROWN_DEPTH_M)
        member = etree.SubElement(root, _q("core", "cityObjectMember"))
        veg = etree.SubElement(member, _q("veg", "SolitaryVegetationObject"))
        veg.set(_q("gml", "id"), tree_gml_id(mesh, float(tree.x), float(tree.y)))
        generic = etree.SubElement(veg, _q("gen", "doubleAttribute"), name="crownBaseHeight")
        etree.SubElement(generic, _q("gen", "value")).text = f"{float(tree.crown_base_m):.2f}"
        quality = etree.SubElement(
            etree.SubElement(veg, _q("uro", "vegDataQualityAttribute")), _q("uro", "DataQualityAttribute")
        )
        etree.SubElement(quality, _q("uro", "dataAcquisition")).text = acquisition
        etree.SubElement(veg, _q("veg", "class"), codeSpace=CLASS_CODESPACE).text = str(tree.class_code)
        etree.SubElement(veg, _q("veg", "height"), uom="m").text = f"{float(tree.height_m):.2f}"
        etree.SubElement(
            veg, _q("veg", "crownDiameter"), uom="m"
        ).text = f"{float(tree.crown_diameter_m):.2f}"

        crown = orient(tree.geometry, 1.0)  # counter-clockwise: the top faces up
        ring = np.asarray(crown.exterior.coords)[:-1]
        faces = prism_faces(ring[:, 0], ring[:, 1], base, top)
        radius, z = revolution_profile(ground, base, top, float(tree.crown_diameter_m))
        faces2 = revolution_faces(float(tree.x), float(tree.y), radius, z, top)
        for prop, shell in (("lod1Geometry", faces), ("lod2Geometry", faces2)):
            # one transform per solid, then split back into its faces
            sizes = np.cumsum([len(f[0]) for f in shell])[:-1]
            lon, lat = to_lonlat.transform(
                np.concatenate([f[0] for f in shell]), np.concatenate([f[1] for f in shell])
            )
            z = np.concatenate([f[2] for f in shell])
            lows.append((lat.min(), lon.min(), z.min()))
            highs.append((lat.max(), lon.max(), z.max()))
            geographic = list(zip(np.split(lat, sizes), np.split(lon, sizes), np.split(z, sizes)))
            _solid(etree.SubElement(veg, _q("veg", prop)), geographic)
    low, high = np.min(lows, axis=0), np.max(highs, axis=0)
    etree.SubElement(envelope, _q("gml", "lowerCorner")).text = f"{low[0]:.9f} {low[1]:.9f} {low[2]:.3f}"
    etree.SubElement(envelope, _q("gml", "upperCorner")).text = f"{high[0]:.9f} {high[1]:.9f} {high[2]:.3f}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def codelist_document() -> bytes:
    """PLATEAU's ``SolitaryVegetationObject_class`` code list (the class codes written)."""
    gml = NS["gml"]
    root = etree.Element(f"{{{gml}}}Dictionary", nsmap={"gml": gml})
    root.set(f"{{{gml}}}id", "SolitaryVegetationObject_class")
    etree.SubElement(root, f"{{{gml}}}name").text = "SolitaryVegetationObject_class"
    for code, description in CLASS_DESCRIPTIONS.items():
        entry = etree.SubElement(root, f"{{{gml}}}dictionaryEntry")
        definition = etree.SubElement(entry, f"{{{gml}}}Definition")
        definition.set(f"{{{gml}}}id", f"SolitaryVegetationObject_class_{code}")
        etree.SubElement(definition, f"{{{gml}}}description").text = description
        etree.SubElement(definition, f"{{{gml}}}name").text = code
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_veg(trees: pd.DataFrame, crs: str, out_root: str | os.PathLike, *, acquisition: str) -> list[str]:
    """Write ``out_root/udx/veg/<mesh>_veg_6697_op.gml`` per third-level mesh holding
    trees, and ``out_root/codelists/SolitaryVegetationObject_class.xml`` when absent.

    Returns the GML paths written (none for no trees).
    """
    out_root = Path(out_root)
    if len(trees) == 0:
        return []
    meshes = tree_meshes(trees, crs)
    written = []
    for mesh in sorted(set(meshes)):
        path = out_root / "udx" / "veg" / f"{mesh}_veg_6697_op.gml"
        write_bytes_atomic(path, veg_document(trees[meshes == mesh], crs, mesh, acquisition))
        written.append(str(path))
    codelist = out_root / "codelists" / "SolitaryVegetationObject_class.xml"
    if not codelist.exists():
        write_bytes_atomic(codelist, codelist_document())
    return written
