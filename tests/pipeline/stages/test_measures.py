"""The measures' registry side (:mod:`pipeline.stages.measures`)."""

from __future__ import annotations

import shapely

from pipeline.measures.records import StreetChange
from pipeline.stages.measures import unweighed_pedestrian_streets


def test_pedestrian_only_streets_without_a_traffic_weight_are_reported():
    line = shapely.LineString([(0, 0), (100, 0)])
    closed = [StreetChange("a.geojson#0", line=line, pedestrian_only=True)]
    widened = [StreetChange("a.geojson#1", line=line, width_m=12.0)]

    message = unweighed_pedestrian_streets(closed + widened, 1.0)
    assert message.startswith("1 street measure(s) make streets pedestrian-only")
    assert "busy_street_factor" in message and "1.14" in message
    # weighed traffic: the change reaches the perceived cost, nothing to say
    assert unweighed_pedestrian_streets(closed, 1.14) is None
    # no pedestrian-only change: nothing to say
    assert unweighed_pedestrian_streets(widened, 1.0) is None
