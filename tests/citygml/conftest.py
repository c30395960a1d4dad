"""Helpers to write small CityGML documents inside tests."""

from __future__ import annotations

from pathlib import Path

import pytest

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0" '
    'xmlns:gml="http://www.opengis.net/gml" '
    'xmlns:bldg="http://www.opengis.net/citygml/building/2.0" '
    'xmlns:gen="http://www.opengis.net/citygml/generics/2.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" {extra}>\n'
    '<gml:boundedBy><gml:Envelope srsName="http://www.opengis.net/def/crs/EPSG/0/6697" '
    'srsDimension="3"><gml:lowerCorner>35.9 139.6 0</gml:lowerCorner>'
    "<gml:upperCorner>35.91 139.61 50</gml:upperCorner></gml:Envelope></gml:boundedBy>\n"
)

SQUARE = "35.900 139.600 10 35.900 139.601 10 35.901 139.601 10 35.901 139.600 10 35.900 139.600 10"


def building(gml_id: str, pos_list: str = SQUARE, extra: str = "") -> str:
    return (
        f'<core:cityObjectMember><bldg:Building gml:id="{gml_id}">{extra}'
        '<bldg:measuredHeight uom="m">9.5</bldg:measuredHeight>'
        "<bldg:lod0FootPrint><gml:MultiSurface><gml:surfaceMember><gml:Polygon>"
        f"<gml:exterior><gml:LinearRing><gml:posList>{pos_list}</gml:posList>"
        "</gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>"
        "</gml:MultiSurface></bldg:lod0FootPrint></bldg:Building></core:cityObjectMember>\n"
    )


APP_NAMESPACE = 'xmlns:app="http://www.opengis.net/citygml/appearance/2.0"'


def texture(image_uri: str, rings: dict[str, str], gml_id: str | None = None, target: str = "p1") -> str:
    """An app:ParameterizedTexture on polygon ``target``: ring id -> coordinate text."""
    coordinates = "".join(
        f'<app:textureCoordinates ring="#{ring}">{uv}</app:textureCoordinates>' for ring, uv in rings.items()
    )
    identifier = f' gml:id="{gml_id}"' if gml_id else ""
    return (
        f"<app:ParameterizedTexture{identifier}><app:imageURI>{image_uri}</app:imageURI>"
        f'<app:target uri="#{target}"><app:TexCoordList>{coordinates}</app:TexCoordList>'
        "</app:target></app:ParameterizedTexture>"
    )


def appearance(*surface_data: str) -> str:
    """An app:appearanceMember holding textures and materials."""
    members = "".join(f"<app:surfaceDataMember>{data}</app:surfaceDataMember>" for data in surface_data)
    return f"<app:appearanceMember><app:Appearance>{members}</app:Appearance></app:appearanceMember>\n"


def city_model(members: str, extra_ns: str = "") -> str:
    return HEADER.format(extra=extra_ns) + members + "</core:CityModel>\n"


@pytest.fixture
def write_gml(tmp_path: Path):
    """Write a document as ``<tmp>/udx/bldg/<name>`` and return its path."""

    def write(text: str | bytes, name: str = "53396489_bldg_6697_op.gml") -> Path:
        path = tmp_path / "city" / "udx" / "bldg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        return path

    return write


@pytest.fixture
def gml():
    """Builders of small CityGML documents: ``gml.building(...)``, ``gml.city_model(...)``."""
    from types import SimpleNamespace

    return SimpleNamespace(
        building=building,
        city_model=city_model,
        square=SQUARE,
        texture=texture,
        appearance=appearance,
        app_namespace=APP_NAMESPACE,
    )
