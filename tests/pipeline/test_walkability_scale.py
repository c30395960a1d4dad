"""Run-wide references from per-tile sketches: the sketch's accuracy and merge, and the scale."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipeline.walkability.scale import RunScale, reduce_partials, tile_partial
from pipeline.walkability.sketch import BINS_PER_DECADE, QuantileSketch

#: half a bin: the most a sketch's percentile may differ from the exact one, relatively
HALF_BIN = 10 ** (0.5 / BINS_PER_DECADE) - 1


@pytest.mark.parametrize("q", [5, 50, 75, 95, 99])
def test_sketch_percentiles_are_within_half_a_bin(q):
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.lognormal(2.0, 1.2, 20_000), np.zeros(3_000)])
    exact = np.percentile(values, q)
    estimate = QuantileSketch.of(values).quantile(q)
    if exact == 0:
        assert estimate == 0
    else:
        assert abs(estimate / exact - 1) <= HALF_BIN * 1.05


def test_merged_sketches_equal_the_sketch_of_all_values_in_any_order():
    rng = np.random.default_rng(1)
    parts = [rng.gamma(2.0, 30.0, n) for n in (10, 500, 3, 2_000)]
    whole = QuantileSketch.of(np.concatenate(parts))
    forward, backward = QuantileSketch(), QuantileSketch()
    for part in parts:
        forward = forward.merge(QuantileSketch.of(part))
    for part in reversed(parts):
        backward = backward.merge(QuantileSketch.from_json(json.loads(json.dumps(QuantileSketch.of(part).to_json()))))
    assert forward.counts == whole.counts == backward.counts
    assert forward.quantile(95) == whole.quantile(95)


def test_sketch_rejects_negative_values_and_ignores_nan():
    with pytest.raises(ValueError, match=">= 0"):
        QuantileSketch.of([1.0, -2.0])
    assert QuantileSketch.of([np.nan, 3.0]).n == 1
    assert np.isnan(QuantileSketch().quantile(50))


def _tile(tile: str, access: np.ndarray, people: np.ndarray, classes=("commercial", "office")):
    n = len(access)
    ids = [f"{tile}:{i}" for i in range(n)]
    segments = pd.DataFrame({"segment_id": ids, "length_m": np.full(n, 50.0),
                             **{f"access_{c}_400": access for c in classes},
                             **{f"access_{c}_800": access * 2 for c in classes}})
    scenarios = pd.DataFrame({"segment_id": ids * 2, "scenario": ["a"] * n + ["b"] * n,
                              "people": np.concatenate([people, np.full(n, np.nan)]),
                              "access_comfort_commercial_400": np.concatenate([access, access])})
    return segments, scenarios


def test_scale_of_tiles_matches_the_percentiles_of_the_whole_run():
    rng = np.random.default_rng(3)
    tiles = [_tile(t, rng.integers(0, 40, n).astype(float), rng.gamma(2, 10, n))
             for t, n in (("53394500", 300), ("53394501", 40), ("53394510", 900))]
    tiles.append(_tile("53394511", np.zeros(5), np.zeros(5), classes=("public",)))
    partials = [json.loads(json.dumps(tile_partial(s, r, 400))) for s, r in tiles]
    scale = reduce_partials(partials)
    segments = pd.concat([s for s, _ in tiles], ignore_index=True)
    scenarios = pd.concat([r for _, r in tiles], ignore_index=True)
    for column in ("access_commercial_400", "access_office_800"):
        exact = np.nanpercentile(segments[column], 95)
        assert scale.access_reference[column] == pytest.approx(exact, rel=HALF_BIN * 1.05)
    assert scale.access_reference["access_public_400"] == 0.0
    assert "access_comfort_commercial_400" not in scale.access_reference  # only the plain ones
    flow = scenarios[scenarios["scenario"] == "a"]["people"].to_numpy() / 50.0 * 100.0
    flow = flow[flow > 0]
    assert scale.used_at["a"] == pytest.approx(np.median(flow), rel=HALF_BIN * 1.05)
    assert scale.crowded_at["a"] == pytest.approx(np.percentile(flow, 75), rel=HALF_BIN * 1.05)
    assert "b" not in scale.used_at                  # no flow in b: no street is used
    assert scale.n_classes == 3 and scale.segments == 1245
    assert reduce_partials(partials[::-1]) == scale  # order of the tiles does not matter
    assert RunScale.from_json(scale.to_json()) == scale
