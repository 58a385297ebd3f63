"""WADO-RS (PS3.18 10.4): instances, metadata, frames, bulk data, rendered images and thumbnails.

The views translate HTTP to the retrieve service (``pacs.retrieve``) and back: the caller's organization
scopes every lookup (another organization's data answers 404), the Accept header picks the media type and
transfer syntax (``dicomweb.media``), and errors of the service carry their HTTP status (400, 404, 406).
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from pydicom.uid import UID

from dicomweb import media, pixel_parts
from dicomweb.views.base import dicomweb_root_url, request_organization
from pacs.dicomjson import BULK_MARKER_PREFIX
from pacs.retrieve import frames as frame_service
from pacs.retrieve import metadata, render
from pacs.retrieve.errors import NotAcceptable, NotFound, RetrieveError
from pacs.retrieve.instances import (
    StoredInstance,
    instance_element_bytes,
    instance_get,
    instance_metadata,
    instance_stream,
    instance_transcoded_bytes,
    instances_select,
    series_ids_select,
)

logger = logging.getLogger(__name__)


def answers_retrieve_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn the retrieve service's errors into their HTTP status with a reason (PS3.18 8.6.3)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, **kwargs)
        except RetrieveError as exc:
            return error_response(exc.http_status, exc.reason)

    return wrapper


def error_response(http_status: int, reason: str) -> HttpResponse:
    logger.info("WADO request answered %d: %s", http_status, reason)
    response = JsonResponse({"error": reason}, status=http_status)
    response["Warning"] = f'299 pacs: "{reason[:200]}"'
    return response


def _accept(request: HttpRequest) -> list[media.MediaRange]:
    return media.accept_parse(request.META.get("HTTP_ACCEPT"))


# --- instances (PS3.18 10.4.1.1.1) ----------------------------------------------------------------


@answers_retrieve_errors
def retrieve_study(request: HttpRequest, study: str) -> HttpResponse:
    instances = instances_select(organization=request_organization(request), study_uid=study)
    return _instances_response(request, instances)


@answers_retrieve_errors
def retrieve_series(request: HttpRequest, study: str, series: str) -> HttpResponse:
    instances = instances_select(organization=request_organization(request), study_uid=study, series_uid=series)
    return _instances_response(request, instances)


@answers_retrieve_errors
def retrieve_instance(request: HttpRequest, study: str, series: str, instance: str) -> HttpResponse:
    instances = instances_select(
        organization=request_organization(request), study_uid=study, series_uid=series, sop_uid=instance
    )
    return _instances_response(request, instances)


def _instances_response(request: HttpRequest, instances: list[StoredInstance]) -> HttpResponse:
    """multipart/related application/dicom, each instance as stored or converted (PS3.18 8.7.3.5.2)."""
    syntaxes = media.dicom_transfer_syntaxes(_accept(request))
    plan = [(instance, media.dicom_syntax_choose(syntaxes, instance.transfer_syntax_uid)) for instance in instances]
    deliverable = [(instance, syntax) for instance, syntax in plan if syntax is not None]
    if not deliverable:
        stored = sorted({UID(instance.transfer_syntax_uid).name for instance in instances})
        raise NotAcceptable(f"Cannot convert instances stored as {', '.join(stored)} to {', '.join(syntaxes)}")
    root = dicomweb_root_url(request)
    response = media.multipart_response(_dicom_parts(deliverable, root), part_type=media.DICOM)
    skipped = len(plan) - len(deliverable)
    if skipped:
        response["Warning"] = f'299 pacs: "{skipped} instances cannot be converted to an accepted syntax"'
    return response


def _dicom_parts(deliverable: list[tuple[StoredInstance, str]], root: str) -> Iterator[media.OutgoingPart]:
    for instance, syntax in deliverable:
        location = pixel_parts.instance_url(root, instance)
        content_type = media.part_content_type(media.DICOM, syntax)
        if syntax == instance.transfer_syntax_uid:
            yield media.OutgoingPart(content_type, instance_stream(instance), location)
            continue
        try:
            converted = instance_transcoded_bytes(instance, syntax)
        except RetrieveError as exc:
            # The status line is sent already: leave the instance out rather than break the message.
            logger.warning("Leaving %s out of a WADO response: %s", instance.sop_uid, exc.reason)
            continue
        yield media.OutgoingPart(content_type, [converted], location)


# --- metadata (PS3.18 10.4.1.1.2) -----------------------------------------------------------------


@answers_retrieve_errors
def retrieve_metadata(
    request: HttpRequest, study: str, series: str | None = None, instance: str | None = None
) -> HttpResponse:
    media.metadata_acceptable(_accept(request))
    organization = request_organization(request)
    root = dicomweb_root_url(request)
    if instance is not None and series is not None:
        stored = instance_get(organization=organization, study_uid=study, series_uid=series, sop_uid=instance)
        item = metadata.instance_metadata_json(
            metadata=instance_metadata(stored),
            study_uid=study,
            series_uid=series,
            sop_uid=instance,
            transfer_syntax_uid=stored.transfer_syntax_uid,
        )
        content = metadata.json_bytes([item])
        return HttpResponse(metadata.with_base_url(content, root), content_type=media.DICOM_JSON)
    series_ids = series_ids_select(organization=organization, study_uid=study, series_uid=series)
    if series is not None:
        content = metadata.series_metadata_bytes(series_id=series_ids[0])
        return HttpResponse(metadata.with_base_url(content, root), content_type=media.DICOM_JSON)
    chunks = (metadata.with_base_url(chunk, root) for chunk in metadata.study_metadata_chunks(series_ids=series_ids))
    return StreamingHttpResponse(chunks, content_type=media.DICOM_JSON)


# --- frames (PS3.18 10.4.1.1.5) and bulk data (10.4.1.1.6) ----------------------------------------


@answers_retrieve_errors
def retrieve_frames(request: HttpRequest, study: str, series: str, instance: str, frames: str = "1") -> HttpResponse:
    stored = instance_get(
        organization=request_organization(request),
        study_uid=study,
        series_uid=series,
        sop_uid=instance,
        with_frame_index=True,
    )
    numbers = frame_service.frame_numbers_parse(frames, number_of_frames=stored.number_of_frames)
    return _pixel_response(request, stored, numbers)


def _pixel_response(
    request: HttpRequest, stored: StoredInstance, numbers: list[int], *, whole_at: str | None = None
) -> HttpResponse:
    """Frames as parts; ``whole_at``: the instance's Pixel Data as bulk data at that URI (PS3.18 8.7.3.3.2).

    One frame asked for with a bare media type (``Accept: application/octet-stream``, not
    ``multipart/related``) is the body itself: a single part payload, which PS3.18 8.6 allows for a
    request that returns exactly one item. The viewer asks so; it then has no multipart body to scan
    for the boundary, which cost its page several milliseconds per 512×512 frame.
    """
    rendition = media.pixel_rendition_choose(_accept(request), stored.transfer_syntax_uid)
    produced = frame_service.frames_read(stored, numbers, keep_stored=rendition.keep_stored)
    # The first frame is produced before the status line: an undecodable stored syntax answers 406.
    first = next(produced)
    content_type = pixel_parts.frame_content_type(rendition, stored, first)
    if whole_at is not None:
        parts = pixel_parts.pixel_data_parts(stored, first, produced, content_type, whole_at)
        return media.multipart_response(parts, part_type=pixel_parts.frame_media_type(rendition, stored, first))
    if rendition.single_part and len(numbers) == 1:
        return HttpResponse(first.data, content_type=content_type)
    frames = (media.OutgoingPart(content_type, [frame.data]) for frame in itertools.chain([first], produced))
    return media.multipart_response(frames, part_type=pixel_parts.frame_media_type(rendition, stored, first))


@answers_retrieve_errors
def retrieve_bulkdata(request: HttpRequest, study: str, series: str, instance: str, tag_path: str) -> HttpResponse:
    stored = instance_get(
        organization=request_organization(request),
        study_uid=study,
        series_uid=series,
        sop_uid=instance,
        with_frame_index=True,
    )
    tag_text = tag_path.strip("/").upper()
    element = instance_metadata(stored).get(tag_text) if len(tag_text) == 8 else None
    if element is None or element.get("BulkDataURI") != f"{BULK_MARKER_PREFIX}{tag_text}":
        raise NotFound(f"Instance {instance} has no bulk data at {tag_path}")
    tag = int(tag_text, 16)
    if tag == pixel_parts.PIXEL_DATA and stored.number_of_frames > 0:
        every = list(range(1, stored.number_of_frames + 1))
        return _pixel_response(
            request, stored, every, whole_at=pixel_parts.pixel_data_uri(dicomweb_root_url(request), stored)
        )
    ranges = _accept(request)
    if not any(r.matches(media.OCTET_STREAM) for r in ranges):
        raise NotAcceptable(f"Bulk data is available as {media.OCTET_STREAM} only")
    value = instance_element_bytes(stored, tag)
    part = media.OutgoingPart(media.part_content_type(media.OCTET_STREAM), [value])
    return media.multipart_response([part], part_type=media.OCTET_STREAM)


# --- pixel data of a study, series or instance (PS3.18 10.4.1.1.6, payload 10.4.3.3.6) -----------


@answers_retrieve_errors
def retrieve_pixeldata(
    request: HttpRequest, study: str, series: str | None = None, instance: str | None = None
) -> HttpResponse:
    """All the pixel data the UIDs name in one response: how a viewer loads a whole series at once.

    Each instance's Pixel Data is one part (uncompressed) or one part per frame (compressed as stored,
    or from the series' RLE copy when the client asks for ``image/dicom-rle``), in series and instance
    number order, with the Content-Location of its BulkDataURI in the metadata and, where it is known in
    advance, a Content-Length.
    """
    organization = request_organization(request)
    instances = instances_select(
        organization=organization, study_uid=study, series_uid=series, sop_uid=instance, with_frame_index=True
    )
    images = [item for item in instances if item.number_of_frames > 0]
    if not images:
        raise NotFound("None of the instances named has pixel data")
    plan = pixel_parts.pixel_data_plan(
        images,
        _accept(request),
        series_ids=lambda: series_ids_select(organization=organization, study_uid=study, series_uid=series),
    )
    parts = pixel_parts.pixel_data_plan_parts(plan, dicomweb_root_url(request))
    response = media.multipart_response(parts, part_type=plan.part_type)
    if plan.skipped:
        response["Warning"] = f'299 pacs: "{plan.skipped} instances cannot be sent in an accepted media type"'
    return response


# --- rendered (PS3.18 10.4.1.1.3) and thumbnail (10.4.1.1.4) --------------------------------------


@answers_retrieve_errors
def retrieve_rendered(
    request: HttpRequest,
    study: str,
    series: str | None = None,
    instance: str | None = None,
    frames: str | None = None,
) -> HttpResponse:
    media_type, options, instances = _render_request(request, study, series, instance, thumbnail=False)
    if instance is None:
        images = [item for item in instances if item.number_of_frames > 0]
        if not images:
            raise NotAcceptable("There is no image to render: no instance has pixel data")
        return media.multipart_response(_rendered_parts(request, images, options), part_type=media_type)
    stored = _with_frame_index(request, instances[0])
    if frames is None:
        return HttpResponse(render.render_frame(stored, 1, options), content_type=media_type)
    numbers = frame_service.frame_numbers_parse(frames, number_of_frames=stored.number_of_frames)
    if len(numbers) == 1:
        return HttpResponse(render.render_frame(stored, numbers[0], options), content_type=media_type)
    parts = (media.OutgoingPart(media_type, [render.render_frame(stored, number, options)]) for number in numbers)
    return media.multipart_response(parts, part_type=media_type)


def _render_request(
    request: HttpRequest, study: str, series: str | None, instance: str | None, *, thumbnail: bool
) -> tuple[str, render.RenderOptions, list[StoredInstance]]:
    """The negotiated image type, the rendering options and the instances a rendered request names."""
    media_type = media.rendered_media_type(
        _accept(request), render.RENDERED_MEDIA_TYPES, override=request.GET.get("accept")
    )
    options = render.render_options(media_type=media_type, params=request.GET, thumbnail=thumbnail)
    instances = instances_select(
        organization=request_organization(request), study_uid=study, series_uid=series, sop_uid=instance
    )
    return media_type, options, instances


def _rendered_parts(
    request: HttpRequest, images: list[StoredInstance], options: render.RenderOptions
) -> Iterator[media.OutgoingPart]:
    for image in images:
        try:
            rendered = render.render_frame(_with_frame_index(request, image), 1, options)
        except RetrieveError as exc:
            # The status line is sent already: leave the image out rather than break the message.
            logger.warning("Leaving %s out of a rendered response: %s", image.sop_uid, exc.reason)
            continue
        yield media.OutgoingPart(options.media_type, [rendered])


@answers_retrieve_errors
def retrieve_thumbnail(
    request: HttpRequest,
    study: str,
    series: str | None = None,
    instance: str | None = None,
    frames: str | None = None,
) -> HttpResponse:
    media_type, options, instances = _render_request(request, study, series, instance, thumbnail=True)
    stored = _with_frame_index(request, render.representative_instance(instances))
    number = 1
    if frames is not None:
        number = frame_service.frame_numbers_parse(frames, number_of_frames=stored.number_of_frames)[0]
    return HttpResponse(render.render_frame(stored, number, options), content_type=media_type)


def _with_frame_index(request: HttpRequest, instance: StoredInstance) -> StoredInstance:
    return instance_get(
        organization=request_organization(request),
        study_uid=instance.study_uid,
        series_uid=instance.series_uid,
        sop_uid=instance.sop_uid,
        with_frame_index=True,
    )
