"""Structured logs: an event name and fields; JSON lines when not on a terminal. No secrets.

``LOG_FORMAT`` chooses: ``auto`` (default: plain text on a terminal, JSON lines otherwise), ``plain``
or ``json``. Fields bound with :func:`bind` (a context variable, so per asyncio task) go into every
line logged in that context: the update-processing seam binds ``update_id`` and the user's ``lane``
(and a ``ticket`` named by a button), the outbox sender and the timer worker bind the ``ticket``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

LOG_FORMATS = ("auto", "plain", "json")
_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)
_TICKET = re.compile(r"\b[A-Z]{1,6}-\d{4}-\d+\b")


def bind(**fields: Any) -> None:
    """Add fields to every line logged from now on in this context (this asyncio task and the tasks
    it starts afterwards); a None value removes the field."""
    current = dict(_context.get() or {})
    for name, value in fields.items():
        if value is None:
            current.pop(name, None)
        else:
            current[name] = value
    _context.set(current)


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """``with bound(ticket=...):`` — the fields for the lines logged inside the block only."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def context_fields() -> dict[str, Any]:
    """The fields bound in this context."""
    return dict(_context.get() or {})


def ticket_in(text: str | None) -> str | None:
    """The first ticket number (``HT-2026-000123``) in a text such as callback data, if any."""
    found = _TICKET.search(text) if text else None
    return found.group(0) if found else None


class EventLogger:
    """``log.info("petition.created", ticket=...)``: an event name and key-value fields."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _log(self, level: int, event: str, fields: dict[str, Any], exc_info: bool = False) -> None:
        if self._logger.isEnabledFor(level):
            bound_fields = _context.get()
            if bound_fields:
                fields = {**bound_fields, **fields}
            self._logger.log(level, event, extra={"fields": fields}, exc_info=exc_info)

    def debug(self, event: str, **fields: Any) -> None:
        """Log at DEBUG."""
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        """Log at INFO."""
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Log at WARNING."""
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, exc_info: bool = False, **fields: Any) -> None:
        """Log at ERROR, with the current exception if asked."""
        self._log(logging.ERROR, event, fields, exc_info=exc_info)


def get_logger(name: str) -> EventLogger:
    """An event logger for a module."""
    return EventLogger(name)


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self._as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        if self._as_json:
            payload = {
                "ts": when,
                "level": record.levelname.lower(),
                "logger": record.name,
                "event": record.getMessage(),
                **fields,
            }
            if record.exc_info:
                payload["exc"] = self.formatException(record.exc_info)
            return json.dumps(payload, ensure_ascii=False, default=str)
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{when} {record.levelname:<7} {record.getMessage()} {extra}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    """Install the formatter on the root logger (``fmt``: auto, plain or json; auto is JSON when
    standard error is not a terminal); keep httpx quiet (its URLs contain the token)."""
    handler = logging.StreamHandler(sys.stderr)
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler.setFormatter(_Formatter(as_json=as_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "telegram", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def formatter(as_json: bool) -> logging.Formatter:
    """The formatter ``configure`` installs (tests attach it to a handler of their own)."""
    return _Formatter(as_json)
