"""WADO-URI (PS3.18 Chapter 9): one instance by query parameters, as DICOM or as a rendered image.

``?requestType=WADO&studyUID=..&seriesUID=..&objectUID=..`` with ``contentType`` (9.1.2.1.2:
``application/dicom``, ``image/jpeg``, ``image/png``; a list in preference order is allowed),
``transferSyntax`` for DICOM (9.1.2.1.10), and for images ``windowCenter``/``windowWidth`` (9.1.2.1.7),
``frameNumber`` (9.1.2.1.9), ``rows``/``columns`` (9.1.2.1.4, 9.1.2.1.5) and ``imageQuality`` (9.1.2.1.8).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse

from dicomweb import media
from dicomweb.views.base import request_organization
from dicomweb.views.wado import answers_retrieve_errors
from pacs.retrieve import render
from pacs.retrieve.errors import BadRequest, NotAcceptable
from pacs.retrieve.instances import instance_get, instance_stream, instance_transcoded_bytes
from pacs.retrieve.render import RenderOptions

_REQUIRED = ("studyUID", "seriesUID", "objectUID")


@answers_retrieve_errors
def wado_uri(request: HttpRequest) -> HttpResponse:
    params = request.GET
    if params.get("requestType") != "WADO":
        raise BadRequest("requestType must be WADO")
    missing = [name for name in _REQUIRED if not params.get(name)]
    if missing:
        raise BadRequest(f"Missing parameters: {', '.join(missing)}")
    stored = instance_get(
        organization=request_organization(request),
        study_uid=params["studyUID"],
        series_uid=params["seriesUID"],
        sop_uid=params["objectUID"],
        with_frame_index=True,
    )
    # 9.1.2.1.2: without contentType an image is sent as JPEG, anything else as DICOM.
    default = render.JPEG if stored.number_of_frames > 0 else media.DICOM
    content_type = _content_type(params.get("contentType") or default, has_pixels=stored.number_of_frames > 0)
    if content_type == media.DICOM:
        syntax = params.get("transferSyntax") or stored.transfer_syntax_uid
        chosen = media.dicom_syntax_choose([syntax], stored.transfer_syntax_uid)
        if chosen is None:
            raise NotAcceptable(f"The instance cannot be converted to transfer syntax {syntax}")
        if chosen == stored.transfer_syntax_uid:
            return StreamingHttpResponse(instance_stream(stored), content_type=media.DICOM)
        return HttpResponse(instance_transcoded_bytes(stored, chosen), content_type=media.DICOM)
    options = _render_options(params, content_type)
    number = _int(params, "frameNumber", maximum=max(stored.number_of_frames, 1)) or 1
    return HttpResponse(render.render_frame(stored, number, options), content_type=content_type)


def _content_type(value: str, *, has_pixels: bool) -> str:
    supported = (*render.RENDERED_MEDIA_TYPES, media.DICOM) if has_pixels else (media.DICOM,)
    for media_range in media.accept_parse(value):
        for media_type in supported:
            if media_range.matches(media_type):
                return media_type
    raise NotAcceptable(f"contentType {value!r} is not available; this object is available as {', '.join(supported)}")


def _render_options(params: QueryDict, media_type: str) -> RenderOptions:
    window = None
    if params.get("windowCenter") or params.get("windowWidth"):
        if not (params.get("windowCenter") and params.get("windowWidth")):
            raise BadRequest("windowCenter and windowWidth go together (PS3.18 9.1.2.1.7)")
        window = render.window_parse(f"{params['windowCenter']},{params['windowWidth']}")
    rows, columns = _int(params, "rows"), _int(params, "columns")
    viewport = None
    if rows or columns:
        # One of the two alone keeps the aspect ratio: the other side is left unbounded.
        viewport = (columns or render.MAX_VIEWPORT, rows or render.MAX_VIEWPORT)
    quality = render.quality_parse(params["imageQuality"]) if params.get("imageQuality") else render.DEFAULT_QUALITY
    return RenderOptions(media_type=media_type, window=window, viewport=viewport, quality=quality)


def _int(params: QueryDict, name: str, maximum: int = render.MAX_VIEWPORT) -> int | None:
    text = params.get(name)
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be a positive integer, not {text!r}") from None
    if not 1 <= value <= maximum:
        raise BadRequest(f"{name} must be from 1 to {maximum}, not {value}")
    return value
