"""Django settings: everything comes from the environment, with defaults that run on one machine.

The defaults need no server: SQLite in WAL mode, storage in ``var/`` under the project, and a Celery
broker on the local file system. Production sets ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY`` and
``ALLOWED_HOSTS``; see the README for the full list.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from pacs.env import env_bool, env_int, env_list, env_path, env_str
from pacs.isolation import static_file_headers

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("PACS_VAR_DIR", BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """A key from the environment; otherwise one generated once and kept in var/ (never a fixed one)."""
    from_env = env_str("SECRET_KEY", "")
    if from_env:
        return from_env
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The report workspace frames the viewer from the same origin; other sites still may not frame us.
X_FRAME_OPTIONS = "SAMEORIGIN"
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "pacs",
    "dicomweb",
    "worklist",
    "ris",
    "viewer",
    "reporting",
    "network",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "pacs.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "pacs.urls"
WSGI_APPLICATION = "pacs.wsgi.application"
AUTH_USER_MODEL = "pacs.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_path("SQLITE_PATH", VAR_DIR / "db.sqlite3"),
            # Tests share their database with a real worker process, so it must be a file.
            "TEST": {"NAME": str(VAR_DIR / "test-db.sqlite3")},
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN
                # so two writers queue on the busy timeout instead of failing with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Keeps apart two deployments (or two test sessions) that share one Redis database.
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", ""),
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # On disk, so that web, DIMSE and worker processes share it.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "django-cache"),
        }
    }
    # A broker on the local file system: a real worker process with no Redis to install.
    _broker_dir = VAR_DIR / "celery"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    # The host is named, though the file system needs none: without it kombu warns "No hostname was
    # supplied" on every connection, in the web server's and the worker's logs alike.
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up closes the database connection before and after every task unless told to
# reuse it: each metadata build then paid for a new PostgreSQL connection, a backend process forked
# for it (15 % of the worker's time during a C-STORE burst). The worker keeps its connections as the
# web does (CONN_MAX_AGE), tidied around each task by pacs.celery; the fix-up itself closes them only
# every this many tasks.
CELERY_DB_REUSE_MAX = 1000

# --- Storage --------------------------------------------------------------------------------------
PACS_STORAGE_ROOT = env_path("PACS_STORAGE_ROOT", VAR_DIR / "storage")
PACS_CACHE_ROOT = env_path("PACS_CACHE_ROOT", VAR_DIR / "cache")
# The worker precomputes a series' WADO-RS metadata once it has this many instances. A smaller one is
# built on its first request (milliseconds); precomputing the many small series of a busy day cost the
# worker a third of the CPU that the archive needs to take in images (a C-STORE burst of small studies).
PACS_METADATA_PRECOMPUTE_MIN_INSTANCES = env_int("PACS_METADATA_PRECOMPUTE_MIN_INSTANCES", 16)
# After the metadata, the worker keeps an RLE Lossless copy of such a series' uncompressed 16-bit grey
# pixels (about half their size on CT) for viewers that load whole series; see pacs/retrieve/rle_copies.py.
# It costs the worker about 5 ms a slice once, and the cache folder about half the series' size again.
PACS_SERIES_RLE_COPIES = env_bool("PACS_SERIES_RLE_COPIES", True)
# What happens when an instance arrives whose SOP Instance UID is already stored; see pacs/ingest.
PACS_DUPLICATE_POLICY = env_str("PACS_DUPLICATE_POLICY", "replace")
PACS_MAX_UPLOAD_BYTES = env_int("PACS_MAX_UPLOAD_BYTES", 2 * 1024**3)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024**2)
PACS_DEFAULT_ORGANIZATION = env_str("PACS_DEFAULT_ORGANIZATION", "demo")
PACS_PUBLIC_URL = env_str("PACS_PUBLIC_URL", "")

# --- DIMSE ----------------------------------------------------------------------------------------
DIMSE_AE_TITLE = env_str("DIMSE_AE_TITLE", "PACS")
DIMSE_HOST = env_str("DIMSE_HOST", "127.0.0.1")
DIMSE_PORT = env_int("DIMSE_PORT", 11112)
DIMSE_MAX_PDU_SIZE = env_int("DIMSE_MAX_PDU_SIZE", 0)  # 0: unlimited (PS3.8 D.1)
DIMSE_MAX_ASSOCIATIONS = env_int("DIMSE_MAX_ASSOCIATIONS", 32)
DIMSE_ACSE_TIMEOUT = env_int("DIMSE_ACSE_TIMEOUT", 30)
DIMSE_DIMSE_TIMEOUT = env_int("DIMSE_DIMSE_TIMEOUT", 120)
DIMSE_NETWORK_TIMEOUT = env_int("DIMSE_NETWORK_TIMEOUT", 120)
DIMSE_CONNECTION_TIMEOUT = env_int("DIMSE_CONNECTION_TIMEOUT", 15)
DIMSE_SHUTDOWN_GRACE = env_int("DIMSE_SHUTDOWN_GRACE", 30)
# Several `manage.py dimse` processes may share the port (one Python process uses one core).
DIMSE_REUSE_PORT = env_bool("DIMSE_REUSE_PORT", False)
# `manage.py dimse` forks this many service processes sharing the port (SO_REUSEPORT).
DIMSE_PROCESSES = env_int("DIMSE_PROCESSES", 1)
# Admit calling AEs with no RemoteAE into this organization (store and echo only).
DIMSE_ACCEPT_UNKNOWN_AES = env_bool("DIMSE_ACCEPT_UNKNOWN_AES", False)
DIMSE_UNKNOWN_AE_ORGANIZATION = env_str("DIMSE_UNKNOWN_AE_ORGANIZATION", "")  # default: PACS_DEFAULT_ORGANIZATION

# --- HTTP API -------------------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_ALL_ORIGINS = env_bool("CORS_ALLOW_ALL_ORIGINS", False)
CORS_URLS_REGEX = r"^/(dicomweb|wado|api)/.*$"
CORS_EXPOSE_HEADERS = ["Content-Type", "Content-Length", "Warning", "Location"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pacs.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["pacs.auth.IsOrganizationMember"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {"TITLE": "PACS/RIS API", "VERSION": "0.1.0"}

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

STATICFILES_DIRS = [BASE_DIR / "static"]
# Hashed, compressed, cached-forever names once collectstatic has run (make run does); plain names
# before that (tests, development), so a fresh checkout renders pages without a build step.
_collected = (STATIC_ROOT / "staticfiles.json").exists() and not DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _collected
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not _collected
# The pages that show images are cross-origin isolated, so that the viewer may share memory with its
# workers (pacs/isolation.py); the scripts of those workers, served from here, must say so too. A proxy
# that serves /static/ itself must send the same header, or switch this off.
VIEWER_CROSS_ORIGIN_ISOLATION = env_bool("VIEWER_CROSS_ORIGIN_ISOLATION", True)
if VIEWER_CROSS_ORIGIN_ISOLATION:
    WHITENOISE_ADD_HEADERS_FUNCTION = static_file_headers
# The decoded-image cache of one viewer tab: room for a 2,000-slice 512x512 CT (1 GiB decoded) with a
# prior beside it, still a bound a tab survives. Thin clients with little memory may want less.
VIEWER_CACHE_SIZE_MB = env_int("VIEWER_CACHE_SIZE_MB", 2048)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "pynetdicom": {"level": env_str("PYNETDICOM_LOG_LEVEL", "WARNING")},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Modalities whose registration (checked in) opens the report page at once: their images are captured
# while reporting.
REPORTING_REPORT_FIRST_MODALITIES = env_list("REPORTING_REPORT_FIRST_MODALITIES", ["US", "ES"])
