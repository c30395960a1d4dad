"""Read PLATEAU CityGML into plain records.

>>> from citygml import read_features
>>> for building in read_features("city.zip", types=["bldg"]):
...     print(building.gml_id, building.attributes.get("measuredHeight"))

Coordinates in records are ``(longitude, latitude, orthometric height)`` (EPSG:6697
read with its latitude-first axis order swapped once at parse time).
"""

from citygml.errors import CityGMLError, Problem, UnsafeInputError
from citygml.geometry import triangulate_polygon, triangulate_polygons
from citygml.reader import FileReader, FileSummary, ReadReport, open_dataset, read_features
from citygml.records import Appearance, CityObject, Geometry, Material, Polygon, Texture
from citygml.source import Dataset, Source

__all__ = [
    "Appearance",
    "CityGMLError",
    "CityObject",
    "Dataset",
    "FileReader",
    "FileSummary",
    "Geometry",
    "Material",
    "Polygon",
    "Problem",
    "ReadReport",
    "Source",
    "Texture",
    "UnsafeInputError",
    "open_dataset",
    "read_features",
    "triangulate_polygon",
    "triangulate_polygons",
]
