"""Logging set-up: plain lines, or one JSON object per line when `HOTLINE_LOG_JSON` is true.

Log records carry ids (call, chunk, data key), never phone numbers, transcripts, audio or secrets.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from service.settings import Settings

_EXTRA_FIELDS = ("call_id", "chunk_id", "recording_sid", "job", "outcome")


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record with its structured extras."""
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _EXTRA_FIELDS:
            if hasattr(record, name):
                payload[name] = getattr(record, name)
        if record.exc_info:
            payload["error"] = self.formatException(record.exc_info)
        return json.dumps(payload)


def configure_logging(settings: Settings) -> None:
    """Install the root handler once per process."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if settings.log_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
