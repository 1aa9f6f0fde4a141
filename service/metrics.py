"""Prometheus metrics of the service, in a registry owned by the app (no process-wide globals)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The counters, gauges and histograms the call loop updates."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls_active = Gauge("hotline_calls_active", "Calls in progress", registry=self.registry)
        self.chunks_stored = Counter(
            "hotline_chunks_stored_total", "Chunks stored, by where they went", ["state"], registry=self.registry
        )
        self.turns = Counter("hotline_turns_total", "Turns, by outcome", ["outcome"], registry=self.registry)
        self.ai_failures = Counter(
            "hotline_ai_failures_total", "AI responder failures, by class", ["error_class"], registry=self.registry
        )
        self.spooled = Gauge("hotline_spooled_blobs", "Blobs waiting in the local spool", registry=self.registry)
        self.webhook_latency = Histogram(
            "hotline_webhook_latency_seconds",
            "Time to answer a Twilio webhook",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
            registry=self.registry,
        )

    @contextmanager
    def webhook(self, route: str) -> Iterator[None]:
        """Time one webhook."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.webhook_latency.labels(route=route).observe(time.perf_counter() - start)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
