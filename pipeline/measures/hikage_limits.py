"""Shadow-regulation limits (日影規制) and the text that states them.

建築基準法第56条の2 limits the hours a mid- or high-rise building may shade the land around
its site on the winter solstice, between 8:00 and 16:00 true solar time (9:00-15:00 within
Hokkaido, 道の区域内), on a horizontal plane 1.5 m, 4 m or 6.5 m above the average ground
level (平均地盤面). 別表第四 gives, per use district, which buildings are regulated, the
planes allowed and the pairs of hours a local ordinance (条例) may choose from:

- 第一種・第二種低層住居専用地域, 田園住居地域: eaves above 7 m or 3+ storeys; plane 1.5 m;
  (一) 3/2, (二) 4/2.5, (三) 5/3 hours (more than 5 m up to 10 m / beyond 10 m);
- 第一種・第二種中高層住居専用地域: height above 10 m; plane 4 or 6.5 m; (一) 3/2, (二) 4/2.5, (三) 5/3;
- 第一種・第二種住居地域, 準住居地域, 近隣商業地域, 準工業地域: height above 10 m; plane 4 or
  6.5 m; (一) 4/2.5, (二) 5/3;
- 用途地域の指定のない区域: イ eaves above 7 m or 3+ storeys, plane 1.5 m, or ロ height above
  10 m, plane 4 m; (一) 3/2, (二) 4/2.5, (三) 5/3.

Within Hokkaido every pair is one step lower: 3/2 -> 2/1.5, 4/2.5 -> 3/2, 5/3 -> 4/2.5.
商業地域, 工業地域 and 工業専用地域 are not in the table: no shadow regulation applies there
(the exception of 第56条の2第4項, a tall building outside a regulated area that shades one,
is not modelled).

Where PLATEAU urban-planning data (i-UR ``urf``) carries the ordinance's choice it is the
string attribute ``urf:shadeRegulation`` (ingested as the column ``shade_regulation``), in
the form cities print on their planning maps, e.g. 「(一) 4時間-2.5時間／4m」.
:func:`parse_shade_regulation` reads it into a :class:`ShadowLimits`.

Sources: 建築基準法 (昭和25年法律第201号) 第56条の2 and 別表第四 (e-Gov 法令検索,
https://laws.e-gov.go.jp/law/325AC0000000201); use-district codes: PLATEAU code list
``Common_districtsAndZonesType.xml`` (i-UR).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pipeline.shade.diagram import (
    HOKKAIDO_SOLAR_WINDOW,
    MEASUREMENT_PLANES_M,
    REGULATED_SOLAR_WINDOW,
)

#: The pairs of hours (5-10 m band, beyond 10 m) of 別表第四 (に), by 号 number.
HOUR_PAIRS: dict[int, tuple[float, float]] = {1: (3.0, 2.0), 2: (4.0, 2.5), 3: (5.0, 3.0)}
#: The same within Hokkaido (「道の区域内にあつては」).
HOUR_PAIRS_HOKKAIDO: dict[int, tuple[float, float]] = {1: (2.0, 1.5), 2: (3.0, 2.0), 3: (4.0, 2.5)}

# 別表第四 rows by use-district code (urf:function, Common_districtsAndZonesType):
# planes allowed and the 号 numbers of HOUR_PAIRS the row offers (its own (一) is our 1 or 2).
_LOW_RISE = ((1.5,), {1: 1, 2: 2, 3: 3})
_MID_RISE = ((4.0, 6.5), {1: 1, 2: 2, 3: 3})
_RESIDENTIAL = ((4.0, 6.5), {1: 2, 2: 3})
_UNZONED = ((1.5, 4.0), {1: 1, 2: 2, 3: 3})
ZONE_ROWS: dict[str, tuple[tuple[float, ...], dict[int, int]]] = {
    "0": _UNZONED,  # 用途地域の指定をしない区域 (イ 1.5 m, ロ 4 m)
    "1": _LOW_RISE,
    "2": _LOW_RISE,
    "8": _LOW_RISE,  # 低層住居専用, 田園住居
    "3": _MID_RISE,
    "4": _MID_RISE,  # 中高層住居専用
    "5": _RESIDENTIAL,
    "6": _RESIDENTIAL,
    "7": _RESIDENTIAL,  # 第一種・第二種住居, 準住居
    "9": _RESIDENTIAL,
    "11": _RESIDENTIAL,  # 近隣商業, 準工業
}
#: Use districts 別表第四 leaves out: 商業地域, 工業地域, 工業専用地域.
UNREGULATED_ZONES = frozenset({"10", "12", "13"})
#: Prefecture code of Hokkaido (Common_localPublicAuthorities / JIS X 0401).
HOKKAIDO_PREFECTURE = "01"

_KANJI_NUMBER = {"一": 1, "二": 2, "三": 3}
_NONE_TEXTS = {"", "-", "なし", "無し", "無", "規制なし", "指定なし", "日影規制なし", "適用なし"}
_NUMBER = r"(\d+(?:\.\d+)?)"
_HOURS = r"\s*(?:時間|h|hr|hrs|H)"
_SEPARATOR = r"\s*[-‐‑‒–—―ー−~〜・,、/]\s*"
_PATTERN = re.compile(
    r"^(?:\(\s*(?P<go>[一二三123])\s*\)|(?P<go2>[一二三123])\s*号)?\s*"
    rf"{_NUMBER}{_HOURS}{_SEPARATOR}{_NUMBER}{_HOURS}"
    r"\s*(?:[/,、]\s*)?(?:測定(?:水平)?面|平均地盤面(?:から|より)?(?:の高さ)?|GL\s*\+?)?\s*"
    rf"{_NUMBER}\s*(?:m|メートル)$"
)


class ShadeRegulationTextError(ValueError):
    """A shadow-regulation text that cannot be read as limits of 別表第四."""


@dataclass(frozen=True)
class ShadowLimits:
    """The limits of 日影規制 that apply to a site.

    Attributes
    ----------
    near_hours : float
        Most hours of shadow allowed more than 5 m and at most 10 m from the site boundary.
    far_hours : float
        Most hours of shadow allowed more than 10 m from the site boundary.
    plane_height_m : float
        Height of the measurement plane above the average ground level: 1.5, 4 or 6.5 m.
    in_hokkaido : bool
        Within Hokkaido: the regulated day is 9:00-15:00 true solar time and the pairs of
        hours are :data:`HOUR_PAIRS_HOKKAIDO`.
    class_number : int or None
        The ordinance's 号 in its row of 別表第四 ((一) = 1), where stated.
    source : str
        Where the limits come from: the text parsed or ``"run definition"``.
    """

    near_hours: float
    far_hours: float
    plane_height_m: float
    in_hokkaido: bool = False
    class_number: int | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if float(self.plane_height_m) not in MEASUREMENT_PLANES_M:
            raise ValueError(
                f"measurement plane {self.plane_height_m} m is not one of 別表第四's "
                f"{MEASUREMENT_PLANES_M} m ({self.source or 'limits'})"
            )
        pairs = (HOUR_PAIRS_HOKKAIDO if self.in_hokkaido else HOUR_PAIRS).values()
        if (float(self.near_hours), float(self.far_hours)) not in pairs:
            where = "within Hokkaido" if self.in_hokkaido else "outside Hokkaido"
            raise ValueError(
                f"hours {self.near_hours}/{self.far_hours} are not a pair of 別表第四 "
                f"{where} ({sorted(pairs)}) ({self.source or 'limits'})"
            )

    @property
    def solar_window(self) -> tuple[float, float]:
        """The regulated hours of true solar time: (8, 16), or (9, 15) within Hokkaido."""
        return HOKKAIDO_SOLAR_WINDOW if self.in_hokkaido else REGULATED_SOLAR_WINDOW

    @property
    def label(self) -> str:
        """The limits written as cities print them, e.g. 「4時間-2.5時間／4m」."""
        return f"{self.near_hours:g}時間-{self.far_hours:g}時間／{self.plane_height_m:g}m"

    def regulates(self, height_m: float, storeys: int | None = None) -> bool:
        """Whether a building is subject to the regulation (対象建築物, 別表第四 (ろ)).

        With the 1.5 m plane (low-rise residential districts, 無指定 イ): eaves above 7 m or
        three or more storeys above ground; with 4 m or 6.5 m: height above 10 m. The
        eaves of an LOD1 prism are its height.
        """
        if self.plane_height_m == 1.5:
            return height_m > 7.0 or (storeys is not None and storeys >= 3)
        return height_m > 10.0


def parse_shade_regulation(
    text: str | None, *, zone_code: str | int | None = None, in_hokkaido: bool = False, where: str = ""
) -> ShadowLimits | None:
    """Read a shadow-regulation text such as 「(一) 4時間-2.5時間／4m」.

    Full-width characters are normalised (NFKC), so 「（二）５時間－３時間／６．５ｍ」
    reads too; the 号 may be written (一), (1) or 一号 and may be missing; hours may be
    written 時間 or h; the plane may be prefixed 測定面 or 平均地盤面から.

    Parameters
    ----------
    text : str or None
        The text (``urf:shadeRegulation``).
    zone_code : str or int, optional
        The use district (``urf:function``, Common_districtsAndZonesType). When given, the
        plane and the pair of hours must be ones its row of 別表第四 allows, and a stated
        号 must name that pair.
    in_hokkaido : bool
        Read the hours against Hokkaido's pairs (the text does not say).
    where : str
        Named in errors (e.g. the district's ``gml:id``).

    Returns
    -------
    ShadowLimits or None
        None for an empty text or one that says there is no regulation (「規制なし」, 「なし」).

    Raises
    ------
    ShadeRegulationTextError
        When the text cannot be read, or names limits 別表第四 does not have.
    """
    raw = "" if text is None else str(text)
    normal = unicodedata.normalize("NFKC", raw).strip()
    if normal.replace(" ", "") in _NONE_TEXTS:
        return None
    context = f"{where}: " if where else ""
    match = _PATTERN.match(normal)
    if not match:
        raise ShadeRegulationTextError(
            f"{context}cannot read the shadow regulation 「{raw}」: expected hours at 5-10 m, hours "
            "beyond 10 m and the measurement plane, e.g. 「(一) 4時間-2.5時間／4m」"
        )
    go_text = match.group("go") or match.group("go2")
    go = None if go_text is None else _KANJI_NUMBER.get(go_text) or int(go_text)
    near, far, plane = (float(match.group(i)) for i in (3, 4, 5))
    try:
        limits = ShadowLimits(near, far, plane, in_hokkaido=in_hokkaido, class_number=go, source=raw)
    except ValueError as error:
        raise ShadeRegulationTextError(f"{context}shadow regulation 「{raw}」: {error}") from None
    if zone_code is not None:
        _check_against_zone(limits, str(zone_code).strip(), raw, context)
    return limits


def _check_against_zone(limits: ShadowLimits, zone: str, raw: str, context: str) -> None:
    if zone in UNREGULATED_ZONES:
        raise ShadeRegulationTextError(
            f"{context}shadow regulation 「{raw}」 on use district {zone}, which 別表第四 does not "
            "regulate (商業・工業・工業専用地域)"
        )
    if zone not in ZONE_ROWS:
        raise ShadeRegulationTextError(
            f"{context}shadow regulation 「{raw}」 on unknown use district code {zone!r}"
        )
    planes, numbers = ZONE_ROWS[zone]
    if limits.plane_height_m not in planes:
        raise ShadeRegulationTextError(
            f"{context}shadow regulation 「{raw}」: plane {limits.plane_height_m:g} m is not allowed in "
            f"use district {zone} (別表第四 (は): {', '.join(f'{p:g}' for p in planes)} m)"
        )
    pairs = HOUR_PAIRS_HOKKAIDO if limits.in_hokkaido else HOUR_PAIRS
    offered = {go: pairs[n] for go, n in numbers.items()}
    pair = (limits.near_hours, limits.far_hours)
    if pair not in offered.values():
        raise ShadeRegulationTextError(
            f"{context}shadow regulation 「{raw}」: hours {pair[0]:g}/{pair[1]:g} are not offered in "
            f"use district {zone} (別表第四 (に): {sorted(offered.values())})"
        )
    if limits.class_number is not None and offered.get(limits.class_number) != pair:
        raise ShadeRegulationTextError(
            f"{context}shadow regulation 「{raw}」: 号 ({limits.class_number}) of use district {zone} "
            f"is {offered.get(limits.class_number)}, not {pair}"
        )


def is_hokkaido(prefecture_code: str | int | None) -> bool:
    """Whether a prefecture code (``urf:prefecture``, e.g. ``"01"`` or ``1``) is Hokkaido."""
    if prefecture_code is None:
        return False
    text = str(prefecture_code).strip()
    return text.isdigit() and int(text) == int(HOKKAIDO_PREFECTURE)
