"""Walkability: street network, accessibility with perceived lengths, components and scores.

- :mod:`~pipeline.walkability.network`: :class:`StreetNetwork` from OSM XML or line layers,
  OSM XML writer for generated streets, cityseer network structures.
- :mod:`~pipeline.walkability.accessibility`: access per destination class, land-use mix,
  centrality (cityseer), comfort-weighted (shade) impedance.
- :mod:`~pipeline.walkability.components`: per-segment shade share, slope, intersection
  density sampled from rasters.
- :mod:`~pipeline.walkability.scores`: composite 0-100 score and classification.
"""
