"""Retention policy: how long each class of data is kept. Legal holds override every policy.

Where several policies match one item, the longest retention wins. Deletion records are never deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

RECORDING = "recording"
REPLY = "reply"
TRANSCRIPT = "transcript"
CALL_METADATA = "call_metadata"
AUDIT_EVENTS = "audit_events"
JOB_RUNS = "job_runs"
# HIPAA (45 CFR 164.316(b)(2)) keeps compliance documentation for six years.
MIN_AUDIT_DAYS = 6 * 365


@dataclass(frozen=True)
class Policy:
    """Keep `data_class` for `days` after it was recorded."""

    data_class: str
    days: int

    @property
    def name(self) -> str:
        """How deletion records name the policy."""
        return f"{self.data_class}-{self.days}d"

    def cutoff(self, as_of: dt.datetime) -> dt.datetime:
        """Items recorded before this moment are due."""
        return as_of - dt.timedelta(days=self.days)


@dataclass(frozen=True)
class RetentionPolicy:
    """The policies of every data class."""

    policies: dict[str, Policy]

    @classmethod
    def from_days(cls, **days: int) -> RetentionPolicy:
        """Build from `data_class=days` pairs; refuses an audit retention under six years."""
        if days.get(AUDIT_EVENTS, MIN_AUDIT_DAYS) < MIN_AUDIT_DAYS:
            msg = f"Audit events must be kept at least {MIN_AUDIT_DAYS} days."
            raise ValueError(msg)
        return cls({name: Policy(name, value) for name, value in days.items()})

    def governing(self, *data_classes: str) -> Policy:
        """The policy that decides an item matched by several classes: the longest retention."""
        matched = [self.policies[name] for name in data_classes if name in self.policies]
        if not matched:
            msg = f"No retention policy for {', '.join(data_classes)}."
            raise KeyError(msg)
        return max(matched, key=lambda policy: policy.days)
