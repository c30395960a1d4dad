"""One-page HTML report comparing the walkability scenarios side by side.

Self-contained (no network): charts are matplotlib PNGs and maps are thumbnails of the
PNG maps, embedded as base64 ``data:`` URIs; tables are plain HTML. Sections: the
scenario table (score, shade, comfort/plain access, class shares, people-flow coverage),
charts of the score by season and time slot and of the class shares, the score and class
maps with seasons as columns and time slots as rows (summer midday beside winter midday),
the per-district scores and the people-flow coverage report.
"""
from __future__ import annotations

import base64
import html
import io
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.geo.atomic import write_text_atomic  # noqa: E402
from pipeline.walkability.classes import CLASS_COLOURS, CLASS_LABELS  # noqa: E402

log = logging.getLogger(__name__)

CSS = """
body{font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;font-size:0.85em;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.maps{display:grid;gap:6px}.maps figure{margin:0}.maps img{width:100%}.maps figcaption{font-size:0.8em;text-align:center}
.charts img{max-width:48%;margin-right:1%}.note{color:#555;font-size:0.85em}
"""


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figure_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return _png_uri(buffer.getvalue())


def _thumbnail_uri(path: str, width: int = 480) -> str:
    """A PNG map scaled down to ``width`` pixels and 256 colours, as a data URI."""
    from PIL import Image

    with Image.open(path) as image:
        ratio = width / image.width
        small = image.convert("RGB").resize((width, max(1, round(image.height * ratio))), Image.LANCZOS)
        buffer = io.BytesIO()
        small.quantize(256).save(buffer, format="PNG", optimize=True)
    return _png_uri(buffer.getvalue())


def scenario_table(run_sums: pd.DataFrame, scenarios: list) -> pd.DataFrame:
    """One row per scenario from the run's sums (``level == "run"``,
    :mod:`pipeline.walkability.partials`): length-weighted score, shade share and (with the
    thermal stage) UTCI and share of street length in strong heat or cold stress, comfort
    access ratio, people flow, class shares."""
    from pipeline.walkability.partials import scenario_summary

    rows = []
    for scenario in scenarios:
        sums = run_sums[run_sums["scenario"] == scenario.name]
        if not len(sums):
            continue
        rows.append({"scenario": scenario.name, "season": scenario.season.name, "slot": scenario.slot.name,
                     **scenario_summary(sums)})
    return pd.DataFrame(rows)


def _score_chart(table: pd.DataFrame) -> str:
    seasons = list(dict.fromkeys(table["season"]))
    slots = list(dict.fromkeys(table["slot"]))
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    width = 0.8 / max(len(slots), 1)
    x = np.arange(len(seasons))
    for i, slot in enumerate(slots):
        values = [table[(table.season == s) & (table.slot == slot)]["mean_score"].mean() for s in seasons]
        ax.bar(x + (i - (len(slots) - 1) / 2) * width, values, width, label=slot)
    ax.set_xticks(x, [s.replace("_", " ") for s in seasons])
    ax.set_ylabel("mean score (length-weighted)")
    ax.set_title("Walkability score by season and time of day")
    ax.legend(title="time slot", fontsize=8)
    ax.set_ylim(0, 100)
    return _figure_uri(fig)


def _class_chart(table: pd.DataFrame) -> str:

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    bottom = np.zeros(len(table))
    for cls, colour in CLASS_COLOURS.items():
        values = table[f"share_{cls}"].to_numpy(float) * 100
        ax.barh(table["scenario"].str.replace("_", " "), values, left=bottom, color=colour,
                label=CLASS_LABELS[cls])
        bottom += values
    ax.set_xlabel("% of street length")
    ax.set_title("Street classes per scenario")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    ax.tick_params(axis="y", labelsize=7)
    return _figure_uri(fig)


def _html_table(frame: pd.DataFrame, float_format: str = "{:.2f}") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            if isinstance(value, (float, np.floating)):
                text = "–" if not np.isfinite(value) else float_format.format(value)
            else:
                text = html.escape(str(value))
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _map_grid(maps: dict[str, str], scenarios: list, title: str) -> str:
    seasons = list(dict.fromkeys(s.season.name for s in scenarios if s.name in maps))
    slots = list(dict.fromkeys(s.slot.name for s in scenarios if s.name in maps))
    if not seasons:
        return ""
    figures = []
    for slot in slots:
        for season in seasons:
            name = f"{season}_{slot}"
            match = [s for s in scenarios if s.season.name == season and s.slot.name == slot and s.name in maps]
            if match:
                caption = html.escape(f"{season.replace('_', ' ')}, {slot}")
                figures.append(f'<figure><img alt="{html.escape(name)}" src="{_thumbnail_uri(maps[match[0].name])}">'
                               f"<figcaption>{caption}</figcaption></figure>")
            else:
                figures.append("<figure></figure>")
    return (f"<h2>{html.escape(title)}</h2><div class='maps' style='grid-template-columns:"
            f"repeat({len(seasons)},1fr)'>{''.join(figures)}</div>")


def _views_3d(views: dict[str, str]) -> str:
    """The 3D perspectives of the district, one figure per caption."""
    if not views:
        return ""
    figures = "".join(f'<figure><img alt="{html.escape(caption)}" src="{_thumbnail_uri(path, 720)}">'
                      f"<figcaption>{html.escape(caption)}</figcaption></figure>" for caption, path in views.items())
    return ("<h2>The district in 3D</h2><p class='note'>Buildings from the 3D city model, streets "
            "coloured by walkability score, the slot's shade hours draped on the ground.</p>"
            f"<div class='maps' style='grid-template-columns:repeat({min(len(views), 2)},1fr)'>{figures}</div>")


def _thermal_rule_note(settings) -> str:
    """One sentence on how c_thermal enters the score, and its comfort curve."""
    curve = settings.comfort_curve
    band = (f"c_thermal is 1 at UTCI {curve.comfort_low_c:g}-{curve.comfort_high_c:g} °C and 0 at "
            f"{curve.cold_zero_c:g} °C and {curve.heat_zero_c:g} °C")
    sides = ("Streets are read on their better sidewalk (width/2 - 1.5 m from the centreline), "
             "the shaded one in the heat and the sunny one in the cold.")
    if settings.thermal_rule == "gate":
        return (f"The score is c_thermal times the weighted mean of the other components, with plain "
                f"access: heat counts once ({band}). {sides}")
    return f"c_thermal takes the weight of shade in the score ({band}). {sides}"


def _weather_section(weather_by_season: pd.DataFrame | None) -> list[str]:
    """The weather of each season (``thermal/weather.csv``): design day, normals or observed days."""
    if weather_by_season is None or not len(weather_by_season):
        return []
    shown = weather_by_season.rename(columns={"weather_source": "weather (air temperature, humidity, wind)",
                                              "radiation_source": "radiation",
                                              "day_max_air_temperature_c": "daily maximum °C"})
    return ["<h2 id='weather'>Weather of each season</h2>",
            "<p class='note'>The forcing of every time step is in thermal/weather.csv. A design day "
            "(設計猛暑日) and a clear sky are design cases, not observations.</p>",
            _html_table(shown, "{:.1f}")]


def build_report(run_sums: pd.DataFrame, scenarios: list, *, n_segments: int, settings,
                 mesh_summary: pd.DataFrame,
                 district_summary: pd.DataFrame | None, maps: dict[str, str], class_maps: dict[str, str],
                 coverage: pd.DataFrame | None = None, weather: list[str] | None = None,
                 coolwalk: pd.DataFrame | None = None, views_3d: dict[str, str] | None = None,
                 utci_maps: dict[str, str] | None = None,
                 weather_by_season: pd.DataFrame | None = None) -> str:
    """The report as an HTML string (``run_sums``: the run's sums per scenario;
    ``views_3d``: caption -> PNG of a 3D view of the district)."""
    table = scenario_table(run_sums, scenarios)
    shown = table.rename(columns=lambda c: c.replace("share_", "% ").replace("_", " "))
    for col in [c for c in shown.columns if c.startswith("% ")]:
        shown[col] = shown[col] * 100
    weights = ", ".join(f"{k} {v:g}" for k, v in settings.weights.items())
    comfort = ", ".join(f"{k}: sun {v:g} / shade {settings.shade_weight.get(k, 1.0):g}"
                        for k, v in settings.sun_weight.items())
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>Walkability by season and time of day</title><style>{CSS}</style></head><body>",
             "<h1>Walkability and people flow by season and time of day</h1>",
             f"<p class='note'>{n_segments} street segments; people flow on "
             f"{html.escape(settings.day_type)} days, allocated by {html.escape(settings.allocation)}. "
             f"Score weights: {html.escape(weights)}. Perceived length per metre ({html.escape(comfort)}). "
             f"A street is walkable from a standing of {settings.walkable_percentile:g} (its score's "
             f"percentile among the run's streets in the same scenario); with the thermal stage "
             f"uncomfortable from {settings.uncomfortable_hours:g} h of the slot in strong heat stress "
             f"(UTCI above 32 °C) or moderate cold stress (at or below 0 °C), without it unshaded below "
             f"{settings.unshaded_below:g} shade share in a hot season.</p>",
             *([f"<p class='note'>Thermal comfort (UTCI, Tmrt) from weather: "
                f"{html.escape('; '.join(weather))}. {_thermal_rule_note(settings)}</p>"] if weather else
               ["<p class='note'>No thermal stage: the score weighs shade share.</p>"]),
             *_weather_section(weather_by_season),
             "<h2>Scenarios</h2>", _html_table(shown),
             "<p class='note'>comfort access ratio: reachable destinations with perceived (shade-"
             "weighted) lengths over those with plain lengths; below 1 the sun makes walks feel "
             "longer, above 1 shorter.</p>",
             f"<div class='charts'><img alt='score chart' src='{_score_chart(table)}'>"
             f"<img alt='class chart' src='{_class_chart(table)}'></div>",
             _map_grid(maps, scenarios, "Score maps (columns: seasons, rows: time slots)"),
             _map_grid(class_maps, scenarios, "Class maps (columns: seasons, rows: time slots)"),
             _map_grid(utci_maps or {}, scenarios, "Felt temperature (UTCI) and thermal stress of the streets "
                                                   "(columns: seasons, rows: time slots)"),
             _views_3d(views_3d or {})]
    if district_summary is not None and len(district_summary):
        pivot = district_summary.pivot(index="district", columns="scenario", values="score").reset_index()
        pivot = pivot[["district"] + [s.name for s in scenarios if s.name in pivot]]
        parts += ["<h2>Score per district</h2>", _html_table(pivot, "{:.1f}")]
    if coolwalk is not None and len(coolwalk):
        shown_cool = coolwalk[["district", "scenario", "coolwalkability_shade", "coolwalkability_thermal"]]
        parts += ["<h2>CoolWalkability per district</h2>",
                  f"<p class='note'>Share of the possible gain from shade (thermal: from comfort, UTCI) "
                  f"that routing through it realises, for an avoidance factor of "
                  f"{float(coolwalk['alpha'].iloc[0]):g} (Wolf, Vierø &amp; Szell 2024).</p>",
                  _html_table(shown_cool, "{:.3f}")]
    pivot = mesh_summary.pivot(index="meshcode", columns="scenario", values="score").reset_index()
    pivot = pivot[["meshcode"] + [s.name for s in scenarios if s.name in pivot]]
    parts += ["<h2>Score per 1 km mesh</h2>", _html_table(pivot, "{:.1f}")]
    if coverage is not None:
        coverage = coverage[coverage["day_type"] == settings.day_type]
        shown = [c for c in ("source", "scenario", "day_type", "covered", "people_source", "how") if c in coverage]
        parts += ["<h2>People-flow coverage</h2>",
                  "<p class='note'>people_source 人流の出所: observed 観測 = mlit, counters, hourly "
                  "(slots MLIT does not publish: its 11-14 h value x the hourly share of the counters "
                  "or hourly tables around the cell); modelled モデル = profile, simulated. Scenarios "
                  "no source covers get no people-flow values (their streets are 'no people-flow "
                  "data').</p>",
                  _html_table(coverage[shown])]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str | Path, run_sums: pd.DataFrame, scenarios: list, **kwargs) -> str:
    """Build the report (see :func:`build_report`) and write it atomically."""
    text = build_report(run_sums, scenarios, **kwargs)
    write_text_atomic(path, text)
    log.info("walkability report: wrote %s (%d kB)", path, len(text) // 1024)
    return str(path)
