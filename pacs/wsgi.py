import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from pacs.runtime import startup_objects_freeze

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacs.settings")
application = get_wsgi_application()
# Django imports the URLconf, and with it every view module, on a worker's first request: about 170 ms
# that the first frame a viewer asks for would wait. Each worker does it now, before it serves.
get_resolver().url_patterns  # noqa: B018 - the attribute is read for its side effect
startup_objects_freeze()
