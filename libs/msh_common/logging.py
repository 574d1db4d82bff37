"""One logging setup for every service: JSON lines on stdout, or plain text for a console."""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter


def logging_config(service: str, level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict (Django takes it as ``LOGGING``)."""
    formatter: dict[str, Any] = (
        {
            "()": JsonFormatter,
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "static_fields": {"service": service},
        }
        if fmt == "json"
        else {"format": f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": sys.stdout,
                "formatter": "default",
            }
        },
        "root": {"handlers": ["stdout"], "level": level.upper()},
    }


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    logging.config.dictConfig(logging_config(service, level, fmt))
