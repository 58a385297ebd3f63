"""News from reporting for HIS integration and notification screens.

Sent after the transaction that made the change has committed; receivers get ids and values.
"""

from django.dispatch import Signal

# kwargs: report_id, exam_id, organization_id, from_status, to_status, version, changed_by_id
report_status_changed = Signal()

# kwargs: notification_id, report_id, exam_id, organization_id, department, category, note, raised_by_id
report_critical_raised = Signal()
