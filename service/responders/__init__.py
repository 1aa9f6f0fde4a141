"""AI responders: one `Responder` interface, a simulated and a Sarvam AI implementation."""

from __future__ import annotations

import random

from service.responders.base import CallContext, Reply, Responder, ResponderError, Turn
from service.responders.sarvam import SarvamResponder
from service.responders.simulated import SimulatedResponder
from service.settings import Settings

__all__ = ["CallContext", "Reply", "Responder", "ResponderError", "Turn", "make_responder"]


def make_responder(settings: Settings) -> Responder:
    """The responder named by `HOTLINE_RESPONDER`."""
    if settings.responder == "sarvam":
        if settings.sarvam_api_key is None:
            from service.errors import ConfigurationError

            msg = "HOTLINE_RESPONDER=sarvam needs HOTLINE_SARVAM_API_KEY."
            raise ConfigurationError(msg)
        return SarvamResponder(
            settings.sarvam_base_url, settings.sarvam_api_key.get_secret_value(), timeout_s=settings.sarvam_timeout_s
        )
    return SimulatedResponder(
        delay_s=settings.simulated_delay_s,
        failure_rate=settings.simulated_failure_rate,
        rng=random.Random(),  # noqa: S311 - drills, not cryptography
    )
