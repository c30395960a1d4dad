"""Export of city objects and Machi's results for others to build on: 3D Tiles 1.1.

- :mod:`.tile_textures`: texture images read from the dataset, confined to it;
- :mod:`.tile_properties`: per-feature property rows (labels for codes, extra tables);
- :mod:`.tile_features`: ingest meshes -> :class:`tiles.MeshFeature` on the ellipsoid;
- :mod:`.tiles_stage`: the runner stage (one task per layer), its settings and planner;
- :mod:`.tiles_command`: ``machi export-tiles`` on any PLATEAU folder, zip or file.
"""
from .tiles_command import export_dataset, export_tiles_command
from .tiles_stage import (LAYERS, ExportResult, ExportTilesStage, export_layer,
                          plan_export_tiles)

__all__ = ["LAYERS", "ExportResult", "ExportTilesStage", "export_layer", "plan_export_tiles",
           "export_dataset", "export_tiles_command"]
