"""Settings for a ``manage.py dimse`` subprocess that must notice a locked SQLite database quickly.

The project waits 30 s for SQLite's write lock; a test that holds the lock on purpose waits one second.
"""

from pacs.settings import *  # noqa: F403
from pacs.settings import DATABASES

DATABASES["default"]["OPTIONS"]["timeout"] = 1
