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

        from django.db.models.signals import post_delete, post_save

        from pacs.auth import tokens_forget
        from pacs.models import ApiToken, User

        for model in (ApiToken, User):
            post_save.connect(tokens_forget, sender=model, dispatch_uid=f"pacs.tokens_forget.save.{model.__name__}")
            post_delete.connect(tokens_forget, sender=model, dispatch_uid=f"pacs.tokens_forget.delete.{model.__name__}")
