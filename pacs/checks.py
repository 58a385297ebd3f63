"""Configuration mistakes reported as Django system checks, with ids (``manage.py check``)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, register


@register()
def storage_checks(app_configs, **kwargs):  # type: ignore[no-untyped-def]
    problems = []
    for name in ("PACS_STORAGE_ROOT", "PACS_CACHE_ROOT"):
        root = getattr(settings, name)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problems.append(Error(f"{name} {root} cannot be created: {exc}", id="pacs.E001"))
            continue
        if not os.access(root, os.W_OK):
            problems.append(Error(f"{name} {root} is not writable", id="pacs.E002"))
    if settings.PACS_DUPLICATE_POLICY not in ("replace", "keep"):
        problems.append(Error("PACS_DUPLICATE_POLICY must be 'replace' or 'keep'", id="pacs.E003"))
    return problems


@register()
def dimse_checks(app_configs, **kwargs):  # type: ignore[no-untyped-def]
    problems = []
    title = settings.DIMSE_AE_TITLE
    if not title or len(title) > 16 or not title.isascii() or "\\" in title:
        problems.append(
            Error(f"DIMSE_AE_TITLE {title!r} must be 1 to 16 ASCII characters without backslash", id="pacs.E010")
        )
    if not 1 <= settings.DIMSE_PORT <= 65535:
        problems.append(Error(f"DIMSE_PORT {settings.DIMSE_PORT} is not a TCP port", id="pacs.E011"))
    if settings.DIMSE_MAX_ASSOCIATIONS < 1:
        problems.append(Error("DIMSE_MAX_ASSOCIATIONS must be at least 1", id="pacs.E012"))
    if settings.DIMSE_MAX_PDU_SIZE and settings.DIMSE_MAX_PDU_SIZE < 4096:
        problems.append(Error("DIMSE_MAX_PDU_SIZE must be 0 (unlimited) or at least 4096", id="pacs.E013"))
    return problems
