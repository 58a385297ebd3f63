"""A pytest plugin loaded with -p, so it runs before Django's settings load.

The test session gets its own var/ folder: storage, broker, database.
"""

import os
import tempfile

os.environ.setdefault("PACS_VAR_DIR", tempfile.mkdtemp(prefix="pacs-test-"))
# Persistent connections in the live server's threads would keep the test database busy at teardown.
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
# Series ids start again in each new test database: a previous session's "build queued" marks in a
# shared Redis would otherwise hold back this session's metadata builds.
os.environ.setdefault("CACHE_KEY_PREFIX", f"test-{os.getpid()}-{os.urandom(4).hex()}")
