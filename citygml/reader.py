"""Streaming reader for PLATEAU CityGML 2.0 (and the i-UR ``uro`` extensions).

The reader walks a file with ``lxml.etree.iterparse``, handles one
``core:cityObjectMember`` at a time and clears it once read, so memory is bounded by
the largest single feature, not by the file. ``xlink:href`` references are resolved
within the feature that holds them (PLATEAU LOD2 solids point at the surfaces of their
own ``boundedBy``); a reference that leaves the feature is reported, never followed.

What rejects a file (:class:`~citygml.errors.CityGMLError`), and what is recovered
with a warning (:class:`~citygml.errors.Problem` in :attr:`FileReader.problems`):

==============================================  =========================================
input                                           outcome
==============================================  =========================================
DTD or entity declaration, external entity      file rejected (:class:`UnsafeInputError`)
truncated or malformed XML                      file rejected, with the line
undeclared uro/urf prefix, the other declared  warning; bound to the sibling i-UR
                                                namespace of the same version
element in any other undeclared prefix          warning per element name (count, first
                                                line); skipped with its content, the
                                                file's other features kept
                                                (:mod:`citygml.undeclared`)
code list absent from dataset and Machi         warning, once per list; codes kept
non-numeric or non-finite coordinate            file rejected, with the line and gml:id
srsDimension not 2 or 3 on a coordinate list    file rejected, with the line and gml:id
feature without geometry                        warning; the feature is kept (attributes)
unclosed ring                                   warning; the ring is closed
degenerate ring (< 3 distinct vertices)         warning; the polygon is dropped
xlink:href outside the feature                  warning; the reference is skipped
texture image missing                           warning; the texture keeps its URI only
texture path escaping the dataset               warning; the image is refused
unreadable texture coordinates of a ring        warning; that ring keeps none
unreadable material colour                      warning; the colour is None
==============================================  =========================================
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from citygml.codelists import CodeListResolver
from citygml.errors import CityGMLError, Problem, UnsafeInputError
from citygml.geometry import (
    _LAT_LON_SWAP,
    CoordinateError,
    check_ring,
    parse_coordinates,
    ring_coordinates,
    srs_dimension,
)
from citygml.namespaces import (
    APP_NAMESPACES,
    CORE_NAMESPACES,
    GEN_NAMESPACES,
    GML,
    XLINK,
    iur_module,
    prefix_of,
    q,
    split_tag,
)
from citygml.records import Appearance, CityObject, Geometry, Material, Polygon, Texture
from citygml.schema import BOOLEAN, DOUBLE, INTEGER, schema_type
from citygml.source import Dataset, Source, bind_iur_prefixes, peek_prolog
from citygml.undeclared import UndeclaredElements, describe, first_fatal_error, is_undeclared

log = logging.getLogger(__name__)

#: From this size a file pays for loading the compiled posList scanner (numba: about a
#: second once per process); smaller files take the exact general path, with the same
#: output, unless the scanner is loaded already.
SCAN_MIN_BYTES = 2_000_000


def _pos_list_scanner(size: int | None):
    """:func:`citygml.poslist.scan_pos_lists` when it pays for a file of ``size`` bytes, else None."""
    if (size is None or size < SCAN_MIN_BYTES) and "citygml.poslist" not in sys.modules:
        return None
    from citygml.poslist import scan_pos_lists

    return scan_pos_lists


GML_ID = q(GML, "id")
HREF = q(XLINK, "href")
_POLYGON = q(GML, "Polygon")
_TRIANGLE = q(GML, "Triangle")
_RECTANGLE = q(GML, "Rectangle")
_EXTERIOR = q(GML, "exterior")
_INTERIOR = q(GML, "interior")
_LINEAR_RING = q(GML, "LinearRing")
_LINE_STRING = q(GML, "LineString")
_POS_LIST = q(GML, "posList")
_ENVELOPE = q(GML, "Envelope")
_LOWER = q(GML, "lowerCorner")
_UPPER = q(GML, "upperCorner")
_MEMBER_TAGS = [q(ns, "cityObjectMember") for ns in CORE_NAMESPACES]
_ROOT_TAGS = frozenset(q(ns, "CityModel") for ns in CORE_NAMESPACES)
_APPEARANCE_MEMBER_TAGS = [q(ns, "appearanceMember") for ns in APP_NAMESPACES]

_LOD_PROPERTY = re.compile(r"^lod(\d)")
#: Properties whose child is a sub-feature: kept in ``CityObject.parts``.
_PART_PROPERTIES = {
    "consistsOfBuildingPart",
    "consistsOfBridgePart",
    "consistsOfTunnelPart",
    "reliefComponent",
    "outerBuildingInstallation",
    "interiorBuildingInstallation",
    "outerBridgeInstallation",
    "bridgeConstructionElement",
    "outerTunnelInstallation",
    "trafficArea",
    "auxiliaryTrafficArea",
    "groupMember",
    "interiorRoom",
}
_SURFACE_PROPERTIES = {"boundedBy", "opening"}
#: A number as XML Schema writes it; zero-padded codes (``0012``) are not numbers.
_is_plain_number = re.compile(
    r"[+-]?(?:(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|0?\.\d+)", re.ASCII
).fullmatch
_LAT_FIRST_CRS = ("6697", "6668", "4326", "4612", "6667", "4979", "4019")


@dataclass
class FileSummary:
    """What reading one file found; filled while iterating."""

    source: str
    srs_name: str | None = None
    srs_dimension: int = 3
    envelope: tuple[np.ndarray, np.ndarray] | None = None  # (lower, upper) as (x, y, z)
    uro_version: str | None = None
    feature_count: int = 0
    seconds: float = 0.0
    bytes_read: int = 0
    bound_prefixes: dict[str, str] = field(default_factory=dict)  # undeclared prefix -> URI read
    iur_versions: dict[str, str] = field(default_factory=dict)  # "uro"/"urf" -> declared version


class FileReader:
    """Read one CityGML :class:`~citygml.source.Source` as a stream of city objects.

    Parameters
    ----------
    source : Source
        The file, inside its dataset.
    bbox : tuple, optional
        ``(lon_min, lat_min, lon_max, lat_max)`` in degrees: only features whose extent
        intersects it are yielded.
    codelists : CodeListResolver, optional
        Shared cache of code lists; code values get a ``<name>_label`` when resolved.
    include_appearance : bool
        Read ``app:appearanceMember`` (textures, materials) into :attr:`appearance`.
    """

    def __init__(
        self,
        source: Source,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        codelists: CodeListResolver | None = None,
        include_appearance: bool = True,
    ):
        self.source = source
        self.name = source.name
        try:
            size = source.size
        except OSError:
            size = None
        self._scan_pos_lists = _pos_list_scanner(size)
        self.bbox = bbox
        self.codelists = codelists if codelists is not None else CodeListResolver()
        self.include_appearance = include_appearance
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []  # information, e.g. labels from the shipped code lists
        self.appearance = Appearance()
        self._bound: dict[str, str] = {}  # i-UR prefixes the file forgot to declare
        self._bound_stream = None
        self.summary = FileSummary(self.name)
        self._lat_first = True
        self._dimension = 3
        self._rings: list[tuple] = []  # posList rings of the feature being read
        self._dropped = False  # a polygon of the feature being read lost its exterior
        self._other_dimension = False  # a queued ring is not 3-D
        self._undeclared = UndeclaredElements()  # elements in a prefix the file never declares
        self._complete = False  # the parser delivered the root's end

    # -- public ------------------------------------------------------------------
    def __iter__(self) -> Iterator[CityObject]:
        start = time.perf_counter()
        with self.source.open() as raw:
            stream = peek_prolog(raw, self.name)
            stream, self._bound = bind_iur_prefixes(stream)
            self._bound_stream = stream
            context = etree.iterparse(
                stream,
                events=("start-ns", "end"),
                tag=[*_MEMBER_TAGS, *_APPEARANCE_MEMBER_TAGS, _ENVELOPE, *_ROOT_TAGS],
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=False,
                remove_comments=True,
                remove_pis=True,
                remove_blank_text=True,
            )
            parser_log = ()
            try:
                yield from self._walk(context)
            except etree.XMLSyntaxError as exc:
                parser_log = context.error_log
                self._check_syntax_error(exc, parser_log)
            finally:
                self.summary.seconds = time.perf_counter() - start
                self.summary.bytes_read = self.source.size
                reports = self.codelists.problems(self.source)
        self._report_bound_prefixes()
        self.problems += self._undeclared.problems(self.name, parser_log)
        self.problems += [p for p in reports if p.severity != "info"]
        self.notes += [p for p in reports if p.severity == "info"]
        if self.problems:
            log.warning(
                "%s: %d problem(s) recovered, first: %s",
                self.name,
                len(self.problems),
                self.problems[0].message,
            )

    def read_all(self) -> list[CityObject]:
        return list(self)

    def _check_syntax_error(self, exc: etree.XMLSyntaxError, parser_log) -> None:
        """Reject the file (:class:`CityGMLError` with the line) unless the parser met only
        prefixes the file does not declare and read the document to its end: then its
        elements were skipped (:mod:`citygml.undeclared`) and the file is kept."""
        fatal = first_fatal_error(parser_log)
        if fatal is None and self._complete:
            return
        if fatal is not None:
            raise CityGMLError(
                self.name, f"malformed XML: {fatal.message} (column {fatal.column})", line=fatal.line or None
            ) from None
        undeclared = next((d for d in map(describe, parser_log) if d is not None), None)
        if undeclared is not None:
            # Kept only when the parser is known to have gone on to the end: lxml 6 with
            # libxml2 2.14 raises when the document closes, and a CityGML root says it closed.
            message = (
                f"namespace prefix {undeclared[0]} ({undeclared[1]}) is not declared and "
                "no core:CityModel was read to its end; file rejected"
            )
        else:
            message = f"malformed XML: {exc.msg}"
        raise CityGMLError(self.name, message, line=exc.lineno or None) from None

    def _report_bound_prefixes(self) -> None:
        used = getattr(self._bound_stream, "used", set())
        for prefix, uri in sorted(self._bound.items()):
            if prefix in used:
                self.summary.bound_prefixes[prefix] = uri
                self._warn(
                    f"namespace prefix {prefix} is used but not declared; read as {uri} "
                    "(the i-UR namespace of the same version as the one the file declares)"
                )

    # -- walking -----------------------------------------------------------------
    def _walk(self, context) -> Iterator[CityObject]:
        for event, item in context:
            if event == "start-ns":
                prefix, uri = item
                iur = iur_module(uri)
                if iur and uri not in self._bound.values():
                    self.summary.iur_versions.setdefault(iur[0], iur[1])
                    if iur[0] == "uro" and self.summary.uro_version is None:
                        self.summary.uro_version = iur[1]
                continue
            elem = item
            if elem.tag == _ENVELOPE:
                parent = elem.getparent()
                if (
                    parent is not None
                    and parent.getparent() is not None
                    and parent.getparent().getparent() is None
                ):
                    self._read_envelope(elem)
                continue
            if elem.tag in _MEMBER_TAGS:
                for feature in elem:
                    if isinstance(feature.tag, str):
                        break
                else:
                    feature = self._href_member(elem)
                if feature is not None and is_undeclared(feature.tag):
                    self._undeclared.skip(feature)
                elif feature is not None:
                    obj = self._parse_object(feature, parent_id=None, index={})
                    self.summary.feature_count += 1
                    if self.bbox is None or _intersects(obj, self.bbox):
                        yield obj
            elif elem.tag in _ROOT_TAGS:
                self._complete = True
                continue
            elif self.include_appearance:
                for child in elem:
                    if isinstance(child.tag, str):
                        self.appearance.extend(self._parse_appearance(child))
            # Free what has been read: the element and its already-handled siblings.
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]

    def _href_member(self, member) -> None:
        if member.get(HREF):
            self._warn(
                f"cityObjectMember refers to {member.get(HREF)}; features by reference are not followed",
                member.sourceline,
            )
        return None

    def _read_envelope(self, envelope) -> None:
        srs = envelope.get("srsName")
        self.summary.srs_name = srs
        if srs:
            code = re.findall(r"(\d{4,5})\D*$", srs)
            self._lat_first = not code or code[0] in _LAT_FIRST_CRS
        try:
            if envelope.get("srsDimension") is not None:
                self._dimension = srs_dimension(envelope, 3)
            elif srs and re.search(r"6668\D*$", srs):
                self._dimension = 2
            self.summary.srs_dimension = self._dimension
            lower = parse_coordinates(
                envelope.findtext(_LOWER),
                self._dimension,
                lat_first=self._lat_first,
                line=envelope.sourceline,
            )
            upper = parse_coordinates(
                envelope.findtext(_UPPER),
                self._dimension,
                lat_first=self._lat_first,
                line=envelope.sourceline,
            )
            self.summary.envelope = (lower[0], upper[0])
        except CoordinateError as exc:
            self._warn(f"unreadable gml:Envelope: {exc}", exc.line)

    # -- features ----------------------------------------------------------------
    def _parse_object(self, element, *, parent_id: str | None, index: dict[str, Polygon]) -> CityObject:
        ns, local = split_tag(element.tag)
        module = prefix_of(ns)
        gml_id = element.get(GML_ID) or f"{local}@line{element.sourceline}"
        obj = CityObject(
            gml_id=gml_id,
            feature_type=f"{module}:{local}",
            module=module,
            parent_id=parent_id,
            source=self.name,
            line=element.sourceline,
        )
        references: list[tuple[Geometry, list[str]]] = []
        try:
            self._parse_children(element, obj, index, references)
        except CoordinateError as exc:
            raise CityGMLError(self.name, str(exc), line=exc.line, gml_id=gml_id) from None
        if parent_id is None:
            try:
                self._parse_rings(obj, index)
            except CoordinateError as exc:
                raise CityGMLError(self.name, str(exc), line=exc.line, gml_id=gml_id) from None
            self._resolve(obj, index, references)
            if not obj.has_geometry() and obj.module != "grp":
                self._warn("feature has no geometry", element.sourceline, gml_id)
        else:
            # Parts share the top-level feature's id index; resolution happens there.
            obj._pending_references = references  # type: ignore[attr-defined]
        return obj

    def _parse_children(self, element, obj: CityObject, index, references) -> None:
        attributes = obj.attributes
        roles = _CHILD_ROLES
        for child in element:
            role, local, lod = roles[child.tag]
            if role == _DEM_GEOMETRY:
                if obj.module == "dem":
                    lod = attributes.get("lod", 1)
                    role, lod = _GEOMETRY, lod if isinstance(lod, int) else 1
                else:
                    role, local, lod = _child_role(child.tag, relief=False)
            if role == _GEOMETRY:
                geometry = self._parse_geometry(child, lod, local, None, None, index, references)
                if geometry is not None:
                    obj.geometries.append(geometry)
            elif role == _SURFACES:
                for surface in child:
                    if isinstance(surface.tag, str):
                        if is_undeclared(surface.tag):
                            self._undeclared.skip(surface)
                        else:
                            self._thematic_surface(surface, obj, index, references)
            elif role == _LEAF_OR_GROUP:
                if len(child):
                    attributes.setdefault(local, []).append(self._complex_value(child))
                else:
                    self._simple_attribute(child, local, attributes, local)
            elif role == _IUR_GROUP:
                if len(child):
                    attributes.setdefault(local, []).append(self._complex_value(child))
                else:  # an i-UR leaf (urf:function, urf:floorAreaRate, ...) is an attribute
                    bare = local.split(":", 1)[1]
                    self._simple_attribute(child, bare, attributes, bare)
            elif role == _GENERIC:
                self._generic_attribute(child, local, attributes, prefix="gen:")
            elif role == _PARTS:
                for sub in child:
                    if not isinstance(sub.tag, str):
                        continue
                    if is_undeclared(sub.tag):
                        self._undeclared.skip(sub)
                    else:
                        obj.parts.append(self._parse_object(sub, parent_id=obj.gml_id, index=index))
            elif role == _NAME:
                obj.name = child.text
                attributes["name"] = child.text
            elif role == _TEXT:
                attributes[local] = child.text
            elif role == _APPEARANCE:
                if self.include_appearance:
                    for app in child:
                        if isinstance(app.tag, str):
                            self.appearance.extend(self._parse_appearance(app))
            elif role == _ADDRESS:
                text = " ".join(t.strip() for t in child.itertext() if t.strip())
                if text:
                    attributes["address"] = text
            elif role == _UNDECLARED:
                self._undeclared.skip(child)
            # _SKIP: other GML properties, external references, generalizations

    def _thematic_surface(self, surface, obj: CityObject, index, references) -> None:
        surface_type = split_tag(surface.tag)[1]
        surface_id = None
        roles = _CHILD_ROLES
        for prop in surface:
            role, local, lod = roles[prop.tag]
            if role == _GEOMETRY:
                surface_id = surface_id or surface.get(GML_ID)
                geometry = self._parse_geometry(
                    prop, lod, f"{surface_type}/{local}", surface_type, surface_id, index, references
                )
                if geometry is not None:
                    obj.geometries.append(geometry)
            elif local == "opening":
                for opening in prop:
                    if isinstance(opening.tag, str):
                        if is_undeclared(opening.tag):
                            self._undeclared.skip(opening)
                        else:
                            self._thematic_surface(opening, obj, index, references)
            elif role == _UNDECLARED:
                self._undeclared.skip(prop)

    # -- geometry ----------------------------------------------------------------
    def _parse_geometry(
        self,
        prop,
        lod: int,
        name: str,
        surface_type: str | None,
        surface_id: str | None,
        index: dict[str, Polygon],
        references,
    ) -> Geometry | None:
        """Read one geometry property (``lod2Solid``, ``lod0FootPrint``, ...).

        The geometry tree is read in one pre-order pass: polygons, their rings and
        member references come in document order, so a flat loop with a little state
        replaces a recursive walk plus per-polygon lookups (this pass is most of the
        reader's time). ``posList`` rings are queued and converted per feature in
        :meth:`_parse_rings`. ``surface_id`` (the thematic surface's ``gml:id``) names
        the geometry when its own element has none.
        """
        for root in prop:  # the property's one geometry element
            if isinstance(root.tag, str):
                break
        else:
            href = prop.get(HREF)
            if href:
                geometry = Geometry(lod, name, "Reference", [], surface_id)
                references.append((geometry, [href.lstrip("#")]))
                return geometry
            return None
        geometry = Geometry(lod, name, split_tag(root.tag)[1], [], root.get(GML_ID) or surface_id)
        polygons = geometry.polygons
        queue = self._rings
        kinds = _GEOMETRY_KINDS
        refs: list[str] = []
        polygon: Polygon | None = None
        polygon_element = None
        has_exterior = True
        exterior = True
        ring = None
        ring_read = True
        in_curve = False
        for element in root.iter():
            kind = kinds.get(element.tag)
            if kind is None:
                continue  # Solid, CompositeSurface, MultiSurface, ... wrappers
            if kind == _K_POS_LIST:
                if in_curve:
                    geometry.lines.append(
                        parse_coordinates(
                            element.text,
                            srs_dimension(element, self._dimension),
                            lat_first=self._lat_first,
                            line=element.sourceline,
                        )
                    )
                elif ring is not None:
                    dim = srs_dimension(element, self._dimension)
                    if dim != 3:
                        self._other_dimension = True
                    queue.append((polygon, exterior, element, ring, dim))
                    has_exterior |= exterior
                    ring_read = True
            elif kind == _K_RING:
                in_curve = False
                if polygon is not None:
                    ring, ring_read = element, False
            elif kind == _K_EXTERIOR:
                exterior = True
            elif kind == _K_MEMBER:
                if not len(element):  # only an empty member can be a reference
                    href = element.get(HREF)
                    if href is not None:
                        refs.append(href.lstrip("#"))
            elif kind == _K_SURFACE:
                if not has_exterior:
                    self._drop_without_exterior(polygon, polygon_element)
                polygon = Polygon(None, [], element.get(GML_ID), [], surface_type)  # type: ignore[arg-type]
                polygon_element, has_exterior, ring = element, False, None
                polygons.append(polygon)
                if polygon.gml_id:
                    index[polygon.gml_id] = polygon
            elif kind == _K_INTERIOR:
                exterior = False
            elif kind == _K_LINE_STRING:
                in_curve = True
            elif not ring_read and ring is not None:
                # gml:pos / gml:coordinates rings are rare: read the whole ring at once.
                points, problem = ring_coordinates(ring, self._dimension, self._lat_first)
                self._place_ring(polygon, exterior, points, problem, ring.sourceline, ring.get(GML_ID))
                has_exterior |= exterior
                ring_read = True
        if not has_exterior:
            self._drop_without_exterior(polygon, polygon_element)
        if refs:
            references.append((geometry, refs))
        return geometry

    def _drop_without_exterior(self, polygon: Polygon, element) -> None:
        self._warn("polygon without exterior ring; dropped", element.sourceline, polygon.gml_id)
        polygon.exterior = None  # type: ignore[assignment]
        self._dropped = True

    def _place_ring(self, polygon: Polygon, exterior: bool, points, problem, line, ring_id):
        if problem == "degenerate":
            self._warn(
                "degenerate ring (fewer than 3 distinct vertices); polygon dropped"
                if exterior
                else "degenerate interior ring dropped",
                line,
                polygon.gml_id,
            )
            if exterior:
                polygon.exterior = None  # type: ignore[assignment]
                self._dropped = True
            return
        if problem == "unclosed":
            self._warn("unclosed ring; closed by repeating its first vertex", line, polygon.gml_id)
        if exterior:
            polygon.exterior = points
            polygon.ring_ids.insert(0, ring_id)
        else:
            polygon.interiors.append(points)
            polygon.ring_ids.append(ring_id)

    def _parse_rings(self, obj: CityObject, index: dict[str, Polygon]) -> None:
        """Convert every queued ``posList`` ring of a feature at once.

        Per-ring conversion dominated reading time. The usual feature (every ring 3-D,
        plain decimal numbers) is scanned in one compiled pass
        (:func:`~citygml.poslist.scan_pos_lists`), its axes swapped once, and each good
        ring gets a view of the one array. Every other ring (and every ring of a feature
        the scan hands back) takes :func:`~citygml.geometry.parse_coordinates` and
        :func:`~citygml.geometry.check_ring`, with their precise errors and warnings.
        """
        rings, self._rings = self._rings, []
        if rings:
            self._convert_rings(rings)
        if self._dropped:
            self._drop_empty_polygons(obj, index)
            self._dropped = False

    def _convert_rings(self, rings: list[tuple]) -> None:
        texts = [element.text or "" for _, _, element, _, _ in rings]
        scan = self._scan_pos_lists
        scanned = None if self._other_dimension or scan is None else scan(texts, 3)
        self._other_dimension = False
        if scanned is not None:
            coords, starts, good = scanned
            if self._lat_first:
                coords = coords[:, _LAT_LON_SWAP]
        for i, (polygon, exterior, element, ring, dim) in enumerate(rings):
            if scanned is not None and good[i]:
                self._place_ring(
                    polygon, exterior, coords[starts[i] : starts[i + 1]], None, None, ring.get(GML_ID)
                )
            else:
                # Unusual rings take the careful path (and its precise errors).
                line = element.sourceline
                points, problem = check_ring(
                    parse_coordinates(texts[i], dim, lat_first=self._lat_first, line=line)
                )
                self._place_ring(polygon, exterior, points, problem, line, ring.get(GML_ID))

    @staticmethod
    def _drop_empty_polygons(obj: CityObject, index: dict[str, Polygon]) -> None:
        for part in [obj, *obj.parts]:
            for geometry in part.geometries:
                if any(p.exterior is None for p in geometry.polygons):
                    geometry.polygons = [p for p in geometry.polygons if p.exterior is not None]
            if part is not obj:
                FileReader._drop_empty_polygons(part, index)
        for key in [k for k, p in index.items() if p.exterior is None]:
            del index[key]

    def _resolve(self, obj: CityObject, index: dict[str, Polygon], references) -> None:
        pending = list(references)
        stack = list(obj.parts)
        while stack:
            part = stack.pop()
            pending.extend(getattr(part, "_pending_references", []))
            if hasattr(part, "_pending_references"):
                del part._pending_references
            stack.extend(part.parts)
        for geometry, ids in pending:
            for ref in ids:
                polygon = index.get(ref)
                if polygon is None:
                    geometry.unresolved += 1
                    self._warn(
                        f"xlink:href #{ref} does not point to a surface of this feature; skipped",
                        obj.line,
                        obj.gml_id,
                    )
                else:
                    geometry.polygons.append(polygon)

    # -- attributes --------------------------------------------------------------
    def _simple_attribute(self, element, local: str, attributes: dict[str, Any], key: str) -> None:
        """Store a leaf element's value under ``key`` (``key_label``, ``key_uom`` beside)."""
        text = element.text
        text = text.strip() if text else ""
        code_space = element.get("codeSpace")
        if code_space:
            attributes[key] = text
            label = self.codelists.label(self.source, code_space, text, key)
            if label is not None:
                attributes[f"{key}_label"] = label
            return
        attributes[key] = _typed(text, local)
        uom = element.get("uom")
        if uom:
            attributes[f"{key}_uom"] = uom

    def _complex_value(self, element) -> dict[str, Any]:
        """Flatten an i-UR attribute group (``uro:BuildingDetailAttribute``...) to a dict."""
        value: dict[str, Any] = {}
        if len(element) == 1 and len(element[0]) and isinstance(element[0].tag, str):
            # The usual i-UR shape: a property holding one typed group element.
            element = element[0]
            if is_undeclared(element.tag):
                self._undeclared.skip(element)
                return value
            value["type"] = split_tag(element.tag)[1]
        self._flatten_into(element, value, "")
        return value

    def _flatten_into(self, element, value: dict[str, Any], prefix: str) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            ns, local = split_tag(tag)
            if not ns and ":" in local:  # a prefix the file does not declare
                self._undeclared.skip(child)
                continue
            key = f"{prefix}{local}" if prefix else local
            if len(child) == 0:
                if key in value:
                    # Repeated element in a group: keep every value.
                    existing = value[key]
                    value[key] = existing if isinstance(existing, list) else [existing]
                    probe: dict[str, Any] = {}
                    self._simple_attribute(child, local, probe, local)
                    value[key].append(probe[local])
                else:
                    self._simple_attribute(child, local, value, key)
            elif ns != GML:
                self._flatten_into(child, value, f"{key}.")

    def _generic_attribute(self, element, local: str, attributes: dict[str, Any], prefix: str) -> None:
        name = element.get("name") or local
        if local == "genericAttributeSet":
            for member in element:
                if isinstance(member.tag, str):
                    self._generic_attribute(
                        member, split_tag(member.tag)[1], attributes, prefix=f"{prefix}{name}/"
                    )
            return
        value_el = next((c for c in element if isinstance(c.tag, str)), None)
        text = (value_el.text or "").strip() if value_el is not None else ""
        key = f"{prefix}{name}"
        if local == "intAttribute":
            attributes[key] = _to_number(text, int)
        elif local in ("doubleAttribute", "measureAttribute"):
            attributes[key] = _to_number(text, float)
            if local == "measureAttribute" and value_el is not None and value_el.get("uom"):
                attributes[f"{key}_uom"] = value_el.get("uom")
        else:
            attributes[key] = text

    # -- appearance --------------------------------------------------------------
    def _parse_appearance(self, appearance) -> Appearance:
        result = Appearance()
        theme = None
        for child in appearance:
            if not isinstance(child.tag, str):
                continue
            _, local = split_tag(child.tag)
            if local == "theme":
                theme = child.text
            elif local == "surfaceDataMember":
                for data in child:
                    if not isinstance(data.tag, str):
                        continue
                    _, kind = split_tag(data.tag)
                    if kind == "ParameterizedTexture":
                        result.textures.append(self._parse_texture(data, theme))
                    elif kind == "X3DMaterial":
                        result.materials.append(self._parse_material(data, theme))
        return result

    def _parse_texture(self, element, theme: str | None) -> Texture:
        image_uri = mime = None
        targets: dict[str, dict[str, np.ndarray]] = {}
        coordinates = []  # (rings of the target, ring id, textureCoordinates element)
        for child in element:
            if not isinstance(child.tag, str):
                continue
            ns, local = split_tag(child.tag)
            if local == "imageURI":
                image_uri = (child.text or "").strip()
            elif local == "mimeType":
                mime = child.text
            elif local == "target":
                rings: dict[str, np.ndarray] = {}
                targets[(child.get("uri") or "").lstrip("#")] = rings
                for coords in child.iter(q(ns, "textureCoordinates")):
                    coordinates.append((rings, (coords.get("ring") or "").lstrip("#"), coords))
        texture = Texture(
            image_uri=image_uri or "",
            mime_type=mime,
            targets=targets,
            theme=theme,
            gml_id=element.get(GML_ID),
        )
        self._read_texture_coordinates(coordinates, texture.gml_id)
        if image_uri:
            try:
                member = self.source.resolve(image_uri)
            except UnsafeInputError:
                self._warn(
                    f"texture path {image_uri!r} escapes the dataset; refused",
                    element.sourceline,
                    texture.gml_id,
                )
            else:
                if self.source.dataset.exists(member):
                    texture.image_path = member
                else:
                    self._warn(f"texture image {image_uri!r} is missing", element.sourceline, texture.gml_id)
        return texture

    def _read_texture_coordinates(self, coordinates: list[tuple], texture_id: str | None) -> None:
        """Every ring's ``(u, v)`` of a texture, scanned at once as ``posList`` rings are.
        A ring whose list is not an even count of finite numbers keeps no coordinates
        (its surface is then drawn untextured), with a warning."""
        texts = [element.text or "" for _, _, element in coordinates]
        scan = self._scan_pos_lists
        scanned = scan(texts, 2) if texts and scan is not None else None
        for i, (rings, ring_id, element) in enumerate(coordinates):
            if scanned is not None:
                values, starts, _ = scanned
                rings[ring_id] = values[starts[i] : starts[i + 1]]
                continue
            try:
                uv = parse_coordinates(texts[i], 2, lat_first=False, line=element.sourceline)
            except CoordinateError:
                self._warn(
                    f"unreadable texture coordinates for ring #{ring_id}; the ring keeps none",
                    element.sourceline,
                    texture_id,
                )
            else:
                rings[ring_id] = uv[:, :2]

    def _parse_material(self, element, theme: str | None) -> Material:
        fields: dict[str, Any] = {}
        targets = []
        for child in element:
            if not isinstance(child.tag, str):
                continue
            _, local = split_tag(child.tag)
            text = (child.text or "").strip()
            if local == "target":
                targets.append(text.lstrip("#"))
            elif local in ("diffuseColor", "specularColor", "emissiveColor"):
                rgb = tuple(_to_number(v, float) for v in text.split()[:3])
                if len(rgb) == 3 and all(isinstance(v, float) for v in rgb):
                    fields[_snake(local)] = rgb
                else:
                    fields[_snake(local)] = None
                    self._warn(f"unreadable {local} {text!r}; ignored", child.sourceline, element.get(GML_ID))
            elif local in ("transparency", "ambientIntensity", "shininess"):
                fields[_snake(local)] = _to_number(text, float)
        return Material(
            targets=targets,
            theme=theme,
            gml_id=element.get(GML_ID),
            diffuse_color=fields.get("diffuse_color"),
            transparency=fields.get("transparency"),
            ambient_intensity=fields.get("ambient_intensity"),
            specular_color=fields.get("specular_color"),
            emissive_color=fields.get("emissive_color"),
            shininess=fields.get("shininess"),
        )

    # -- problems ----------------------------------------------------------------
    def _warn(self, message: str, line: int | None = None, gml_id: str | None = None) -> None:
        problem = Problem(self.name, message, line=line, gml_id=gml_id)
        self.problems.append(problem)
        log.debug("%s", problem)


# -- helpers ---------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def _lod_of(local: str) -> int | None:
    """The LOD of a geometry property name (``lod2Solid`` -> 2), else None."""
    match = _LOD_PROPERTY.match(local)
    return int(match.group(1)) if match else None


_SURFACE_TAGS = frozenset((_POLYGON, _TRIANGLE, _RECTANGLE))
_RING_POSITION_TAGS = frozenset((q(GML, "pos"), q(GML, "coordinates")))
_MEMBER_REFERENCE_TAGS = frozenset(
    q(GML, t) for t in ("surfaceMember", "curveMember", "solidMember", "geometryMember", "baseSurface")
)

# What the geometry pass does with an element, by tag (others are wrappers: skipped).
_K_POS_LIST, _K_RING, _K_EXTERIOR, _K_INTERIOR, _K_SURFACE, _K_MEMBER, _K_LINE_STRING, _K_POSITIONS = range(8)
_GEOMETRY_KINDS = {
    _POS_LIST: _K_POS_LIST,
    _LINEAR_RING: _K_RING,
    _EXTERIOR: _K_EXTERIOR,
    _INTERIOR: _K_INTERIOR,
    _LINE_STRING: _K_LINE_STRING,
    **dict.fromkeys(_SURFACE_TAGS, _K_SURFACE),
    **dict.fromkeys(_MEMBER_REFERENCE_TAGS, _K_MEMBER),
    **dict.fromkeys(_RING_POSITION_TAGS, _K_POSITIONS),
}

# What a feature's child element is, by tag: decided once per tag (a document has few
# distinct tags), then looked up.
(
    _GEOMETRY,
    _DEM_GEOMETRY,
    _SURFACES,
    _PARTS,
    _LEAF_OR_GROUP,
    _IUR_GROUP,
    _GENERIC,
    _NAME,
    _TEXT,
    _APPEARANCE,
    _ADDRESS,
    _SKIP,
    _UNDECLARED,
) = range(13)
_CORE_TEXT_PROPERTIES = {"creationDate", "terminationDate", "relativeToTerrain", "relativeToWater"}


def _child_role(tag: str, relief: bool = True) -> tuple[int, str, int | None]:
    """``(role, key, lod)`` of a feature's child element ``{ns}local``.

    ``key`` is the local name (``uro:<local>`` for an i-UR attribute group, the
    ``gml:description`` text is stored as ``description``); ``lod`` is set for geometry
    properties (``lod2Solid`` -> 2). ``relief=False`` classifies ``tin`` and
    ``reliefPoints`` outside a relief feature, where they are not geometry.
    """
    ns, local = split_tag(tag)
    if not ns and ":" in local:
        return _UNDECLARED, local, None  # a prefix the file does not declare
    if ns == GML:
        return {"name": (_NAME, local, None), "description": (_TEXT, local, None)}.get(
            local, (_SKIP, local, None)
        )
    if ns in GEN_NAMESPACES:
        return _GENERIC, local, None
    if ns in APP_NAMESPACES:
        return (_APPEARANCE if local == "appearance" else _SKIP), local, None
    lod = _lod_of(local)
    if lod is not None:
        return _GEOMETRY, local, lod
    if relief and local in ("tin", "reliefPoints"):
        return _DEM_GEOMETRY, local, None  # geometry in a dem:ReliefComponent only
    if local in _SURFACE_PROPERTIES:
        return _SURFACES, local, None
    if local in _PART_PROPERTIES:
        return _PARTS, local, None
    if iur_module(ns):
        return _IUR_GROUP, f"{prefix_of(ns)}:{local}", None
    if ns in CORE_NAMESPACES and local in _CORE_TEXT_PROPERTIES:
        return _TEXT, local, None
    if ns in CORE_NAMESPACES and local in ("externalReference", "generalizesTo"):
        return _SKIP, local, None
    if local == "address":
        return _ADDRESS, local, None
    return _LEAF_OR_GROUP, local, None


class _ChildRoles(dict):
    """:func:`_child_role` by tag, decided at a tag's first sight: a hit is a plain dict
    lookup. Comments and processing instructions (their tag is not a string) are skipped."""

    def __missing__(self, tag) -> tuple[int, str, int | None]:
        role = _child_role(tag) if isinstance(tag, str) else (_SKIP, "", None)
        self[tag] = role
        return role


_CHILD_ROLES = _ChildRoles()


def _typed(text: str, name: str) -> Any:
    """Typed by the schema (:mod:`citygml.schema`) where it declares the element, else by
    the text: plain decimal numbers become int/float; codes, ids and zero-padded strings
    stay text."""
    kind = schema_type(name)
    if kind is not None:
        if kind in (DOUBLE, INTEGER) and not text:
            return None
        if kind == DOUBLE:
            return _to_number(text, float)
        if kind == INTEGER:
            return _to_number(text, int)
        if kind == BOOLEAN and text in ("true", "false", "1", "0"):
            return text in ("true", "1")
        if kind != BOOLEAN:
            return text  # string, date
    if _is_plain_number(text):
        return float(text) if ("." in text or "e" in text or "E" in text) else int(text)
    if text == "true" or text == "false":
        return text == "true"
    return text


def _to_number(text: str, kind):
    try:
        return kind(text) if kind is int else float(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _intersects(obj: CityObject, bbox: tuple[float, float, float, float]) -> bool:
    vertices = obj.all_vertices()
    if not len(vertices):
        return False
    lo, hi = vertices[:, :2].min(axis=0), vertices[:, :2].max(axis=0)
    return not (hi[0] < bbox[0] or lo[0] > bbox[2] or hi[1] < bbox[1] or lo[1] > bbox[3])


# -- convenience ---------------------------------------------------------------------
@dataclass
class ReadReport:
    """Problems and rejected files of a multi-file read."""

    problems: list[Problem] = field(default_factory=list)
    rejected: list[CityGMLError] = field(default_factory=list)
    summaries: list[FileSummary] = field(default_factory=list)
    appearance: Appearance = field(default_factory=Appearance)


def open_dataset(
    path: str | Path, *, types: Iterable[str] | None = None, meshes: Iterable[str] | None = None
) -> list[Source]:
    """The CityGML files under ``path`` (a ``.gml``, a PLATEAU folder or its ``.zip``)."""
    dataset, only = Dataset.for_path(path)
    return dataset.sources(types=types, meshes=meshes, only=only)


def read_features(
    path: str | Path,
    *,
    types: Iterable[str] | None = None,
    meshes: Iterable[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    report: ReadReport | None = None,
    on_error: str = "raise",
) -> Iterator[CityObject]:
    """Stream every city object under ``path``.

    Parameters
    ----------
    path : str or Path
        A ``.gml`` file, a PLATEAU city folder (``udx/<type>/...``) or the city ``.zip``.
    types : iterable of str, optional
        PLATEAU feature folders to read: ``bldg``, ``veg``, ``dem``, ``tran``, ...
    meshes : iterable of str, optional
        JIS X 0410 mesh codes; a file is read when its code and one of these share a prefix.
    bbox : tuple, optional
        ``(lon_min, lat_min, lon_max, lat_max)`` in degrees (JGD2011).
    report : ReadReport, optional
        Collects problems, rejected files, per-file summaries and appearances.
    on_error : {"raise", "skip"}
        ``"skip"`` reports a rejected file in ``report`` and goes on with the next one.
    """
    report = report if report is not None else ReadReport()
    codelists = CodeListResolver()
    for source in open_dataset(path, types=types, meshes=meshes):
        reader = FileReader(source, bbox=bbox, codelists=codelists)
        try:
            yield from reader
        except CityGMLError as exc:
            if on_error != "skip":
                raise
            log.error("%s", exc)
            report.rejected.append(exc)
        finally:
            report.problems.extend(reader.problems)
            report.summaries.append(reader.summary)
            report.appearance.extend(reader.appearance)
