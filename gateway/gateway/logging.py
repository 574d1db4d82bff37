"""JSON logging: one JSON object per line on stdout, for the platform's log shipper."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from gateway.context import request_id_var

access_logger = logging.getLogger("gateway.access")

_HANDLER_NAME = "gateway-json"


class RequestIdFilter(logging.Filter):
    """Adds the current request id (if any) to every record, so lines can be correlated."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def setup_logging(level: str, environment: str) -> None:
    """Send all logs, uvicorn's included, through one JSON handler on stdout.

    Idempotent: calling it again (a second app in the same process) replaces the handler.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setLevel(level)  # also applies to records of loggers with their own level (uvicorn)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            timestamp="time",
            rename_fields={"levelname": "level", "name": "logger"},
            static_fields={"service": "gateway", "environment": environment},
            # uvicorn adds an ANSI-coloured copy of some messages; one copy is enough.
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn installs its own plain-text handler; route its messages through ours instead.
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True


def log_access(
    *,
    method: str,
    path: str,
    status: int,
    upstream: str | None,
    duration_ms: float,
    request_id: str,
) -> None:
    """The one access-log line per request."""
    access_logger.info(
        "request",
        extra={
            "method": method,
            "path": path,
            "status": status,
            "upstream": upstream,
            "duration_ms": round(duration_ms, 2),
            "request_id": request_id,
        },
    )
