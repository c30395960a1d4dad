"""Flatten a city object's attributes into stable snake_case columns.

The reader keeps attributes as CityGML names them (``measuredHeight``,
``uro:buildingDetailAttribute`` as a list of groups). Tables want one flat row per
feature with names that do not change from file to file; this module makes them:

- thematic attributes: ``measuredHeight`` -> ``measured_height`` (+ ``measured_height_uom``),
  code values keep the raw code and add ``<name>_label`` when a codelist resolved it;
- generic attributes: ``gen:名前`` -> ``gen_名前`` (names are kept, only made identifier-safe);
- i-UR leaves (``urf:function``, ``urf:floorAreaRate``) are thematic attributes:
  ``function`` (+ ``function_label``), ``floor_area_rate``;
- i-UR groups: identity and detail groups flatten without prefix (``building_id``,
  ``total_floor_area``, ``survey_year``); key/value pairs become ``kv_<key>``; disaster
  risks of any theme (``uro:buildingDisasterRiskAttribute`` on buildings,
  ``uro:floodingRiskAttribute`` on the ``wtr:WaterBody`` of ``fld``/``tnm``/``htd``/``ifld``
  files, i-UR 2.0's ``uro:waterBody...RiskAttribute``) become ``<risk>_<n>_<field>``
  (``river_flooding_risk_1_depth``, ``high_tide_risk_1_rank_label``) plus the derived
  maxima ``flood_depth_max_m``, ``tsunami_depth_max_m``; any other group
  ``<group>_<field>``.

The original nested attributes are also returned as JSON under ``attributes_json`` so
nothing is lost.
"""

from __future__ import annotations

import json
import re
from typing import Any

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_UNSAFE = re.compile(r"[^\w]+", re.UNICODE)

# i-UR groups whose fields are unambiguous on their own (1.4, 2.0 and 3.x names).
_PREFIXLESS = {
    "buildingIDAttribute",
    "buildingDetailAttribute",
    "buildingDetails",
    "BuildingIDAttribute",
    "BuildingDetailAttribute",
    "buildingIdAttribute",
}
_RISK_GROUP = re.compile(r"RiskAttribute$")
_RISK_STEM = re.compile(r"^(?:Building|WaterBody)|Attribute$")
_FLOOD_TYPES = ("RiverFlooding", "InlandFlooding", "HighTideRisk", "Flooding")


def snake_case(name: str) -> str:
    """``measuredHeight`` -> ``measured_height``, ``buildingID`` -> ``building_id``."""
    name = _CAMEL.sub("_", name.replace(".", "_").replace("/", "_"))
    name = _UNSAFE.sub("_", name).strip("_").lower()
    return re.sub(r"_+", "_", name)


def flatten_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """One flat, JSON-safe dict of scalar columns from a record's attributes."""
    flat: dict[str, Any] = {}
    for key, value in attributes.items():
        if key.startswith("gen:"):
            flat["gen_" + _UNSAFE.sub("_", key[4:]).strip("_")] = value
        elif ":" in key and isinstance(value, list):
            _flatten_group(key.split(":", 1)[1], value, flat)
        elif isinstance(value, list):
            _flatten_group(key, value, flat)
        else:
            flat[snake_case(key)] = value
    flat["attributes_json"] = json.dumps(attributes, ensure_ascii=False, default=str)
    return flat


def _flatten_group(group: str, entries: list[dict[str, Any]], flat: dict[str, Any]) -> None:
    if group == "keyValuePairAttribute" or group == "extendedAttribute":
        for entry in entries:
            key = entry.get("key")
            if key is not None:
                flat[f"kv_{snake_case(str(key))}"] = entry.get("codeValue", entry.get("stringValue"))
        return
    if _RISK_GROUP.search(group):
        counts: dict[str, int] = {}
        for entry in entries:
            kind = str(entry.get("type", "risk"))
            stem = snake_case(_RISK_STEM.sub("", kind))
            counts[stem] = counts.get(stem, 0) + 1
            for field, value in entry.items():
                if field != "type":
                    flat[f"{stem}_{counts[stem]}_{snake_case(field)}"] = value
            depth = entry.get("depth")
            if isinstance(depth, (int, float)):
                target = (
                    "tsunami_depth_max_m"
                    if "Tsunami" in kind
                    else "flood_depth_max_m"
                    if any(t in kind for t in _FLOOD_TYPES)
                    else None
                )
                if target:
                    flat[target] = max(flat.get(target, float("-inf")), float(depth))
        return
    prefix = "" if group in _PREFIXLESS else snake_case(re.sub(r"Attribute$", "", group)) + "_"
    for index, entry in enumerate(entries, start=1):
        suffix = "" if len(entries) == 1 else f"_{index}"
        for field, value in entry.items():
            if field == "type":
                continue
            if isinstance(value, list):
                value = json.dumps(value, ensure_ascii=False, default=str)
            flat[f"{prefix}{snake_case(field)}{suffix}"] = value
