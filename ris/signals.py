"""News from the RIS for the parts that build on it (HIS integration, queue calling, worklist).

Every signal is sent after the transaction that made the change has committed; receivers get ids and
values, never a model instance that might be stale.
"""

from django.dispatch import Signal

# kwargs: exam_id, organization_id, accession_number, study_instance_uid, from_status ("" for a new
# exam), to_status, changed_at, changed_by_id (None when a system reported it), source
exam_status_changed = Signal()

# kwargs: organization_id, source_patient_id, target_patient_id (database ids; the source is retired)
patient_merged = Signal()

# kwargs: organization_id, patient_id (database id), changed (names of the fields that changed),
# changed_by_id (None when a system made the change)
patient_updated = Signal()

# kwargs: exam_id, organization_id, merged_exam_ids (exams whose orders moved into exam_id, now cancelled)
exams_merged = Signal()

# kwargs: appointment_id, exam_id, organization_id, action ("booked" | "moved" | "cancelled")
appointment_changed = Signal()
