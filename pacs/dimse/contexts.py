"""Presentation contexts the archive accepts and proposes (PS3.7 D.3.3.2, PS3.8 9.3.2.2).

A requestor may offer several transfer syntaxes in one presentation context; the acceptor chooses one.
The archive stores what it receives without conversion, so whatever one syntax a sender offers is
accepted. When a context offers several, the native little-endian syntaxes come first: a sender that
proposes both an uncompressed and a lossy syntax for an uncompressed image must never be invited to
compress it lossily, and a native file is the one the frame index addresses best. Lossless compression
comes before lossy, and the retired or container syntaxes (Deflate, Big Endian, video) last.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydicom.uid import (
    UID,
    AllTransferSyntaxes,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEG2000MCLossless,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)
from pynetdicom import AllStoragePresentationContexts
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext, build_context
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StorageCommitmentPushModel,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

NATIVE_LITTLE_ENDIAN = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
_LOSSLESS_COMPRESSED = (
    JPEGLSLossless,
    JPEG2000Lossless,
    JPEG2000MCLossless,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    JPEGLosslessSV1,
    JPEGLossless,
    RLELossless,
)
_LAST = (DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian)

if TYPE_CHECKING:
    from pacs.retrieve.instances import StoredInstance


def _accepted_transfer_syntaxes() -> list[UID]:
    """Every transfer syntax pydicom knows, in the archive's order of preference (module docstring)."""
    known = [UID(uid) for uid in AllTransferSyntaxes]
    first = [*NATIVE_LITTLE_ENDIAN, *_LOSSLESS_COMPRESSED]
    lossy = [uid for uid in known if uid.is_compressed and uid not in first and not uid.is_deflated]
    rest = [uid for uid in known if uid not in first and uid not in lossy and uid not in _LAST]
    return [*first, *lossy, *_LAST, *rest]


ACCEPTED_TRANSFER_SYNTAXES: list[UID] = _accepted_transfer_syntaxes()

STORAGE_SOP_CLASSES: list[UID] = [UID(cx.abstract_syntax) for cx in AllStoragePresentationContexts]

FIND_SOP_CLASSES = (PatientRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelFind)
MOVE_SOP_CLASSES = (PatientRootQueryRetrieveInformationModelMove, StudyRootQueryRetrieveInformationModelMove)
GET_SOP_CLASSES = (PatientRootQueryRetrieveInformationModelGet, StudyRootQueryRetrieveInformationModelGet)


def supported_contexts() -> list[PresentationContext]:
    """The contexts the archive accepts as association acceptor.

    Storage contexts accept both roles when a requestor proposes SCP/SCU Role Selection (PS3.7 D.3.3.4):
    a C-GET requestor takes the Storage SCP role so that the instances come back on its own association
    (PS3.4 C.4.3), while a modality that sends no role item keeps the default roles and stores.
    """
    contexts = [build_context(Verification, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])]
    for sop_class in STORAGE_SOP_CLASSES:
        context = build_context(sop_class, ACCEPTED_TRANSFER_SYNTAXES)
        context.scu_role = True
        context.scp_role = True
        contexts.append(context)
    # Identifiers and N-ACTION/N-EVENT-REPORT data sets are small: the uncompressed syntaxes suffice.
    query_syntaxes = [
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        DeflatedExplicitVRLittleEndian,
        ExplicitVRBigEndian,
    ]
    for sop_class in (*FIND_SOP_CLASSES, *MOVE_SOP_CLASSES, *GET_SOP_CLASSES, StorageCommitmentPushModel):
        contexts.append(build_context(sop_class, query_syntaxes))
    return contexts


def sub_association_contexts(offers: dict[str, set[str]]) -> list[PresentationContext]:
    """Contexts for a C-MOVE sub-association: per SOP Class, its stored syntaxes, then native fallbacks.

    ``offers`` maps each SOP Class UID to the transfer syntaxes its instances are stored in. Each stored
    syntax gets a context of its own so that the destination can accept it without conversion (the
    stored bytes are sent as they are); a separate context offers the native little-endian syntaxes,
    into which every decodable instance can be converted (PS3.4 C.4.2.3.1 leaves the choice of syntax to
    the negotiation of the sub-association). At most 128 contexts fit an association (PS3.8 9.3.2.2):
    beyond that, SOP Classes keep only their fallback context.
    """
    contexts: list[PresentationContext] = []
    exact: list[PresentationContext] = []
    for sop_class in sorted(offers):
        contexts.append(build_context(sop_class, list(NATIVE_LITTLE_ENDIAN)))
        for syntax in sorted(offers[sop_class]):
            if syntax not in NATIVE_LITTLE_ENDIAN:
                exact.append(build_context(sop_class, [syntax]))
    room = max(0, 128 - len(contexts))
    return contexts[:128] + exact[:room]


def sending_offers(instances: Iterable[StoredInstance]) -> dict[str, set[str]]:
    """What :func:`sub_association_contexts` takes: each SOP Class with the syntaxes it is stored in."""
    offers: dict[str, set[str]] = {}
    for instance in instances:
        offers.setdefault(instance.sop_class_uid, set()).add(instance.transfer_syntax_uid)
    return offers


def accepted_for_sending(association: Association) -> dict[str, list[str]]:
    """SOP Class → syntaxes of the contexts on which this side may send C-STORE requests (SCU role)."""
    accepted: dict[str, list[str]] = {}
    for context in association.accepted_contexts:
        if context.as_scu:
            accepted.setdefault(str(context.abstract_syntax), []).append(str(context.transfer_syntax[0]))
    return accepted
