"""The planners' app copied next to a run (:mod:`pipeline.export.viewer_app`): the copied
site holds every file its page loads and every ES module those import, byte for byte."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.export.viewer_app import (FONT_CSS, PROJECT_VIEWER, ViewerAppError, app_files, copy_app, find_font,
                                        font_faces)

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


def _covers(unicode_range: str, char: str) -> bool:
    """Whether a CSS ``unicode-range`` (``U+20,U+3041-307f,...``) holds ``char``."""
    for part in unicode_range.split(","):
        first, _, last = part.strip()[2:].partition("-")
        if int(first, 16) <= ord(char) <= int(last or first, 16):
            return True
    return False


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
    assert FONT_CSS in loaded  # written by the run, not a file of the repository's app
    for name in loaded - {FONT_CSS}:
        assert (copied_site / name).is_file(), name
        assert (copied_site / name).read_bytes() == (PROJECT_VIEWER / name).read_bytes(), name


def test_the_site_ships_noto_sans_jp_for_japanese_and_latin_in_two_weights(copied_site):
    css = (copied_site / FONT_CSS).read_text()
    urls = re.findall(r"url\(\./files/([^)]+)\)", css)
    assert urls and all(u.endswith(".woff2") for u in urls)  # WOFF2 only
    assert all((copied_site / "fonts" / "files" / u).is_file() for u in urls)
    shipped = {p.name for p in (copied_site / "fonts" / "files").iterdir()}
    assert shipped == set(urls)  # nothing unused
    assert set(re.findall(r"font-weight: (\d+);", css)) == {"400", "700"}
    assert "font-family: 'Noto Sans JP';" in css and "Open Font License" in (copied_site / "fonts" / "LICENSE").read_text()
    # every character of the app's Japanese and English words has a face in both weights
    faces = [(int(w), r) for w, r in re.findall(r"font-weight: (\d+);\s*src: [^;]+;\s*unicode-range: ([^;]+);", css)]
    assert len(faces) == len(urls)
    for char in "歩きやすさ建物の色分け言語快適性に課題 Walkability 0-9 °C %":
        for weight in (400, 700):
            assert any(_covers(r, char) for w, r in faces if w == weight), (char, weight)
    assert not any(("cyrillic" in u) or ("vietnamese" in u) or ("latin-ext" in u) for u in urls)
    assert str(PROJECT_VIEWER.parent) not in css and str(PROJECT_VIEWER) not in css  # relative URLs only


def test_a_rerun_rewrites_no_font_file(copied_site):
    before = {p: p.stat().st_mtime_ns for p in (copied_site / "fonts").rglob("*") if p.is_file()}
    copy_app(copied_site, cesium_dir=copied_site.parent / "cesium_build")
    assert {p: p.stat().st_mtime_ns for p in (copied_site / "fonts").rglob("*") if p.is_file()} == before
    assert font_faces(find_font())[0] == (copied_site / FONT_CSS).read_text()  # the same stylesheet every time


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
