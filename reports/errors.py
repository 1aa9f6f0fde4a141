"""The exceptions of the reports package."""

from __future__ import annotations


class ReportError(Exception):
    """A report cannot be produced as asked (unknown id, bad range); the message says what to do."""
