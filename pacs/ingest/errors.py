"""The one error type of the archive: a failure that carries the DICOM status to answer with.

C-STORE returns ``status`` in its response (with ``comment`` as Error Comment); STOW-RS writes it as the
Failure Reason (0008,1197) of the instance in FailedSOPSequence. The codes in use, from PS3.4 B.2.3 and
PS3.18 Table 10.5.3-3 (Store Instances Response Failure Reason Values):

- 0xA700  Refused: out of resources (disk full, database unavailable).
- 0xA900  Error: data set does not match SOP Class (missing or invalid identifying UIDs, an instance
          posted to a study it does not belong to, a SOP Class that differs from the negotiated one).
- 0xC000  Error: cannot understand (not DICOM, truncated, unparseable).
- 0xC122  Referenced Transfer Syntax not supported.
- 0x0110  Processing failure (an unexpected error; the details are in the log).
- 0x0122  Referenced SOP Class not supported.
- 0x0124  Refused: not authorized (the caller may not store into this organization).
"""

from __future__ import annotations

OUT_OF_RESOURCES = 0xA700
DATASET_DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000
TRANSFER_SYNTAX_NOT_SUPPORTED = 0xC122
PROCESSING_FAILURE = 0x0110
SOP_CLASS_NOT_SUPPORTED = 0x0122
NOT_AUTHORIZED = 0x0124


class DicomStatusError(Exception):
    """Raised by archive services; ``status`` is the DICOM status code to answer the caller with."""

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(f"0x{status:04X}: {comment}")
        self.status = status
        # Error Comment (0000,0902) is LO: 64 characters at most.
        self.comment = comment

    @property
    def short_comment(self) -> str:
        return self.comment[:64]
