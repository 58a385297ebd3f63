from django.apps import AppConfig


class WorklistConfig(AppConfig):
    name = "worklist"
    verbose_name = "Modality Worklist"

    def ready(self) -> None:
        """Serve MWL and MPPS on the archive's AE, and link studies to exams as they arrive."""
        from pacs.signals import instance_stored
        from ris.signals import exam_status_changed
        from worklist import dimse, receivers

        dimse.services_register()
        instance_stored.connect(receivers.on_instance_stored, dispatch_uid="worklist.study_link")
        exam_status_changed.connect(receivers.on_exam_status_changed, dispatch_uid="worklist.exam_link_unmatched")
