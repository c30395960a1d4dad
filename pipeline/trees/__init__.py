"""Individual trees from LiDAR, written as PLATEAU vegetation (issue 25).

Arrays and frames in, arrays and frames out: a pipeline stage calls
:func:`pipeline.trees.tile.trees_for_tile` per third-level mesh tile.

- :mod:`~pipeline.trees.parameters`: parameters with their sources, window and class rules;
- :mod:`~pipeline.trees.canopy`: points -> terrain, canopy height model, vegetation returns;
- :mod:`~pipeline.trees.detect`: tree tops, crowns, per-tree metrics;
- :mod:`~pipeline.trees.gml`: i-UR 3.1 ``veg:SolitaryVegetationObject`` files;
- :mod:`~pipeline.trees.existing`, :mod:`~pipeline.trees.changes`: change detection;
- :mod:`~pipeline.trees.matching`: one-to-one matching and detection accuracy;
- :mod:`~pipeline.trees.stand`: generated stands with known trees (tests, benchmark);
``machi trees`` lives in :mod:`pipeline.commands.trees`.

Nothing is imported here, so ``machi --help`` stays fast.
"""
