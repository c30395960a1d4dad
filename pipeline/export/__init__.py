"""Export of city objects and Machi's results for others to build on: 3D Tiles 1.1.

- :mod:`.tile_textures`: texture images read from the dataset, confined to it;
- :mod:`.tile_properties`: per-feature property rows (labels for codes, extra tables);
- :mod:`.tile_features`: ingest meshes -> :class:`tiles.MeshFeature` on the ellipsoid;
- :mod:`.layer`: one layer's tileset from its ingested tables and meshes.

The run's stage is :mod:`pipeline.stages.export_tiles`; ``machi export-tiles`` (any
PLATEAU folder, zip or file) is :mod:`pipeline.commands.export_tiles`.
"""

#: The PLATEAU modules exported by default, one tileset each.
LAYERS = ("bldg", "dem", "veg", "tran", "frn")
