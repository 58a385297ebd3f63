"""The two servers under test, each started fresh for one run and torn down after it.

``orthanc_running`` starts the Debian ``Orthanc`` binary with the DICOMweb plugin and a configuration
of its own in a temporary folder. ``ours_running`` starts this project on a new PostgreSQL database and
a dedicated Redis database: migrate, a user with a bearer token, gunicorn, a Celery worker and, when
the project has it, the ``manage.py dimse`` process. Both yield a :class:`Target`, which is all the
measuring code knows of a server.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
import requests
from psycopg import sql

from bench.processes import LOCALHOST, ManagedProcess, free_port, port_open, wait_until

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The AE titles the benchmark's DCMTK tools use: the SCU (storescu, findscu, movescu) and the C-MOVE
# destination (storescp).
SCU_AE_TITLE = "BENCHSCU"
MOVE_DESTINATION_AE_TITLE = "BENCHSCP"
ORTHANC_INSTALL_HINT = "apt-get install -y orthanc orthanc-dicomweb"
_PLUGIN_GLOBS = ("/usr/share/orthanc/plugins/libOrthancDicomWeb.so*", "/usr/lib/orthanc/libOrthancDicomWeb.so*")


@dataclass(frozen=True)
class DicomPeer:
    """A DIMSE service: where it listens and the AE title to call."""

    ae_title: str
    port: int
    host: str = LOCALHOST


@dataclass(frozen=True)
class Target:
    """A server under test: its DICOMweb root URL, the headers to send, its DIMSE service if any."""

    name: str
    dicomweb_url: str
    headers: dict[str, str] = field(default_factory=dict)
    dicom: DicomPeer | None = None
    # Called between loading and querying with a timeout in seconds: returns once the server's
    # background work on what it ingested is done, with the seconds it waited.
    settle: Callable[[float], float] | None = None


@dataclass(frozen=True)
class ServerOptions:
    """How the servers are started: log folder, web workers, the move destination's port."""

    log_dir: Path
    scratch_dir: Path
    web_workers: int
    move_destination_port: int
    with_dimse: bool
    postgres_admin_url: str
    redis_url: str
    database_name: str = "pacs_bench"


def orthanc_plugin() -> Path:
    """The DICOMweb plugin's shared library; raises with the install command when missing."""
    for pattern in _PLUGIN_GLOBS:
        folder, _, name = pattern.rpartition("/")
        for candidate in sorted(Path(folder).glob(name)):
            if candidate.is_file():
                return candidate
    raise RuntimeError(f"The Orthanc DICOMweb plugin is not installed: {ORTHANC_INSTALL_HINT}")


def orthanc_binary() -> str:
    for candidate in ("/usr/sbin/Orthanc", "/usr/bin/Orthanc"):
        if Path(candidate).is_file():
            return candidate
    raise RuntimeError(f"Orthanc is not installed: {ORTHANC_INSTALL_HINT}")


def orthanc_version() -> str:
    output = subprocess.run(  # noqa: S603 - a fixed binary path
        [orthanc_binary(), "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    return output.splitlines()[0].strip() if output else "Orthanc (unknown version)"


@contextmanager
def orthanc_running(options: ServerOptions) -> Iterator[Target]:
    """Orthanc with DICOMweb on free ports, storage in a temporary folder, stopped on exit.

    ``TcpNoDelay`` covers its HTTP server; its DICOM server (DCMTK) reads ``TCP_NODELAY=1`` from the
    environment. Orthanc 1.10 has no listen-address option: its HTTP server answers only 127.0.0.1
    (``RemoteAccessAllowed: false``), and its DICOM server serves only the benchmark's AE titles
    connecting from 127.0.0.1 (every ``DicomAlwaysAllow*`` false, ``DicomCheckModalityHost`` true).
    """
    folder = options.scratch_dir / "orthanc"
    storage = folder / "storage"
    storage.mkdir(parents=True)
    http_port, dicom_port = free_port(), free_port()
    modalities = {
        "bench-scu": {"AET": SCU_AE_TITLE, "Host": LOCALHOST, "Port": free_port()},
        "bench-scp": {"AET": MOVE_DESTINATION_AE_TITLE, "Host": LOCALHOST, "Port": options.move_destination_port},
    }
    config = {
        "Name": "PacsBenchOrthanc",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "Plugins": [str(orthanc_plugin())],
        "HttpServerEnabled": True,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "SslEnabled": False,
        "KeepAlive": True,
        "TcpNoDelay": True,
        "DicomServerEnabled": True,
        "DicomAet": "ORTHANC",
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": False,
        "DicomTlsEnabled": False,
        "DicomAlwaysAllowEcho": False,
        "DicomAlwaysAllowStore": False,
        "DicomAlwaysAllowFind": False,
        "DicomAlwaysAllowGet": False,
        "DicomAlwaysAllowMove": False,
        "DicomCheckModalityHost": True,
        "DicomModalities": modalities,
        "DicomModalitiesInDatabase": False,
        "SaveJobs": False,
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True},
    }
    config_path = folder / "orthanc.json"
    config_path.write_text(json.dumps(config, indent=2))
    process = ManagedProcess(
        "Orthanc",
        [orthanc_binary(), str(config_path)],
        log_path=options.log_dir / "orthanc.log",
        cwd=folder,
        # Orthanc's DICOM server is DCMTK's, which disables Nagle's algorithm only when told so.
        env={**os.environ, "TCP_NODELAY": "1"},
    )
    with process:
        base = f"http://{LOCALHOST}:{http_port}"
        wait_until(lambda: _http_ok(f"{base}/system"), timeout=60, what="Orthanc's HTTP server", process=process)
        plugins = requests.get(f"{base}/plugins", timeout=10).json()
        if "dicom-web" not in plugins:
            raise RuntimeError(f"Orthanc started without the DICOMweb plugin (plugins: {plugins})")
        wait_until(lambda: port_open(dicom_port), timeout=30, what="Orthanc's DICOM port", process=process)
        yield Target(
            name="Orthanc",
            dicomweb_url=f"{base}/dicom-web",
            dicom=DicomPeer(ae_title="ORTHANC", port=dicom_port),
        )


def dimse_command_exists(var_dir: Path) -> bool:
    """Whether this project has the ``manage.py dimse`` command yet (``var_dir``: a scratch PACS_VAR_DIR)."""
    result = subprocess.run(  # noqa: S603 - the project's own manage.py
        [sys.executable, "manage.py", "help", "--commands"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_django_env(var_dir),
    )
    return "dimse" in result.stdout.split()


def _celery_idle_wait(redis_url: str, timeout: float) -> float:
    """Wait until the Celery queue in Redis is empty and no task is unacknowledged, twice in a row."""
    client = redis.Redis.from_url(redis_url)
    start = time.monotonic()
    idle_checks = 0
    try:
        while time.monotonic() - start < timeout and idle_checks < 2:
            pending = int(client.llen("celery")) + int(client.hlen("unacked"))
            idle_checks = idle_checks + 1 if pending == 0 else 0
            time.sleep(0.5)
    finally:
        client.close()
    return time.monotonic() - start


@contextmanager
def ours_running(options: ServerOptions) -> Iterator[Target]:
    """This project on a fresh PostgreSQL database and Redis database, stopped and dropped on exit."""
    var_dir = options.scratch_dir / "pacs-var"
    var_dir.mkdir(parents=True)
    http_port = free_port()
    dimse_port = free_port()
    database_url = _database_url(options.postgres_admin_url, options.database_name)
    env = _django_env(var_dir)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=options.redis_url,
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS=LOCALHOST,
        DEBUG="0",
        LOG_LEVEL="WARNING",
        DIMSE_AE_TITLE="PACS",
        DIMSE_HOST=LOCALHOST,
        DIMSE_PORT=str(dimse_port),
        # One service process per core, as the README advises for production (SO_REUSEPORT).
        DIMSE_PROCESSES="2",
    )
    bin_dir = Path(sys.executable).parent
    with ExitStack() as stack:
        _database_create(options.postgres_admin_url, options.database_name)
        stack.callback(_database_drop, options.postgres_admin_url, options.database_name)
        _redis_flush(options.redis_url)
        stack.callback(_redis_flush, options.redis_url)
        _manage(env, options.log_dir / "migrate.log", "migrate", "--noinput", "-v0")
        token = _bench_user_create(env, options)

        web = stack.enter_context(
            ManagedProcess(
                "gunicorn",
                [
                    str(bin_dir / "gunicorn"),
                    "pacs.wsgi",
                    "--bind",
                    f"{LOCALHOST}:{http_port}",
                    "--workers",
                    str(options.web_workers),
                    "--timeout",
                    "300",
                ],
                log_path=options.log_dir / "gunicorn.log",
                env=env,
                cwd=PROJECT_DIR,
            )
        )
        stack.enter_context(
            ManagedProcess(
                "celery",
                [str(bin_dir / "celery"), "-A", "pacs", "worker", "--loglevel=WARNING", "--concurrency=2"],
                log_path=options.log_dir / "celery.log",
                env=env,
                cwd=PROJECT_DIR,
            )
        )
        dicom = None
        if options.with_dimse:
            dimse = stack.enter_context(
                ManagedProcess(
                    "dimse",
                    [sys.executable, "manage.py", "dimse"],
                    log_path=options.log_dir / "dimse.log",
                    env=env,
                    cwd=PROJECT_DIR,
                )
            )
            wait_until(lambda: port_open(dimse_port), timeout=60, what="manage.py dimse", process=dimse)
            dicom = DicomPeer(ae_title="PACS", port=dimse_port)
        base = f"http://{LOCALHOST}:{http_port}"
        wait_until(lambda: _http_answers(f"{base}/dicomweb/studies"), timeout=60, what="gunicorn", process=web)
        yield Target(
            name="ours",
            dicomweb_url=f"{base}/dicomweb",
            headers={"Authorization": f"Bearer {token}"},
            dicom=dicom,
            settle=functools.partial(_celery_idle_wait, options.redis_url),
        )


def _django_env(var_dir: Path) -> dict[str, str]:
    """The environment of a project process: this one's, minus any database or broker it points at."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PACS_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE="pacs.settings")
    return env


def _manage(env: dict[str, str], log_path: Path, *args: str) -> str:
    """Run ``manage.py`` with ``args``; return its standard output, raise with its log on failure."""
    result = subprocess.run(  # noqa: S603 - the project's own manage.py
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log_path.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


_BENCH_USER_SCRIPT = """
from pacs.models import ApiToken, Organization, RemoteAE, User
org = Organization.objects.create(slug="bench", name="Bench")
user = User.objects.create_user("bench", password={password!r}, organization=org)
for ae_title, port in (({scu!r}, {scu_port}), ({scp!r}, {scp_port})):
    RemoteAE.objects.create(organization=org, ae_title=ae_title, host="127.0.0.1", port=port)
_, key = ApiToken.issue(user=user, name="bench")
print("BENCH_TOKEN=" + key)
"""


def _bench_user_create(env: dict[str, str], options: ServerOptions) -> str:
    """The bench organization, user, API token, and the benchmark's AE titles; returns the token."""
    script = _BENCH_USER_SCRIPT.format(
        password=secrets.token_urlsafe(16),
        scu=SCU_AE_TITLE,
        scu_port=free_port(),
        scp=MOVE_DESTINATION_AE_TITLE,
        scp_port=options.move_destination_port,
    )
    output = _manage(env, options.log_dir / "bench-user.log", "shell", "-c", script)
    for line in output.splitlines():
        if line.startswith("BENCH_TOKEN="):
            return line.removeprefix("BENCH_TOKEN=")
    raise RuntimeError(f"No token in the output of the user set-up:\n{output}")


def _database_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def _database_create(admin_url: str, name: str) -> None:
    _database_drop(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _database_drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _redis_flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _http_answers(url: str) -> bool:
    """Whether the server answers at all (any status: the probe carries no token)."""
    try:
        requests.get(url, timeout=2)
        return True
    except requests.RequestException:
        return False
