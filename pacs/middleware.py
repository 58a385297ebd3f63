"""Answers 503 with a reason when the database is unreachable, instead of an opaque 500."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError):
            logger.error("Database unavailable while serving %s: %s", request.path, exception)
            response = JsonResponse({"error": "Database unavailable, try again later"}, status=503)
            response["Retry-After"] = "30"
            return response
        return None
