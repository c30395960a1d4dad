"""The planners' app copied next to a run (:mod:`pipeline.export.viewer_app`): the copied
site holds every file its page loads and every ES module those import, byte for byte."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.export.viewer_app import PROJECT_VIEWER, ViewerAppError, app_files, copy_app

# a static `import ... from "./x.js"` or `import "./x.js"` (the app imports nothing else)
IMPORT = re.compile(r"""^\s*import\s+(?:[\w*{}\s,]+?\s+from\s+)?["']([^"']+)["']""", re.MULTILINE)
PAGE_REFERENCE = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)\"""")


def _fake_cesium(folder: Path) -> Path:
    """A CesiumJS build folder with one file in each part the app copies."""
    (folder / "Cesium.js").parent.mkdir(parents=True, exist_ok=True)
    (folder / "Cesium.js").write_text("var Cesium = {};\n")
    for part in ("Workers", "ThirdParty", "Assets", "Widgets"):
        (folder / part).mkdir()
        (folder / part / "x.txt").write_text(part)
    return folder


def _page_files(site: Path, page: str) -> set[str]:
    """Files (relative to ``site``) that ``page`` loads: its scripts and stylesheets and,
    for ES modules, everything they import, transitively."""
    text = (site / page).read_text()
    found = {ref for ref in PAGE_REFERENCE.findall(text) if not ref.startswith(("data:", "http"))}
    todo = [ref for ref in found if ref.endswith(".js")]
    while todo:
        module = todo.pop()
        path = site / module
        assert path.is_file(), f"{page} needs {module}, which the copied site lacks"
        for spec in IMPORT.findall(path.read_text()):
            assert spec.startswith("./"), f"{module} imports {spec!r}: the app imports only its own modules"
            target = (Path(module).parent / spec).as_posix()
            if target not in found:
                found.add(target)
                todo.append(target)
    return found


@pytest.fixture(scope="module")
def copied_site(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("app")
    site = tmp / "viewer"
    copy_app(site, cesium_dir=_fake_cesium(tmp / "cesium_build"))
    return site


def test_the_copied_site_has_every_module_the_index_imports(copied_site):
    loaded = _page_files(copied_site, "index.html")
    assert "src/main.js" in loaded and "style.css" in loaded
    # main.js imports the others (state, legends, layers, panels, districts, export, ...)
    assert {"src/state.js", "src/legends.js", "src/layers.js", "src/panels.js", "src/districts.js",
            "src/export.js", "src/i18n.js", "src/script_api.js"} <= loaded
    for name in loaded:
        assert (copied_site / name).is_file(), name
        assert (copied_site / name).read_bytes() == (PROJECT_VIEWER / name).read_bytes(), name


def test_every_module_of_the_app_is_copied_and_used(copied_site):
    modules = {p.relative_to(PROJECT_VIEWER).as_posix() for p in (PROJECT_VIEWER / "src").glob("*.js")}
    copied = {p.relative_to(copied_site).as_posix() for p in (copied_site / "src").glob("*.js")}
    assert modules and copied == modules
    assert modules <= _page_files(copied_site, "index.html"), "a module the page never imports"


def test_the_tileset_page_is_copied_with_cesium_beside_it(copied_site):
    assert _page_files(copied_site, "tiles.html") == {"tiles.js"}
    assert (copied_site / "cesium" / "Cesium.js").is_file()
    assert '"cesium/"' in (copied_site / "tiles.js").read_text()  # tried first, before the repository's


def test_a_missing_module_folder_or_page_is_named(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    for name in ("index.html", "style.css", "tiles.html", "tiles.js"):
        (app / name).write_text("")
    with pytest.raises(ViewerAppError, match=r"app/src/\*\.js are missing"):
        app_files(app)
    (app / "src").mkdir()
    (app / "src" / "main.js").write_text("")
    assert app_files(app) == ["index.html", "style.css", "tiles.html", "tiles.js", "src/main.js"]
    (app / "index.html").unlink()
    with pytest.raises(ViewerAppError, match=r"app/index.html is missing"):
        copy_app(tmp_path / "out", app_dir=app, cesium_dir=_fake_cesium(tmp_path / "cesium"))
