"""``machi view OUT``: serve a run's output folder over local HTTP and open the planners' viewer.

A small static server (the standard library's, threaded) with the MIME types 3D Tiles
and CesiumJS need (``.glb``, ``.wasm``, ``.json``, ``.f32``, ...), HTTP range requests
(``Range: bytes=...`` answered with 206), no directory listings, and no path outside the
served folder. The root ``/`` redirects to the app (``/viewer/``) when the folder is a run's.
The run's record ``manifest.json`` (at the top of the folder) is not served: it holds
the machine's absolute paths, which a published site must not show; the app reads only
``viewer/viewer.json``, whose paths are relative. It binds to 127.0.0.1 unless ``--host``
says otherwise. Nothing heavy is imported here: the CLI starts at once.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import threading
import urllib.parse
import webbrowser
from functools import partial
from pathlib import Path

import click

MIME_TYPES = {
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".b3dm": "application/octet-stream",
    ".pnts": "application/octet-stream",
    ".subtree": "application/octet-stream",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ktx2": "image/ktx2",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".f32": "application/octet-stream",
    ".tif": "image/tiff",
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv",
}
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: Files at the top of the served folder that are the run's own record, not the site.
UNSERVED = frozenset({"manifest.json"})


class ViewerRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of one folder with range requests and the MIME types above."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    server_version = "machi-view"

    def log_message(self, format: str, *args) -> None:  # quiet unless an error
        if args and str(args[1] if len(args) > 1 else "").startswith(("4", "5")):
            super().log_message(format, *args)

    def list_directory(self, path):  # no listings: a folder without index.html is 404
        self.send_error(404, "No index here")
        return None

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def send_head(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/" and os.path.isfile(os.path.join(self.directory, "viewer", "index.html")):
            self.send_response(302)  # the run's root: its app
            self.send_header("Location", "/viewer/" + (f"?{url.query}" if url.query else ""))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        path = self.translate_path(self.path)
        if (
            os.path.dirname(os.path.abspath(path)) == os.path.abspath(self.directory)
            and os.path.basename(path) in UNSERVED
        ):
            self.send_error(404, "Not part of the published site")
            return None
        header = self.headers.get("Range")
        if not header or not os.path.isfile(path):
            return super().send_head()
        match = RANGE_RE.match(header.strip())
        size = os.path.getsize(path)
        if not match or match.groups() == ("", ""):
            self.send_error(416, "Unsupported range")
            return None
        first, last = match.groups()
        if first == "":  # the last N bytes
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return None
        handle = open(path, "rb")
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self._range_left = end - start + 1
        return handle

    def copyfile(self, source, outputfile) -> None:
        left = getattr(self, "_range_left", None)
        if left is None:
            return shutil.copyfileobj(source, outputfile)
        self._range_left = None
        while left > 0:
            chunk = source.read(min(64 * 1024, left))
            if not chunk:
                break
            outputfile.write(chunk)
            left -= len(chunk)


def make_server(
    folder: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000
) -> http.server.ThreadingHTTPServer:
    """A threaded HTTP server for ``folder`` (port 0 picks a free port)."""
    handler = partial(ViewerRequestHandler, directory=str(Path(folder).resolve()))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def viewer_path(folder: Path) -> str:
    """URL path of the app inside a run folder (``viewer/``), or ``/`` if it has none."""
    if (folder / "viewer" / "index.html").is_file():
        return "/viewer/"
    if (folder / "index.html").is_file():
        return "/"
    raise click.ClickException(
        f"{folder} holds no viewer: run the pipeline with the viewer stage first "
        f"(expected {folder / 'viewer' / 'index.html'})"
    )


@click.command("view")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--port", type=int, default=8000, show_default=True, help="Port (0 picks a free one).")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; 0.0.0.0 shares it on the network.",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
def view_command(out: Path, port: int, host: str, no_browser: bool) -> None:
    """Serve a run's output folder OUT and open the planners' viewer in the browser."""
    path = viewer_path(out)
    try:
        server = make_server(out, host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    bound_port = server.server_address[1]
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{bound_port}{path}"
    click.echo(f"Serving {out.resolve()} at {url} (Ctrl+C to stop)")
    if not no_browser:
        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()
