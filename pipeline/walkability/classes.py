"""The walkability classes of a street segment, their map colours and their names."""

from __future__ import annotations

#: Class -> map colour (colour-blind safe: Okabe-Ito). "No people-flow data" takes the
#: reddish purple, far in hue from the vermillion of "used but uncomfortable" (the orange
#: #E69F00 it had read as the same warning); no colour is shared with the viewer's
#: "no data" (white) or with the shade and sun-hours imagery (cividis blues and yellows).
CLASS_COLOURS = {
    "walkable_used": "#009E73",
    "walkable_underused": "#56B4E9",
    "used_uncomfortable": "#D55E00",
    "neither": "#999999",
    "flow_unknown": "#CC79A7",
}
#: Class -> the planners' words in Japanese and English (the viewer's legend, the report).
CLASS_WORDS = {
    "walkable_used": {"en": "walkable and used", "ja": "歩きやすく利用の多いエリア"},
    "walkable_underused": {"en": "walkable but under-used (potential)", "ja": "ポテンシャルを有するエリア"},
    "used_uncomfortable": {
        "en": "used but uncomfortable (shade needed)",
        "ja": "利用は多いが快適性に課題のあるエリア",
    },
    "neither": {"en": "other streets", "ja": "その他のエリア"},
    "flow_unknown": {"en": "no people-flow data for this slot", "ja": "この時間帯の人流データなし"},
}


#: Where streets of several classes share a map cell, the later class here is drawn.
CLASS_PRIORITY = ("flow_unknown", "neither", "walkable_underused", "walkable_used", "used_uncomfortable")


def stress_class_colours() -> dict[str, str]:
    """UTCI stress class key -> colour, cold to hot, from ColorBrewer's colour-blind-safe
    RdYlBu reversed (cold blue, no stress pale yellow, heat red): the UTCI maps and the
    viewer's legend use these."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from pipeline.thermal.utci import STRESS_KEYS

    ramp = colormaps["RdYlBu_r"]
    return {key: to_hex(ramp((i + 0.5) / len(STRESS_KEYS))).upper() for i, key in enumerate(STRESS_KEYS)}
