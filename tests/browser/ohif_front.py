"""OHIF Viewer 3, unmodified, in front of our DICOMweb: its built ``dist/`` from npm (``@ohif/app``).

OHIF is served from a small same-origin front server, as a hospital would put it behind one nginx host:
its static files, its ``app-config.js`` pointing at ``/dicomweb``, and every other path forwarded to our
live server. The browser logs in with our login page and OHIF's requests carry the session cookie.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import requests

OHIF_VERSION = "3.13.2"
FORWARDED_PREFIXES = ("/dicomweb", "/accounts", "/static", "/wado")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}

APP_CONFIG = """window.config = {
  routerBasename: null,
  extensions: [],
  modes: [],
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  defaultDataSourceName: 'pacs',
  dataSources: [{
    namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
    sourceName: 'pacs',
    configuration: {
      friendlyName: 'PACS under test',
      name: 'pacs',
      wadoUriRoot: '/wado',
      qidoRoot: '/dicomweb',
      wadoRoot: '/dicomweb',
      qidoSupportsIncludeField: true,
      supportsReject: false,
      imageRendering: 'wadors',
      thumbnailRendering: 'wadors',
      enableStudyLazyLoad: true,
      supportsFuzzyMatching: true,
      supportsWildcard: true,
      staticWado: false,
      singlepart: 'bulkdata,video',
      bulkDataURI: { enabled: true },
      omitQuotationForMultipartRequest: true,
    },
  }],
};
"""


def ohif_dist(cache: Path) -> Path:
    """The ``dist/`` folder of ``@ohif/app``, fetched once with ``npm pack`` into ``cache``."""
    dist = cache / f"ohif-app-{OHIF_VERSION}" / "dist"
    if (dist / "index.html").exists():
        return dist
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "pack", f"@ohif/app@{OHIF_VERSION}", "--silent"], cwd=cache, check=True, timeout=600)
    archive = cache / f"ohif-app-{OHIF_VERSION}.tgz"
    target = cache / f"ohif-app-{OHIF_VERSION}"
    shutil.rmtree(target, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    (target / "package" / "dist").rename(dist)
    archive.unlink()
    return dist


class FrontServer:
    """Serves OHIF's files and forwards the archive's paths to ``backend`` (one origin for the browser)."""

    def __init__(self, dist: Path, backend: str) -> None:
        self.dist, self.backend = dist, backend.rstrip("/")
        handler = self._handler()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FrontServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):  # type: ignore[no-untyped-def]
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                self._serve()

            def do_POST(self) -> None:  # noqa: N802
                self._serve()

            def _serve(self) -> None:
                path = urlsplit(self.path).path
                if path.startswith(FORWARDED_PREFIXES):
                    self._forward()
                elif path == "/app-config.js":
                    self._send(200, APP_CONFIG.encode(), "application/javascript")
                else:
                    file = (server.dist / path.lstrip("/")).resolve()
                    if not file.is_file() or server.dist.resolve() not in file.parents:
                        file = server.dist / "index.html"  # the single-page app's own routes
                    self._send(200, file.read_bytes(), _content_type(file))

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                headers["X-Forwarded-Host"] = self.headers.get("Host", "")
                upstream = requests.request(
                    self.command,
                    server.backend + self.path,
                    headers=headers,
                    data=self.rfile.read(length) if length else None,
                    allow_redirects=False,
                    timeout=120,
                )
                self.send_response(upstream.status_code)
                for name, value in upstream.raw.headers.items():
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                body = upstream.content
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _content_type(file: Path) -> str:
    return {
        ".html": "text/html; charset=utf-8",
        ".js": "application/javascript",
        ".css": "text/css",
        ".json": "application/json",
        ".wasm": "application/wasm",
        ".svg": "image/svg+xml",
        ".png": "image/png",
        ".ico": "image/x-icon",
        ".woff2": "font/woff2",
    }.get(file.suffix, "application/octet-stream")
