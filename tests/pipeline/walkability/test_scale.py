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
        backward = backward.merge(
            QuantileSketch.from_json(json.loads(json.dumps(QuantileSketch.of(part).to_json())))
        )
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
    segments = pd.DataFrame(
        {
            "segment_id": ids,
            "length_m": np.full(n, 50.0),
            **{f"access_{c}_400": access for c in classes},
            **{f"access_{c}_800": access * 2 for c in classes},
        }
    )
    scenarios = pd.DataFrame(
        {
            "segment_id": ids * 2,
            "scenario": ["a"] * n + ["b"] * n,
            "people": np.concatenate([people, np.full(n, np.nan)]),
            "access_comfort_commercial_400": np.concatenate([access, access]),
        }
    )
    return segments, scenarios


def test_scale_of_tiles_matches_the_percentiles_of_the_whole_run():
    rng = np.random.default_rng(3)
    tiles = [
        _tile(t, rng.integers(0, 40, n).astype(float), rng.gamma(2, 10, n))
        for t, n in (("53394500", 300), ("53394501", 40), ("53394510", 900))
    ]
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
    assert "b" not in scale.used_at  # no flow in b: no street is used
    assert scale.n_classes == 3 and scale.segments == 1245
    assert reduce_partials(partials[::-1]) == scale  # order of the tiles does not matter
    assert RunScale.from_json(scale.to_json()) == scale


def test_percentile_rank_of_merged_score_sketches_is_the_standing_over_all_tiles():
    """Two tiles' score sketches merged rank a segment among every segment of the run, as
    scipy's mid-rank ``percentileofscore`` does, to within the ties a bin makes."""
    from scipy.stats import percentileofscore

    rng = np.random.default_rng(3)
    tiles = [rng.uniform(5, 30, 400), np.concatenate([rng.uniform(20, 60, 200), np.zeros(20)])]
    merged = QuantileSketch.of(tiles[0]).merge(QuantileSketch.of(tiles[1]))
    every = np.concatenate(tiles)
    for value in (0.0, 6.0, 17.3, 29.9, 45.0, 60.0):
        exact = percentileofscore(every, value, kind="mean")
        assert abs(merged.percentile_rank([value])[0] - exact) < 0.5, value
    low, high = merged.percentile_rank([0.0, 1000.0])
    assert low == pytest.approx(100 * 10 / len(every)) and high == 100.0  # the zeros' mid-rank
    assert np.isnan(merged.percentile_rank([np.nan])[0])
    assert np.isnan(QuantileSketch().percentile_rank([5.0])[0])


def test_score_sketch_ranks_exactly_to_a_hundredth_of_a_point():
    """The scores of two tiles, sketched and merged, rank every score as scipy's mid-rank
    ``percentileofscore`` ranks it among all of them (no two scores a hundredth apart)."""
    from scipy.stats import percentileofscore

    from pipeline.walkability.sketch import ScoreSketch

    rng = np.random.default_rng(5)
    tiles = [
        np.round(rng.uniform(5, 30, 300), 2),
        np.concatenate([np.round(rng.uniform(20, 60, 200), 2), np.zeros(20), [100.0, np.nan]]),
    ]
    merged = ScoreSketch.of(tiles[0]).merge(
        ScoreSketch.from_json(json.loads(json.dumps(ScoreSketch.of(tiles[1]).to_json())))
    )
    every = np.concatenate(tiles)
    every = every[np.isfinite(every)]
    assert merged.n == len(every) == 521
    probes = np.concatenate([every[::7], [0.0, 100.0, 33.333]])
    exact = [percentileofscore(every, v, kind="mean") for v in probes]
    np.testing.assert_allclose(merged.percentile_rank(probes), exact, atol=1e-9)
    assert np.isnan(merged.percentile_rank([np.nan])[0]) and np.isnan(ScoreSketch().percentile_rank([5.0])[0])
    scale = RunScale(score={"heat_day_midday": merged.to_json()})
    np.testing.assert_allclose(
        scale.score_percentile("heat_day_midday", [17.3]), merged.percentile_rank([17.3])
    )
    assert np.isnan(scale.score_percentile("equinox_midday", [17.3])[0])
    assert RunScale.from_json(scale.to_json()) == scale
