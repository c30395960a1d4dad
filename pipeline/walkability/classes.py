"""The walkability classes of a street segment, their map colours and their names."""
from __future__ import annotations

#: Class -> map colour (colour-blind safe: Okabe-Ito).
CLASS_COLOURS = {"walkable_used": "#009E73", "walkable_underused": "#56B4E9",
                 "used_uncomfortable": "#D55E00", "neither": "#999999", "flow_unknown": "#E69F00"}
CLASS_LABELS = {"walkable_used": "walkable & used", "walkable_underused": "walkable, under-used",
                "used_uncomfortable": "used, uncomfortable",
                "neither": "neither", "flow_unknown": "no people-flow data"}
