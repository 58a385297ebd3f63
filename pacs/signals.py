"""News from the archive for the apps that build on it (RIS, HIS integration). The core never calls up.

Every signal is sent after the transaction that made the change has committed.
"""

from django.dispatch import Signal

# kwargs: instance_id, study_id, series_id, organization_id, origin_kind, outcome ("stored" | "replaced")
instance_stored = Signal()

# Once per ingested batch (a STOW-RS request, a C-STORE), after the per-instance signals:
# kwargs: organization_id, study_ids (each study that got instances), new_study_ids (those of them the
# batch created), origin_kind
studies_stored = Signal()
