"""Value types of CityGML 2.0 and i-UR (``uro``/``urf`` 1.4-3.x) attributes, by element name.

A value is typed by what the schema declares, not by how its text looks: ``urf:floorAreaRate``
``2`` is the double 2.0 (``xs:double``), ``uro:buildingID`` ``13104`` stays the string
``"13104"``. Types are those of the XSDs (CityGML 2.0 ``building.xsd``, ``vegetation.xsd``,
``transportation.xsd``, ``waterBody.xsd``; i-UR ``urbanObject.xsd`` and
``urbanFunction.xsd``), collapsed to what a table column needs:

- ``double``: ``xs:double`` and the GML measures (``gml:LengthType``, ``gml:AreaType``,
  ``gml:MeasureType``; the unit is the element's ``uom``);
- ``integer``: ``xs:integer``, ``xs:nonNegativeInteger``, ``xs:gYear``;
- ``string``: ``xs:string``, identifiers, numbers that are names (``uro:number``);
- ``boolean``: ``xs:boolean``;
- ``date``: ``xs:date``, kept as its ISO text.

Code values (elements with a ``codeSpace``) are always text, whatever their code looks like.
An element not listed here is typed by its text (a plain decimal number becomes a number).
"""

from __future__ import annotations

DOUBLE, INTEGER, STRING, BOOLEAN, DATE = "double", "integer", "string", "boolean", "date"

_DOUBLE = {
    # CityGML 2.0
    "measuredHeight",
    "height",
    "averageHeight",
    "crownDiameter",
    "trunkDiameter",
    # uro: buildings, roads, facilities, risks
    "totalFloorArea",
    "buildingFootprintArea",
    "buildingRoofEdgeArea",
    "siteArea",
    "buildingHeight",
    "eaveHeight",
    "buildingCoverageRate",
    "floorAreaRate",
    "specifiedBuildingCoverageRate",
    "specifiedFloorAreaRate",
    "standardFloorAreaRate",
    "depth",
    "duration",
    "width",
    "widthAverage",
    "minimumWidth",
    "maximumWidth",
    "length",
    "area",
    "elevation",
    "slope",
    "gradient",
    "speed",
    "capacity",
    # urf: planning decisions
    "nominalArea",
    "areaInTotal",
    "maximumFloorAreaRate",
    "minimumFloorAreaRate",
    "maximumBuildingCoverageRate",
    "minimumBuildingCoverageRate",
    "maximumBuildingHeight",
    "minimumBuildingHeight",
    "minimumBuildingArea",
    "maximumHeight",
    "minimumHeight",
    "setbackSize",
    "wallSetbackDistance",
    "floorAreaRateForResidentialUse",
}
_INTEGER = {
    "storeysAboveGround",
    "storeysBelowGround",
    "yearOfConstruction",
    "yearOfDemolition",
    "surveyYear",
    "lod",
    "branchID",
    "partID",
    "enactmentFiscalYear",
    "numberOfHouseholds",
    "numberOfResidents",
    "numberOfStoreys",
}
_STRING = {
    "buildingID",
    "roadID",
    "facilityID",
    "id",
    "number",
    "notificationNumber",
    "finalNotificationNumber",
    "custodian",
    "location",
    "note",
    "reason",
    "reference",
    "implementingBody",
    "scheduledExecutor",
    "publicFacilitiesAllocationPolicy",
    "storeyHeightsAboveGround",
    "storeyHeightsBelowGround",
    "sectionID",
    "routeName",
    "key",
    "stringValue",
    "uri",
    "name",
}
_BOOLEAN = {"isBidirectional", "isLandmarked", "isExtentUnknown"}
_DATE = {
    "validFrom",
    "validTo",
    "creationDate",
    "terminationDate",
    "finalNotificationDate",
    "decisionDate",
    "surveyDate",
}

SCHEMA_TYPES: dict[str, str] = {
    **dict.fromkeys(_DATE, DATE),
    **dict.fromkeys(_BOOLEAN, BOOLEAN),
    **dict.fromkeys(_STRING, STRING),
    **dict.fromkeys(_INTEGER, INTEGER),
    **dict.fromkeys(_DOUBLE, DOUBLE),
}


def schema_type(local_name: str) -> str | None:
    """The type of an attribute element by its local name, or None when not declared here."""
    return SCHEMA_TYPES.get(local_name)
