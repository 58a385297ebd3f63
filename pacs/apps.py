from django.apps import AppConfig


class PacsConfig(AppConfig):
    name = "pacs"
    verbose_name = "Image archive"

    def ready(self) -> None:
        import pydicom.config

        from pacs import checks  # noqa: F401 - registers the system checks

        # Real modalities send values that break the letter of PS3.5 (odd lengths, bad dates); the
        # archive stores what it receives and validates only what it relies on (see pacs.ingest).
        pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
        pydicom.config.settings.writing_validation_mode = pydicom.config.IGNORE
