"""The planners' app as a site: the viewer's assets a run publishes under ``OUT/viewer/``.

- :mod:`.assets`: ``write_viewer``, the site a section at a time (streets, globe,
  colourings, imagery, flow, tilesets, buildings, areas, guide, manifest);
- :mod:`.app`: the static app (``viewer/``) and the CesiumJS and font files it needs,
  copied beside the data;
- :mod:`.legends`: legends and colour rules from the data;
- :mod:`.imagery`: rasters as web-map tiles (a z/x/y pyramid, not 3D Tiles);
- :mod:`.areas`, :mod:`.zoning`, :mod:`.district_render`: districts, use districts and
  their rendered maps.

The 3D Tiles it shows are written by :mod:`pipeline.tiles3d`; the run's stage is
:mod:`pipeline.stages.viewer`.
"""
