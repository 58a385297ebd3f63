"""News from the archive for the apps that build on it (RIS, HIS integration). The core never calls up.

Every signal is sent after the transaction that made the change has committed.
"""

from django.dispatch import Signal

# kwargs: instance_id, study_id, series_id, organization_id, origin_kind, outcome ("stored" | "replaced")
instance_stored = Signal()
