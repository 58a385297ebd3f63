"""System checks for the viewer: the front end must be built before pages that need it are served."""

from __future__ import annotations

from typing import Any

from django.core import checks

from viewer.assets import MANIFEST, manifest_path


@checks.register()
def frontend_built_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    if manifest_path() is not None:
        return []
    return [
        checks.Warning(
            f"The viewer front end is not built: static/{MANIFEST} is missing.",
            hint="Run `npm ci && npm run build` in viewer/frontend (make run and make test do).",
            id="viewer.W001",
        )
    ]
