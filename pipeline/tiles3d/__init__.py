"""The 3D Tiles 1.1 export of city objects and Machi's results, for others to build on.

- :mod:`.textures`: texture images read from the dataset, confined to it;
- :mod:`.properties`: per-feature property rows (labels for codes, extra tables);
- :mod:`.features`: ingest meshes -> :class:`tiles.MeshFeature` on the ellipsoid;
- :mod:`.layer`, :mod:`.layer_schema`: one layer's tileset from its ingested tables and
  meshes, and its schema merged from per-file partials; :mod:`.checks`: what a written
  layer is checked for;
- :mod:`.streets`: the scored street segments as 3D Tiles ribbons; :mod:`.flow_prisms`:
  people-flow mesh cells as prisms; :mod:`.terrain_heights`: ellipsoidal heights of the
  terrain they are draped on.

The viewer's site that shows them is :mod:`pipeline.viewer`. The run's stage is
:mod:`pipeline.stages.export_tiles`; ``machi export-tiles`` (any PLATEAU folder, zip or
file) is :mod:`pipeline.commands.export_tiles`.

The run's stage is :mod:`pipeline.stages.export_tiles`; ``machi export-tiles`` (any
PLATEAU folder, zip or file) is :mod:`pipeline.commands.export_tiles`.
"""

#: The PLATEAU modules exported by default, one tileset each.
LAYERS = ("bldg", "dem", "veg", "tran", "frn")
