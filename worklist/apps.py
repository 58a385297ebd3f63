from django.apps import AppConfig


class WorklistConfig(AppConfig):
    name = "worklist"
    verbose_name = "Modality Worklist"

    def ready(self) -> None:
        """Serve MWL and MPPS on the archive's AE, link studies to exams as they arrive, add the desk's link."""
        from django.utils.translation import gettext_lazy as _

        from pacs.signals import studies_stored
        from ris.navigation import NavLink, nav_link_register
        from ris.signals import exam_status_changed, patient_merged, patient_updated
        from worklist import dimse, receivers

        dimse.services_register()
        studies_stored.connect(receivers.on_studies_stored, dispatch_uid="worklist.study_link")
        exam_status_changed.connect(receivers.on_exam_status_changed, dispatch_uid="worklist.exam_link_unmatched")
        patient_updated.connect(receivers.on_patient_updated, dispatch_uid="worklist.patient_studies_update")
        patient_merged.connect(receivers.on_patient_merged, dispatch_uid="worklist.patient_merged_studies")
        nav_link_register(NavLink("worklist:unmatched", _("Unmatched studies"), "Alt+u"))
