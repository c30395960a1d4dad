"""Legends of the planners' viewer: palettes, value ranges, units and words in two languages.

Every coloured layer of the viewer is drawn from one legend written into ``viewer.json``,
so the app's colours, its legend box and the saved image agree. Palettes are readable
with colour-vision deficiencies: the classes use Okabe-Ito colours (as the walkability
maps do), ramps are matplotlib's perceptually uniform viridis/cividis/magma, binned
into ``RAMP_STEPS`` steps so that a colour read back from the 3D view maps to one bin.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.walkability.classes import CLASS_COLOURS, CLASS_WORDS
from pipeline.walkability.words import SEASON_WORDS as SEASON_LABELS  # noqa: F401 (assets reads it here)
from pipeline.walkability.words import SLOT_WORDS as SLOT_LABELS  # noqa: F401 (assets reads it here)

RAMP_STEPS = 8
#: Okabe-Ito, for categories without a colour of their own (building usage).
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")

CLASS_LABELS = CLASS_WORDS
COMPONENT_LABELS = {
    "c_access": {"en": "access to destinations", "ja": "目的地へのアクセス"},
    "c_mix": {"en": "land-use mix", "ja": "土地利用の多様性"},
    "c_intersections": {"en": "intersection density", "ja": "交差点密度"},
    "c_shade": {"en": "shade", "ja": "日陰"},
    "c_slope": {"en": "gentle slope", "ja": "勾配の緩やかさ"},
    "c_width": {"en": "width", "ja": "幅員"},
    "c_thermal": {"en": "thermal comfort (UTCI)", "ja": "温熱快適性(UTCI)"},
}
VARIABLE_WORDS = {
    "score": ({"en": "Walkability score", "ja": "歩きやすさスコア"}, {"en": "0-100", "ja": "0〜100"}),
    "score_percentile": ({"en": "Standing among the streets of this scenario", "ja": "このシナリオ内での順位"},
                         {"en": "percentile, 0-100 (100: best street of the slot)",
                          "ja": "パーセンタイル 0〜100(100: この時間帯で最良の街路)"}),
    "hours_utci_above_32": ({"en": "Hours in strong heat stress or worse (UTCI ≥ 32 °C), walked side",
                             "ja": "強い暑熱ストレス以上の時間(UTCI 32 °C 以上、歩く側)"}, {"en": "h", "ja": "時間"}),
    "class": ({"en": "Walkability class", "ja": "歩きやすさの分類"}, {"en": "class", "ja": "分類"}),
    "shade_share": ({"en": "Shade share of the street", "ja": "街路の日陰率"}, {"en": "% of the slot", "ja": "時間帯に占める割合 %"}),
    "priority": ({"en": "Priority: unshaded person-hours in strong heat stress", "ja": "優先度: 日陰のない強い暑熱ストレス下の人・時間"},
                 {"en": "person-hours", "ja": "人・時間"}),
    "people_per_100m": ({"en": "People per 100 m of street", "ja": "街路100mあたりの人流"}, {"en": "people / 100 m", "ja": "人/100 m"}),
    "shade_hours": ({"en": "Shade hours in the slot", "ja": "時間帯内の日陰時間"}, {"en": "h", "ja": "時間"}),
    "sun_hours": ({"en": "Sun hours over the day", "ja": "終日の日照時間"}, {"en": "h", "ja": "時間"}),
    "roof_shade_hours": ({"en": "Roof shade hours in the slot", "ja": "屋根の日陰時間"}, {"en": "h", "ja": "時間"}),
    "walk_score": ({"en": "Walk score of the nearest street", "ja": "最寄り街路の歩きやすさスコア"}, {"en": "0-100", "ja": "0〜100"}),
    "usage": ({"en": "Building usage", "ja": "建物用途"}, {"en": "PLATEAU usage", "ja": "PLATEAU 用途"}),
    "population": ({"en": "People present in the mesh cell", "ja": "メッシュ内の滞在人口"}, {"en": "persons", "ja": "人"}),
    "utci_mean_c": ({"en": "Felt temperature (UTCI), mean over the slot", "ja": "体感温度 UTCI(時間帯平均)"},
                    {"en": "°C", "ja": "°C"}),
    "utci_class": ({"en": "Thermal stress (UTCI class)", "ja": "熱ストレス(UTCI 区分)"},
                   {"en": "class of the mean UTCI", "ja": "平均 UTCI の区分"}),
}
#: Streets coloured by shade share take RdPu, a hue the shade and sun-hours imagery
#: (cividis blues and yellows) never shows, so the streets stay visible over it.
PALETTES = {"score": "viridis", "score_percentile": "viridis", "hours_utci_above_32": "OrRd", "shade_share": "RdPu", "people_per_100m": "magma_r",
            "shade_hours": "cividis_r", "sun_hours": "cividis", "roof_shade_hours": "cividis_r",
            "walk_score": "viridis", "population": "viridis", "utci_mean_c": "RdYlBu_r"}


def words(name: str, table: Mapping[str, dict[str, str]]) -> dict[str, str]:
    """The {en, ja} words of ``name`` in ``table``, else the name itself in both."""
    plain = name.replace("_", " ")
    return dict(table.get(name, {"en": plain, "ja": plain}))


def ramp_stops(cmap: str, steps: int = RAMP_STEPS) -> list[str]:
    """``steps`` hex colours sampled at the bin centres of a matplotlib colour map."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    colours = colormaps[cmap]
    return [to_hex(colours((i + 0.5) / steps)).upper() for i in range(steps)]


#: Variables stored as shares (0-1) that the viewer shows in % (its ticks times this).
DISPLAY_SCALE = {"shade_share": 100.0}


def ramp_legend(variable: str, vmin: float, vmax: float, *, cmap: str | None = None,
                domains: Mapping[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """A binned ramp legend for ``variable`` over [vmin, vmax] (its units).

    ``domains`` (scenario -> (min, max)) are each scenario's own range: the viewer colours a
    scenario over its own values and switches to [vmin, vmax], the fixed domain across the
    scenarios, to compare them. A share shown in % has a ``display_scale`` of 100.
    """
    title, units = VARIABLE_WORDS.get(variable, (words(variable, {}), {"en": "", "ja": ""}))
    cmap = cmap or PALETTES.get(variable, "viridis")
    legend = {"kind": "ramp", "title": dict(title), "units": dict(units), "min": float(vmin), "max": float(vmax),
              "palette": cmap, "stops": ramp_stops(cmap)}
    if variable in DISPLAY_SCALE:
        legend["display_scale"] = DISPLAY_SCALE[variable]
    if domains:
        legend["domains"] = {k: [float(lo), float(hi)] for k, (lo, hi) in domains.items()}
    return legend


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above ``value`` (1.0 for none or <= 0)."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def data_domain(values, *, step: float = 1.0) -> tuple[float, float] | None:
    """[min, max] of the finite ``values`` widened to multiples of ``step``; None if none is
    finite. A constant value gets one step of width (a ramp needs one)."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    lo, hi = float(np.floor(v.min() / step) * step), float(np.ceil(v.max() / step) * step)
    return (lo, hi) if hi > lo else (lo, lo + step)


def class_legend() -> dict[str, Any]:
    """The walkability classes with their map colours and planners' words."""
    title, units = VARIABLE_WORDS["class"]
    return {"kind": "categories", "title": dict(title), "units": dict(units),
            "categories": [{"value": c, "colour": colour, "label": words(c, CLASS_LABELS)}
                           for c, colour in CLASS_COLOURS.items()]}


def stress_class_legend() -> dict[str, Any]:
    """UTCI's ten stress classes, cold to hot, in the UTCI maps' colours
    (:func:`pipeline.walkability.classes.stress_class_colours`), with their Japanese names."""
    from pipeline.thermal.utci import STRESS_CLASSES
    from pipeline.walkability.classes import stress_class_colours

    title, units = VARIABLE_WORDS["utci_class"]
    colours = stress_class_colours()
    return {"kind": "categories", "title": dict(title), "units": dict(units),
            "categories": [{"value": c.key, "colour": colours[c.key], "label": {"en": c.label_en, "ja": c.label_ja}}
                           for c in STRESS_CLASSES]}


def usage_legend(usages: Sequence[str]) -> dict[str, Any]:
    """Building usages (labels as in the tiles' ``usage`` property), most common first;
    the eighth and later share the last colour."""
    title, units = VARIABLE_WORDS["usage"]
    categories = [{"value": u, "colour": OKABE_ITO[min(i, len(OKABE_ITO) - 1)], "label": {"en": u, "ja": u}}
                  for i, u in enumerate(usages[: len(OKABE_ITO)])]
    return {"kind": "categories", "title": dict(title), "units": dict(units), "categories": categories,
            "other": OKABE_ITO[-1]}
