import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacs.settings")

app = Celery("pacs")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def database_connections_tidy(**kwargs: object) -> None:
    """Around each task, as Django does around each request: drop a connection that failed or is older
    than CONN_MAX_AGE, keep the others for the next task (see CELERY_DB_REUSE_MAX in the settings)."""
    from django.db import close_old_connections

    close_old_connections()
