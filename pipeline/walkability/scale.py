"""What scores a segment the same way in every tile: run-wide references, as a reduction.

Three things in a score depend on the whole run rather than on the segment
(:mod:`pipeline.walkability.scores`): the access components are scaled by the 95th
percentile of each plain access column over the run; the classes call a street "used"
from the median and "crowded" from the 75th percentile of people per 100 m over the run's
streets with flow; and a segment's standing in a scenario (``score_percentile``) is its
rank among the run's scores in that scenario. None may need every segment of a city in
one task, so:

1. each ``walkability`` tile task sketches its own values (:func:`tile_partial`, a few kB
   of JSON beside its tables);
2. one small task merges the sketches (:func:`reduce_partials`) into a :class:`RunScale`,
   then reads the tiles' tables one at a time, scores them with that scale and merges
   the sketches of their scores per scenario (:attr:`RunScale.score`);
3. every tile is then scored and ranked on its own, in parallel, with that scale.

The sketches are :class:`pipeline.walkability.sketch.QuantileSketch` (within 0.6 % of the
exact percentile); merging is order-independent, so the scale is the same whatever order
tiles finished in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from pipeline.walkability.sketch import QuantileSketch, ScoreSketch

#: the percentile of a plain access column that scales it to 1
ACCESS_PERCENTILE = 95.0
#: people per 100 m from which a street is "used", and above which "crowded"
USED_PERCENTILE, CROWDED_PERCENTILE = 50.0, 75.0


def plain_access_columns(columns: Iterable[str]) -> list[str]:
    """The plain access columns (``access_<class>_<metres>``, not the comfort-weighted ones)."""
    return [c for c in columns if c.startswith("access_") and not c.startswith("access_comfort_")]


def people_per_100m(people, length_m) -> np.ndarray:
    """People on a segment per 100 m of it (NaN where the flow is unknown)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(people, float) / np.asarray(length_m, float) * 100.0


@dataclass
class RunScale:
    """The run-wide references of the scores and classes.

    Attributes
    ----------
    access_reference : dict
        Plain access column -> its 95th percentile over the run's segments.
    used_at, crowded_at : dict
        Scenario -> people per 100 m from which a street with flow is used (median) and
        above which it is crowded (75th percentile); absent when no street has flow.
    n_classes : int
        Destination classes with an access column at the first distance anywhere in the
        run (the land-use mix is scaled by it).
    segments : int
        Segments of the run.
    score : dict
        Scenario -> the sketch (:class:`ScoreSketch`) of the run's segment
        scores in it, from which a segment's ``score_percentile`` follows.
    """

    access_reference: dict[str, float] = field(default_factory=dict)
    used_at: dict[str, float] = field(default_factory=dict)
    crowded_at: dict[str, float] = field(default_factory=dict)
    n_classes: int = 0
    segments: int = 0
    score: dict[str, dict[str, int]] = field(default_factory=dict)

    def score_percentile(self, scenario: str, scores) -> np.ndarray:
        """Standing (0-100) of ``scores`` among the run's segment scores of ``scenario``
        (:meth:`QuantileSketch.percentile_rank`); NaN when the scale has no scores for it."""
        return ScoreSketch.from_json(self.score.get(scenario, {})).percentile_rank(scores)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunScale:
        return cls(**json.loads(text))


def tile_partial(segments: pd.DataFrame, scenarios: pd.DataFrame, first_distance: int) -> dict:
    """The sketches of one tile (JSON-able): every plain access column of ``segments``
    (the tile's static table), and per scenario the people per 100 m of its streets with
    flow (``scenarios``: rows ``segment_id, scenario, people``)."""
    access = {c: QuantileSketch.of(segments[c]).to_json() for c in sorted(plain_access_columns(segments))}
    length = segments.set_index("segment_id")["length_m"]
    flow = {}
    for name, rows in scenarios.groupby("scenario", sort=True):
        values = people_per_100m(rows["people"], length.reindex(rows["segment_id"]).to_numpy())
        flow[str(name)] = QuantileSketch.of(values[np.isfinite(values) & (values > 0)]).to_json()
    classes = sorted(c for c in plain_access_columns(segments) if c.endswith(f"_{first_distance}"))
    return {"access": access, "flow": flow, "classes": classes, "segments": int(len(segments))}


def reduce_partials(partials: Iterable[Mapping]) -> RunScale:
    """Merge the tiles' :func:`tile_partial` sketches into the run's :class:`RunScale`."""
    access: dict[str, QuantileSketch] = {}
    flow: dict[str, QuantileSketch] = {}
    classes: set[str] = set()
    segments = 0
    for partial in partials:
        for column, sketch in partial["access"].items():
            access[column] = access.get(column, QuantileSketch()).merge(QuantileSketch.from_json(sketch))
        for name, sketch in partial["flow"].items():
            flow[name] = flow.get(name, QuantileSketch()).merge(QuantileSketch.from_json(sketch))
        classes.update(partial["classes"])
        segments += int(partial["segments"])
    used = {name: s.quantile(USED_PERCENTILE) for name, s in sorted(flow.items()) if s.n}
    crowded = {name: s.quantile(CROWDED_PERCENTILE) for name, s in sorted(flow.items()) if s.n}
    return RunScale(
        access_reference={c: s.quantile(ACCESS_PERCENTILE) for c, s in sorted(access.items()) if s.n},
        used_at=used,
        crowded_at=crowded,
        n_classes=len(classes),
        segments=segments,
    )
