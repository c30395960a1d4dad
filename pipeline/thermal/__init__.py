"""Thermal comfort: weather, clear-sky radiation, sky view factor, Tmrt, UTCI, comfort, CoolWalks.

- :mod:`~pipeline.thermal.weather`: air temperature, humidity, wind (and observed
  radiation) per time step of a scenario, from a JMA hourly CSV, a plain CSV, or monthly
  climate normals; the design heat day.
- :mod:`~pipeline.thermal.radiation`: clear-sky direct and diffuse irradiance (pvlib
  Ineichen, the design case) at the sun positions the shadow stage uses, or observed
  global radiation split by Erbs.
- :mod:`~pipeline.thermal.forcing`: each scenario's forcing by its season's weather kind
  (file, 設計猛暑日 design heat day, observed hot days) and ``thermal/weather.csv``.
- :mod:`~pipeline.thermal.wind`: the station's 10 m wind at pedestrian height in a street
  canyon, as the equivalent 10 m wind UTCI expects.
- :mod:`~pipeline.thermal.svf`: sky view factor per cell from a DSM (horizon angles along
  the shadow stage's ray lattice, or the shadow pass's own sector horizons), with tree
  crowns by transmissivity.
- :mod:`~pipeline.thermal.tmrt`: mean radiant temperature per cell (SOLWEIG scheme,
  simplified as documented there).
- :mod:`~pipeline.thermal.utci`: UTCI (pythermalcomfort) and the ten stress classes.
- :mod:`~pipeline.thermal.tile`: everything above for one tile and its scenarios, in one
  pass with the tile's shade (:func:`~pipeline.thermal.tile.shade_and_thermal`).

Per street segment (the comfort component ``c_thermal``, UTCI and stress-class shares) and
per network (CoolWalkability) the walkability package builds on these:
:mod:`pipeline.walkability.comfort`, :mod:`pipeline.walkability.coolwalk`.
"""
