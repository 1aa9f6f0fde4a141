"""The default responder: after a delay, the sample reply audio; fails at a configurable rate for drills."""

from __future__ import annotations

import asyncio
import random
from importlib import resources

from service.responders.base import CallContext, Reply, ResponderError


def sample_reply() -> bytes:
    """The bundled sample reply (8 kHz mono 16-bit WAV)."""
    return resources.files("service").joinpath("data/sample_response.wav").read_bytes()


class SimulatedResponder:
    """Stands in for the AI so the whole loop runs on one machine with no account anywhere."""

    name = "simulated"

    def __init__(self, *, delay_s: float, failure_rate: float, rng: random.Random) -> None:
        self.delay_s = delay_s
        self.failure_rate = failure_rate
        self.rng = rng
        self.audio = sample_reply()

    async def respond(self, audio: bytes, context: CallContext) -> Reply:
        """Wait, then answer with the sample (or fail, as a drill)."""
        await asyncio.sleep(self.delay_s)
        if self.rng.random() < self.failure_rate:
            raise ResponderError("simulated", "Simulated responder failure (HOTLINE_SIMULATED_FAILURE_RATE).")
        return Reply(self.audio, transcript=None, reply_text="(sample reply)", language="en-IN")

    async def aclose(self) -> None:
        """Nothing to release."""
