"""Logs: one JSON object per line on stdout (``LOG_FORMAT=json``) or plain text (``console``).

Ordinary log records go through the ``logging`` module. The access log, one line per
request, does not: at thousands of requests per second the logging machinery (record,
filters, formatter, a write and flush per line) costs more than proxying the request. It
is serialised with orjson and written in batches by :class:`AccessLog`, at most
``FLUSH_SECONDS`` after the request (and at shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from datetime import UTC, datetime
from typing import IO

import orjson
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from gateway.context import request_id_var
from msh_common.aio import cancel_and_wait

_HANDLER_NAME = "gateway-log"
FLUSH_SECONDS = 0.2
_MAX_BUFFERED = 256


class RequestIdFilter(logging.Filter):
    """Adds the current request id (if any) to every record, so lines can be correlated."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def setup_logging(level: str, environment: str, fmt: str = "json") -> None:
    """Send all logs, uvicorn's included, through one handler on stdout.

    Idempotent: calling it again (a second app in the same process) replaces the handler.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setLevel(level)  # also applies to records of loggers with their own level (uvicorn)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
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
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s gateway %(levelname)s %(name)s: %(message)s")
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


class AccessLog:
    """The one access-log line per request, buffered and written in batches."""

    def __init__(
        self,
        environment: str,
        fmt: str = "json",
        enabled: bool = True,
        stream: IO[bytes] | None = None,
    ) -> None:
        self.environment = environment
        self.json = fmt == "json"
        self.enabled = enabled
        self._stream = stream
        self._lines: list[bytes] = []
        self._task: asyncio.Task[None] | None = None
        self._second = -1
        self._second_text = ""

    def write(
        self,
        *,
        method: str,
        path: str,
        route: str | None,
        status: int,
        upstream: str | None,
        duration_ms: float,
        request_id: str,
        trace_id: str,
        user_id: str | None,
        client: str | None,
    ) -> None:
        if not self.enabled:
            return
        now = time.time()
        second = int(now)
        if second != self._second:  # formatting a date is the dearest part of a line
            self._second = second
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        timestamp = f"{self._second_text}.{int((now - second) * 1000):03d}+00:00"
        if self.json:
            line = orjson.dumps(
                {
                    "level": "INFO",
                    "logger": "gateway.access",
                    "message": "request",
                    "time": timestamp,
                    "service": "gateway",
                    "environment": self.environment,
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status,
                    "upstream": upstream,
                    "duration_ms": round(duration_ms, 2),
                    "request_id": request_id,
                    "trace_id": trace_id,
                    "user_id": user_id,
                    "client": client,
                },
                option=orjson.OPT_APPEND_NEWLINE,
            )
        else:
            line = (
                f"{timestamp[:19].replace('T', ' ')} gateway INFO gateway.access: {method} {path} "
                f"{status} "
                f"{duration_ms:.1f}ms upstream={upstream or '-'} user={user_id or '-'} "
                f"client={client or '-'} request_id={request_id}\n"
            ).encode()
        self._lines.append(line)
        if len(self._lines) >= _MAX_BUFFERED:
            self.flush()

    def flush(self) -> None:
        if not self._lines:
            return
        data = b"".join(self._lines)
        self._lines.clear()
        stream = self._stream or sys.stdout.buffer
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()  # lines from the logging module first, in order
            stream.write(data)
            stream.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._flush_forever(), name="access-log-flush")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self.flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.flush()
