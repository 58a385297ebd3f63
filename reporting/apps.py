from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    label = "reporting"
    verbose_name = _("Reporting")

    def ready(self) -> None:
        from reporting.services.workflow import report_first_url
        from ris.navigation import registration_followup_register

        registration_followup_register(report_first_url)
