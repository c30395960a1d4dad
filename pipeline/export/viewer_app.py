"""Copy the planners' app (``viewer/``) and the CesiumJS build it needs next to a run.

The app is ``index.html``, ``style.css`` and its ES modules under ``src/``, plus the bare
tileset page ``tiles.html``/``tiles.js``. A run's ``viewer/`` folder is then complete:
``machi view OUT`` serves it, and the whole output folder can be copied to any static web
server. CesiumJS comes from the viewer's own npm install (``npm ci --prefix viewer``,
pinned in ``viewer/package.json``); only the parts the browser loads are copied
(``Cesium.js``, ``Workers``, ``ThirdParty``, ``Assets``, ``Widgets``, about 13 MB). The
Japanese web font Noto Sans JP (SIL Open Font License 1.1) comes from the same install
(``@fontsource/noto-sans-jp``): the two weights the app uses (400 and 700), the Japanese and
Latin subsets only, WOFF2 only, under ``fonts/`` with a stylesheet of their ``@font-face``
rules (``fonts/noto-sans-jp.css``) and the licence, so Japanese renders alike on a machine
without Japanese fonts and with no network (a browser fetches only the unicode-range
pieces a page shows). Files already there with the same size and bytes are left alone, so
a rerun rewrites nothing.
"""
from __future__ import annotations

import filecmp
import logging
import re
import shutil
from pathlib import Path

from tiles.atomic import atomic_path

log = logging.getLogger(__name__)

PROJECT_VIEWER = Path(__file__).resolve().parents[2] / "viewer"
APP_FILES = ("index.html", "style.css", "tiles.html", "tiles.js")
APP_MODULES = "src"  # the app's ES modules (``src/*.js``; ``index.html`` loads ``src/main.js``)
CESIUM_PARTS = ("Cesium.js", "Workers", "ThirdParty", "Assets", "Widgets")
CESIUM_BUILD = Path("node_modules") / "cesium" / "Build" / "Cesium"
FONT_PACKAGE = Path("node_modules") / "@fontsource" / "noto-sans-jp"
FONT_WEIGHTS = (400, 700)  # body text; headings and bold (600 falls back to 700)
#: fontsource's Japanese subsets are numbered pieces (``noto-sans-jp-[12]-400-normal``).
FONT_SUBSETS = re.compile(r"^(\d+|latin)$")
FONT_CSS = "fonts/noto-sans-jp.css"
# one rule of a fontsource stylesheet: its comment names subset and weight
_FONT_FACE = re.compile(r"/\* noto-sans-jp-\[?([\w-]+?)\]?-(\d+)-normal \*/\s*(@font-face \{.*?\})", re.DOTALL)
_FONT_SRC = re.compile(r"src: [^;]+;")
_WOFF2 = re.compile(r"url\(\./files/([\w.-]+\.woff2)\)")


class ViewerAppError(FileNotFoundError):
    """The app's files or its CesiumJS build are missing."""


def find_cesium(app_dir: Path = PROJECT_VIEWER) -> Path:
    """The CesiumJS ``Build/Cesium`` folder of the viewer's npm install.

    Raises
    ------
    ViewerAppError
        If ``npm ci --prefix viewer`` has not been run.
    """
    return _npm_install(app_dir, CESIUM_BUILD, ["Cesium.js"], "CesiumJS")


def find_font(app_dir: Path = PROJECT_VIEWER) -> Path:
    """The ``@fontsource/noto-sans-jp`` package of the viewer's npm install.

    Raises
    ------
    ViewerAppError
        If ``npm ci --prefix viewer`` has not been run.
    """
    return _npm_install(app_dir, FONT_PACKAGE, [f"{weight}.css" for weight in FONT_WEIGHTS], "Noto Sans JP")


def _npm_install(app_dir: Path, folder: Path, files: list[str], name: str) -> Path:
    """``app_dir / folder`` when every one of ``files`` is in it, else a :class:`ViewerAppError`."""
    found = app_dir / folder
    if not all((found / file).is_file() for file in files):
        raise ViewerAppError(f"{name} not found at {found}: run `npm ci --prefix {app_dir}` first")
    return found


def font_faces(package: Path, weights=FONT_WEIGHTS) -> tuple[str, list[str]]:
    """The ``@font-face`` stylesheet of the shipped subsets and weights (WOFF2 only, URLs
    relative to ``fonts/``) and the WOFF2 file names it references, in order.

    Raises
    ------
    ViewerAppError
        If a weight's stylesheet holds no rule of the subsets, or names a missing file.
    """
    rules, files = [], []
    for weight in weights:
        found = [(subset, rule) for subset, w, rule in _FONT_FACE.findall((package / f"{weight}.css").read_text())
                 if int(w) == weight and FONT_SUBSETS.match(subset)]
        if not found:
            raise ViewerAppError(f"{package / f'{weight}.css'}: no @font-face rule of the Japanese or Latin subsets")
        for subset, rule in found:
            woff2 = _WOFF2.findall(rule)
            if len(woff2) != 1 or not (package / "files" / woff2[0]).is_file():
                raise ViewerAppError(f"{package / f'{weight}.css'}: subset {subset} names no WOFF2 file present")
            files.append(woff2[0])
            rules.append(f"/* {subset} {weight} */\n"
                         + _FONT_SRC.sub(f"src: url(./files/{woff2[0]}) format('woff2');", rule))
    head = ("/* Noto Sans JP (SIL Open Font License 1.1, see LICENSE), from @fontsource/noto-sans-jp:\n"
            f"   weights {', '.join(map(str, weights))}, Japanese and Latin subsets, WOFF2. Written by machi. */\n")
    return head + "\n".join(rules) + "\n", files


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


def _write_text(text: str, target: Path) -> bool:
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return True


def copy_app(out_dir: str | Path, *, app_dir: str | Path = PROJECT_VIEWER, cesium_dir: str | Path | None = None,
             font_dir: str | Path | None = None) -> dict[str, str]:
    """Copy the app files, CesiumJS and the web font into ``out_dir`` (``index.html`` at its
    top, CesiumJS under ``cesium/``, Noto Sans JP under ``fonts/``). Returns
    ``{"index": path, "cesium": path, "fonts": path}``.

    Raises
    ------
    ViewerAppError
        If an app file, the CesiumJS build or the font package is missing.
    """
    app_dir, out_dir = Path(app_dir), Path(out_dir)
    names = app_files(app_dir)
    cesium = Path(cesium_dir) if cesium_dir else find_cesium(app_dir)
    font = Path(font_dir) if font_dir else find_font(app_dir)
    stylesheet, font_files = font_faces(font)
    copied = 0
    for name in names:
        copied += _copy_file(app_dir / name, out_dir / name)
    copied += _write_text(stylesheet, out_dir / FONT_CSS)
    copied += _copy_file(font / "LICENSE", out_dir / "fonts" / "LICENSE")
    for name in font_files:
        copied += _copy_file(font / "files" / name, out_dir / "fonts" / "files" / name)
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
    return {"index": str(out_dir / "index.html"), "cesium": str(out_dir / "cesium"), "fonts": str(out_dir / "fonts")}
