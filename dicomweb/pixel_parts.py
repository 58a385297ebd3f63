"""Pixel data as the parts of WADO-RS responses: the frames of one instance (PS3.18 10.4.1.1.5), its
Pixel Data as bulk data, and the pixel data of a study or series (10.4.1.1.6, payload 10.4.3.3.6).

For a study or series the media type is negotiated per instance, since each is stored in its own
transfer syntax, and a large grey series may come from its RLE copy (``pacs.retrieve.rle_copies``) when
the client names that copy's media type: ``pixel_data_plan`` decides, ``pixel_data_plan_parts`` sends.
The views only translate the request and the response.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pydicom.datadict import tag_for_keyword
from pydicom.uid import UID

from dicomweb import media
from pacs.dicomjson import BULK_MARKER_PREFIX
from pacs.retrieve import frames as frame_service
from pacs.retrieve import rle_copies
from pacs.retrieve.errors import NotAcceptable, RetrieveError
from pacs.retrieve.instances import StoredInstance

logger = logging.getLogger(__name__)

PIXEL_DATA = tag_for_keyword("PixelData")


def instance_url(root: str, instance: StoredInstance) -> str:
    return f"{root}/studies/{instance.study_uid}/series/{instance.series_uid}/instances/{instance.sop_uid}"


def pixel_data_uri(root: str, instance: StoredInstance) -> str:
    """The BulkDataURI of the instance's Pixel Data, as its metadata gives it."""
    return f"{instance_url(root, instance)}/{BULK_MARKER_PREFIX}{PIXEL_DATA:08X}"


def frame_media_type(rendition: media.PixelRendition, stored: StoredInstance, frame: frame_service.Frame) -> str:
    """The rendition's media type for frames sent as stored; decoded ones are octet-stream."""
    return rendition.media_type if frame.transfer_syntax == stored.transfer_syntax_uid else media.OCTET_STREAM


def frame_content_type(rendition: media.PixelRendition, stored: StoredInstance, frame: frame_service.Frame) -> str:
    return media.part_content_type(frame_media_type(rendition, stored, frame), frame.transfer_syntax)


def pixel_data_parts(
    stored: StoredInstance,
    first: frame_service.Frame,
    rest: Iterator[frame_service.Frame],
    content_type: str,
    location: str,
) -> Iterator[media.OutgoingPart]:
    """An instance's Pixel Data as bulk data parts: compressed, a part per frame; else one whole part.

    Each part names its BulkDataURI and, where it is known before sending, its length: native frames
    are read as stored by their index, whose lengths add up to the part's.
    """
    if UID(first.transfer_syntax).is_compressed or stored.number_of_frames == 1:
        for frame in itertools.chain([first], rest):
            yield media.OutgoingPart(content_type, [frame.data], location, length=len(frame.data))
        return
    native = stored.frame_index and not UID(stored.transfer_syntax_uid).is_compressed
    length = sum(size for ranges in stored.frame_index for _offset, size in ranges) if native else None
    chunks = (frame.data for frame in itertools.chain([first], rest))
    yield media.OutgoingPart(content_type, chunks, location, length=length)


@dataclass(frozen=True)
class PlannedInstance:
    image: StoredInstance
    rendition: media.PixelRendition
    # The (offset, length) of each frame in the series' RLE copy, when the frames come from there.
    copied: list[tuple[int, int]] | None


@dataclass
class PixelDataPlan:
    """What a study or series pixel data response sends, in order; ``copies`` is open until it is sent."""

    instances: list[PlannedInstance]
    copies: rle_copies.OpenCopies
    skipped: int  # instances in no accepted media type, left out

    @property
    def part_type(self) -> str:
        return self.instances[0].rendition.media_type


def pixel_data_plan(
    images: list[StoredInstance], ranges: list[media.MediaRange], series_ids: Callable[[], list[int]]
) -> PixelDataPlan:
    """Each image with the media type it goes in and, where the client names the RLE copy's media type
    and the series has one, its frames in the copy. ``series_ids`` gives the series whose copies to open,
    asked only then. NotAcceptable when no image can be sent in any accepted media type."""
    copies = rle_copies.OpenCopies(series_ids() if _asks_for_rle_copy(ranges) else [])
    planned: list[PlannedInstance] = []
    renditions: dict[tuple[str, bool], media.PixelRendition | NotAcceptable] = {}
    for image in images:
        copied = copies.frames_of(image)
        key = (image.transfer_syntax_uid, copied is not None)
        if key not in renditions:
            try:
                renditions[key] = media.pixel_rendition_choose(
                    ranges, image.transfer_syntax_uid, rle_copies.COPY_SYNTAX if copied is not None else None
                )
            except NotAcceptable as exc:
                renditions[key] = exc
        rendition = renditions[key]
        if isinstance(rendition, media.PixelRendition):
            planned.append(PlannedInstance(image, rendition, copied if rendition.from_copy else None))
    if not planned:
        copies.close()
        raise next(refusal for refusal in renditions.values() if isinstance(refusal, NotAcceptable))
    return PixelDataPlan(instances=planned, copies=copies, skipped=len(images) - len(planned))


def _asks_for_rle_copy(ranges: list[media.MediaRange]) -> bool:
    """Whether the client names the RLE copy's media type: only then are the series' copies looked up."""
    wanted = media.COMPRESSED_MEDIA_TYPES[rle_copies.COPY_SYNTAX]
    return rle_copies.copies_enabled() and any(r.part_type == wanted for r in ranges)


def pixel_data_plan_parts(plan: PixelDataPlan, root: str) -> Iterator[media.OutgoingPart]:
    """The plan's parts, in its order; the copies are closed when the last is sent or sending stops."""
    try:
        for planned in plan.instances:
            image, rendition = planned.image, planned.rendition
            location = pixel_data_uri(root, image)
            if planned.copied is not None:
                try:
                    copy_frames = plan.copies.frames_read(image, planned.copied)
                except OSError as exc:
                    logger.warning("Leaving %s out of a pixel data response: %s", image.sop_uid, exc)
                    continue
                content_type = media.part_content_type(rendition.media_type, rle_copies.COPY_SYNTAX)
                for frame in copy_frames:
                    yield media.OutgoingPart(content_type, [frame], location, length=len(frame))
                continue
            frames = frame_service.frames_read(
                image, range(1, image.number_of_frames + 1), keep_stored=rendition.keep_stored
            )
            try:
                first = next(frames)
            except (RetrieveError, OSError) as exc:
                # The status line is sent already: leave the instance out rather than break the message.
                logger.warning("Leaving %s out of a pixel data response: %s", image.sop_uid, exc)
                continue
            content_type = frame_content_type(rendition, image, first)
            yield from pixel_data_parts(image, first, frames, content_type, location)
    finally:
        plan.copies.close()
