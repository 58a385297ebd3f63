"""The one ingest pipeline: bytes in, a stored and indexed instance out (DESIGN.md, "Ingest").

Every door calls :func:`instance_ingest`: STOW-RS, C-STORE, ``import_dicom`` and web capture.
"""

from pacs.ingest.errors import DicomStatusError
from pacs.ingest.pipeline import IngestOrigin, IngestResult, instance_ingest, instances_ingest

__all__ = ["DicomStatusError", "IngestOrigin", "IngestResult", "instance_ingest", "instances_ingest"]
