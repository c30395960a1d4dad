"""Planners' words for seasons and time slots, in Japanese and English (the report and the viewer)."""

from __future__ import annotations

SEASON_WORDS = {
    "summer_solstice": {"en": "summer solstice", "ja": "夏至"},
    "heat_day": {"en": "hot day", "ja": "猛暑日"},
    "equinox": {"en": "equinox", "ja": "春分・秋分"},
    "winter_solstice": {"en": "winter solstice", "ja": "冬至"},
}
SLOT_WORDS = {
    "morning": {"en": "morning", "ja": "朝"},
    "midday": {"en": "midday", "ja": "昼"},
    "afternoon": {"en": "afternoon", "ja": "午後"},
    "evening": {"en": "evening", "ja": "夕方"},
}


def word(name: str, table: dict[str, dict[str, str]], lang: str) -> str:
    """``name``'s word in ``lang`` from ``table``; the name with spaces for underscores if absent."""
    return table.get(name, {}).get(lang) or name.replace("_", " ")


def scenario_label(scenario, lang: str) -> str:
    """A scenario as planners name it: season and slot with its hours, e.g. 猛暑日 昼 (11:00-14:00)."""
    return (
        f"{word(scenario.season.name, SEASON_WORDS, lang)} {word(scenario.slot.name, SLOT_WORDS, lang)} "
        f"({scenario.slot.start}-{scenario.slot.end})"
    )
