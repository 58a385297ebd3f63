"""OHIF Viewer 3, unmodified (npm ``@ohif/app``'s built ``dist/``), pointed at Orthanc's DICOMweb.

The files are served by a small static server on loopback with an ``app-config.js`` of ours; OHIF talks
to Orthanc directly, as it would to a DICOMweb server on another host. Orthanc 1.10 sends no CORS
headers, so the browser for OHIF runs with ``--disable-web-security`` rather than behind a proxy,
which would add a hop of Python to every frame that our viewer does not have.

The ``dist/`` comes from the same ``npm pack`` cache as the OHIF browser test (``tests/browser/ohif_front.py``).
"""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

from tests.browser.ohif_front import OHIF_VERSION, ohif_dist

__all__ = ["OHIF_VERSION", "OhifServer", "ohif_dist"]

# OHIF loads the active series through Cornerstone and prefetches the others only when its study
# prefetcher is on (off by default); it is turned on, with OHIF's documented settings, so that OHIF
# gets to load the whole series as ours does. Everything else is as in OHIF's default configuration.
_APP_CONFIG = """window.config = {{
  routerBasename: null,
  extensions: [],
  modes: [],
  showStudyList: true,
  maxNumberOfWebWorkers: 3,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  maxNumRequests: {{ interaction: 100, thumbnail: 5, prefetch: 25 }},
  studyPrefetcher: {{ enabled: true, displaySetsCount: 2, maxNumPrefetchRequests: 10, order: 'closest' }},
  defaultDataSourceName: 'orthanc',
  dataSources: [{{
    namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
    sourceName: 'orthanc',
    configuration: {{
      friendlyName: 'Orthanc',
      name: 'orthanc',
      wadoUriRoot: {wado_uri},
      qidoRoot: {root},
      wadoRoot: {root},
      qidoSupportsIncludeField: false,
      imageRendering: 'wadors',
      thumbnailRendering: 'wadors',
      enableStudyLazyLoad: true,
      supportsFuzzyMatching: false,
      supportsWildcard: true,
      staticWado: false,
      singlepart: 'bulkdata,video',
      bulkDataURI: {{ enabled: true }},
      omitQuotationForMultipartRequest: true,
    }},
  }}],
}};
"""
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}


class OhifServer:
    """OHIF's files on 127.0.0.1 with a configuration pointing at ``dicomweb_url``; a context manager."""

    def __init__(self, dist: Path, dicomweb_url: str, wado_uri_url: str) -> None:
        self.dist = dist.resolve()
        self.app_config = _APP_CONFIG.format(
            root=json.dumps(dicomweb_url.rstrip("/")), wado_uri=json.dumps(wado_uri_url)
        ).encode()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="ohif-files")

    def __enter__(self) -> OhifServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real web server would

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                path = urlsplit(self.path).path
                if path == "/app-config.js":
                    self._send(server.app_config, "application/javascript")
                    return
                file = (server.dist / path.lstrip("/")).resolve()
                if not file.is_file() or server.dist not in file.parents:
                    file = server.dist / "index.html"  # the single-page app's own routes
                self._send(file.read_bytes(), _CONTENT_TYPES.get(file.suffix, "application/octet-stream"))

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
