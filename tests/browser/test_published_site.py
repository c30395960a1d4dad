"""The published site of a run of the sample: what ``OUT/viewer/`` and the tilesets it
references hold, read as files (no browser).

- Every tileset of the run (street ribbons, people-flow prisms, each PLATEAU layer, the
  LiDAR points) passes the tileset checks, the glTF validator on every content, and the
  metadata checks, among them the rule on which the CesiumGS 3D Tiles validator failed
  for the street tiles ("The property table does not define property ...": a class
  property that a content declares must have a column in its property table).
- No file of the site holds an absolute path of the machine that made it (the run's
  output folder or the repository).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tiles.validate import check_glb_metadata, check_tileset, content_paths, read_glb

pytestmark = [pytest.mark.slow]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _site(folder: Path) -> tuple[list[Path], list[Path]]:
    """The tilesets the app shows (every ``*tileset.json`` URL of ``viewer.json``) and the
    site's folders: ``viewer/`` and the folder of each tileset outside it."""
    viewer = folder / "viewer"
    manifest = json.loads((viewer / "viewer.json").read_text())
    tilesets = sorted({(viewer / u).resolve() for u in _strings(manifest) if u.endswith("tileset.json")})
    outside = sorted({t.parent for t in tilesets if viewer.resolve() not in t.parents})
    return tilesets, [viewer.resolve(), *outside]


def test_the_site_shows_every_kind_of_tileset_of_the_run(sample_viewer_run):
    folder, _ = sample_viewer_run
    tilesets, folders = _site(folder)
    names = {t.parent.name for t in tilesets}
    assert {"streets", "bldg", "veg", "tran", "dem", "lidar"} <= names, names
    assert sum(t.parent.parent.name == "flow" for t in tilesets) >= 2  # one per people-flow scenario
    assert {f.name for f in folders} >= {"viewer", "bldg", "lidar"}


def test_every_tileset_of_the_run_passes_the_tiles_checks(sample_viewer_run, gltf_validator):
    folder, _ = sample_viewer_run
    tilesets, _ = _site(folder)
    paths = []
    for tileset in tilesets:
        assert check_tileset(tileset) == [], tileset
        paths += content_paths(tileset)
    assert paths and all(p.suffix == ".glb" for p in paths)
    reports = gltf_validator(paths)
    assert [(r["path"], r["messages"][:3]) for r in reports if r["numErrors"]] == []
    problems = {}
    for path in paths:
        gltf, _ = read_glb(path.read_bytes())
        if "EXT_structural_metadata" in gltf.get("extensions", {}):
            problems.update({str(path): found for found in [check_glb_metadata(path)] if found})
    assert problems == {}


def test_street_tiles_declare_only_the_people_columns_they_write(sample_viewer_run):
    """The scenarios without people flow for a slot have no people values: a part either
    writes a column for them or does not declare them (the validator's failure)."""
    folder, _ = sample_viewer_run
    declared = set()
    for path in content_paths(folder / "viewer" / "streets" / "tileset.json"):
        gltf, _ = read_glb(path.read_bytes())
        metadata = gltf["extensions"]["EXT_structural_metadata"]
        for table in metadata["propertyTables"]:
            properties = metadata["schema"]["classes"][table["class"]]["properties"]
            assert set(properties) == set(table["properties"]), path
            declared |= set(properties)
    assert any(p.startswith("people__") for p in declared) and "score__heat_day_midday" in declared


def test_no_file_of_the_published_site_holds_an_absolute_path(sample_viewer_run, project_root):
    folder, _ = sample_viewer_run
    _, folders = _site(folder)
    machine = {str(folder.resolve()), str(Path(project_root).resolve())}
    machine |= {p.replace("/", "\\/") for p in machine}  # as JSON may escape it
    found, scanned = [], 0
    for top in folders:
        for path in sorted(p for p in top.rglob("*") if p.is_file()):
            data = path.read_bytes()
            scanned += 1
            found += [f"{path.relative_to(folder)}: {m}" for m in machine if m.encode() in data]
    assert scanned > 100  # the app, CesiumJS, the fonts, the tiles
    assert found == []
    # the run's record is full of them, which is why `machi view` does not serve it
    assert str(folder.resolve()) in (folder / "manifest.json").read_text()
