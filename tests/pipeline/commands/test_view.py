"""``machi view``: the static server's MIME types, range requests and confinement."""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.commands.view import make_server, view_command


@pytest.fixture()
def served(tmp_path):
    run = tmp_path / "run"
    (run / "viewer" / "cesium").mkdir(parents=True)
    (run / "viewer" / "index.html").write_text("<html>viewer</html>")
    (run / "3dtiles").mkdir()
    (run / "3dtiles" / "a.glb").write_bytes(bytes(range(256)) * 4)
    (run / "viewer" / "cesium" / "x.wasm").write_bytes(b"\0asm")
    (run / "viewer" / "viewer.json").write_text("{}")
    (run / "manifest.json").write_text('{"output": "the run folder of the machine that made it"}')
    (run / "3dtiles" / "manifest.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("outside")
    server = make_server(run, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _get(url, headers=None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
        return r.status, r.headers, r.read()


def test_mime_types(served):
    assert _get(served + "/3dtiles/a.glb")[1]["Content-Type"] == "model/gltf-binary"
    assert _get(served + "/viewer/cesium/x.wasm")[1]["Content-Type"] == "application/wasm"
    assert _get(served + "/viewer/viewer.json")[1]["Content-Type"] == "application/json"
    assert _get(served + "/viewer/")[2] == b"<html>viewer</html>"


@pytest.mark.parametrize(
    "header, first, last",
    [
        ("bytes=10-19", 10, 19),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-24", 1000, 1023),
        ("bytes=1020-5000", 1020, 1023),
    ],
)
def test_range_requests(served, header, first, last):
    status, headers, body = _get(served + "/3dtiles/a.glb", {"Range": header})
    data = bytes(range(256)) * 4
    assert status == 206
    assert body == data[first : last + 1]
    assert headers["Content-Range"] == f"bytes {first}-{last}/1024"
    assert headers["Content-Length"] == str(last - first + 1)


def test_unsatisfiable_range_and_no_escape(served):
    with pytest.raises(urllib.error.HTTPError) as error:
        _get(served + "/3dtiles/a.glb", {"Range": "bytes=5000-"})
    assert error.value.code == 416
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/3dtiles/"):
        with pytest.raises(urllib.error.HTTPError) as error:
            _get(served + path)
        assert error.value.code == 404


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_the_root_redirects_to_the_app(served):
    opener = urllib.request.build_opener(_NoRedirect)
    for path, location in (("/", "/viewer/"), ("/?lang=en", "/viewer/?lang=en")):
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(served + path, timeout=10)
        assert answer.value.code == 302 and answer.value.headers["Location"] == location
    status, _, body = _get(served + "/")  # followed
    assert status == 200 and body == b"<html>viewer</html>"


def test_a_folder_without_the_app_has_no_redirect(tmp_path):
    (tmp_path / "index.html").write_text("<html>tiles</html>")
    server = make_server(tmp_path, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert _get(f"http://127.0.0.1:{server.server_address[1]}/")[2] == b"<html>tiles</html>"
    finally:
        server.shutdown()
        server.server_close()


def test_the_runs_manifest_is_not_served(served):
    """The run's record holds the machine's absolute paths: not part of the published site."""
    for path in (
        "/manifest.json",
        "/%6danifest.json",
        "//manifest.json",
        "/viewer/../manifest.json",
        "/manifest.json?x=1",
    ):
        with pytest.raises(urllib.error.HTTPError) as error:
            _get(served + path)
        assert error.value.code == 404, path
    assert _get(served + "/3dtiles/manifest.json")[2] == b"{}"  # only the run's own, at the top


def test_view_refuses_a_folder_without_a_viewer(tmp_path):
    result = CliRunner().invoke(view_command, [str(tmp_path), "--no-browser", "--port", "0"])
    assert result.exit_code != 0
    assert "holds no viewer" in result.output


def test_the_module_imports_nothing_heavy():
    code = (
        "import sys, pipeline.commands.view; heavy = [m for m in ('numpy', 'pandas', 'geopandas', 'rasterio', 'dask',"
        " 'pyvista') if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
        check=True,
    )
    assert done.stdout.strip() == "[]"
