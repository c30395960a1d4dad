"""Copy the planners' app (``viewer/``) and the CesiumJS build it needs next to a run.

The app is ``index.html``, ``style.css`` and its ES modules under ``src/``, plus the bare
tileset page ``tiles.html``/``tiles.js``. A run's ``viewer/`` folder is then complete:
``machi view OUT`` serves it, and the whole output folder can be copied to any static web
server. CesiumJS comes from the viewer's own npm install (``npm ci --prefix viewer``,
pinned in ``viewer/package.json``); only the parts the browser loads are copied
(``Cesium.js``, ``Workers``, ``ThirdParty``, ``Assets``, ``Widgets``, about 13 MB). Files
already there with the same size and bytes are left alone, so a rerun rewrites nothing.
"""
from __future__ import annotations

import filecmp
import logging
import shutil
from pathlib import Path

from pipeline.geo.atomic import atomic_path

log = logging.getLogger(__name__)

PROJECT_VIEWER = Path(__file__).resolve().parents[2] / "viewer"
APP_FILES = ("index.html", "style.css", "tiles.html", "tiles.js")
APP_MODULES = "src"  # the app's ES modules (``src/*.js``; ``index.html`` loads ``src/main.js``)
CESIUM_PARTS = ("Cesium.js", "Workers", "ThirdParty", "Assets", "Widgets")
CESIUM_BUILD = Path("node_modules") / "cesium" / "Build" / "Cesium"


class ViewerAppError(FileNotFoundError):
    """The app's files or its CesiumJS build are missing."""


def find_cesium(app_dir: Path = PROJECT_VIEWER) -> Path:
    """The CesiumJS ``Build/Cesium`` folder of the viewer's npm install.

    Raises
    ------
    ViewerAppError
        If ``npm ci --prefix viewer`` has not been run.
    """
    build = app_dir / CESIUM_BUILD
    if not (build / "Cesium.js").is_file():
        raise ViewerAppError(f"CesiumJS not found at {build}: run `npm ci --prefix {app_dir}` first")
    return build


def app_files(app_dir: str | Path = PROJECT_VIEWER) -> list[str]:
    """The app's files, relative to ``app_dir``: :data:`APP_FILES` and every ES module
    under :data:`APP_MODULES` (``src/*.js``), in a fixed order.

    Raises
    ------
    ViewerAppError
        If one of :data:`APP_FILES` is missing or ``src/`` holds no module.
    """
    app_dir = Path(app_dir)
    for name in APP_FILES:
        if not (app_dir / name).is_file():
            raise ViewerAppError(f"viewer app file {app_dir / name} is missing")
    modules = sorted(p.relative_to(app_dir).as_posix() for p in (app_dir / APP_MODULES).glob("*.js") if p.is_file())
    if not modules:
        raise ViewerAppError(f"viewer app modules {app_dir / APP_MODULES}/*.js are missing")
    return [*APP_FILES, *modules]


def _copy_file(source: Path, target: Path) -> bool:
    if target.is_file() and target.stat().st_size == source.stat().st_size and filecmp.cmp(source, target, shallow=False):
        return False
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return True


def copy_app(out_dir: str | Path, *, app_dir: str | Path = PROJECT_VIEWER, cesium_dir: str | Path | None = None) -> dict[str, str]:
    """Copy the app files and CesiumJS into ``out_dir`` (``index.html`` at its top, CesiumJS
    under ``cesium/``). Returns ``{"index": path, "cesium": path}``.

    Raises
    ------
    ViewerAppError
        If an app file or the CesiumJS build is missing.
    """
    app_dir, out_dir = Path(app_dir), Path(out_dir)
    cesium = Path(cesium_dir) if cesium_dir else find_cesium(app_dir)
    copied = 0
    for name in app_files(app_dir):
        copied += _copy_file(app_dir / name, out_dir / name)
    for part in CESIUM_PARTS:
        source = cesium / part
        if source.is_file():
            copied += _copy_file(source, out_dir / "cesium" / part)
            continue
        if not source.is_dir():
            raise ViewerAppError(f"CesiumJS build {cesium} has no {part}")
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            copied += _copy_file(path, out_dir / "cesium" / part / path.relative_to(source))
    log.info("viewer app in %s (%d file(s) copied)", out_dir, copied)
    return {"index": str(out_dir / "index.html"), "cesium": str(out_dir / "cesium")}
