"""Cross-origin isolation of the pages that show images, so that the viewer may share memory with its workers.

The viewer keeps a series' decoded frames in SharedArrayBuffers, which V8 does not count towards the
memory that starts its major garbage collections (viewer/frontend/src/viewer/loading/frameMemory.ts says
why, and what it saved). Browsers offer shared memory only to a cross-origin isolated page: its response
says Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, and so do
the scripts of its workers. The viewer and the report workspace, which frames it, load only from this
origin, which require-corp allows without further headers. A page that frames the viewer without these
headers (another site's portal) still gets a working viewer, with unshared buffers; so does a
deployment that switches isolation off (``VIEWER_CROSS_ORIGIN_ISOLATION=0``), for instance because its
proxy serves /static/ itself without the header, which would otherwise keep the workers from starting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the settings module, before Django is set up
    from wsgiref.headers import Headers

    from django.http import HttpResponse

OPENER_POLICY = ("Cross-Origin-Opener-Policy", "same-origin")
EMBEDDER_POLICY = ("Cross-Origin-Embedder-Policy", "require-corp")


def isolate(response: HttpResponse) -> HttpResponse:
    """The page's response, with the headers that isolate it (unless switched off)."""
    from django.conf import settings

    if not settings.VIEWER_CROSS_ORIGIN_ISOLATION:
        return response
    for name, value in (OPENER_POLICY, EMBEDDER_POLICY):
        response[name] = value
    return response


def static_file_headers(headers: Headers, path: str, url: str) -> None:  # noqa: ARG001 - WhiteNoise's signature
    """WhiteNoise's hook for static files: a worker script of an isolated page must say it too."""
    name, value = EMBEDDER_POLICY
    headers[name] = value
