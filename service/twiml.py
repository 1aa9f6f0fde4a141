"""The TwiML documents of the call loop, built with the twilio package's `VoiceResponse`.

Every document that records ends with a `<Redirect>` back into the loop: when the caller stays silent,
Twilio does not request `action` and moves on to the next verb, and with none the call would end.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from service.settings import Settings

MAX_CHUNK_S = 30


class Twiml:
    """Builds the loop's TwiML with absolute URLs under `HOTLINE_PUBLIC_URL`."""

    def __init__(self, settings: Settings) -> None:
        self.base = settings.public_url
        self.record_timeout_s = settings.record_timeout_s
        self.escalation_number = settings.escalation_number

    def _record(self, response: VoiceResponse, call_id: str) -> VoiceResponse:
        response.record(
            action=f"{self.base}/twilio/recording/{call_id}/",
            method="POST",
            max_length=MAX_CHUNK_S,
            play_beep=False,
            trim="trim-silence",
            timeout=self.record_timeout_s,
            # 0 ends the chunk early; with an escalation number it asks for a human.
            finish_on_key="0",
            recording_status_callback=f"{self.base}/twilio/recording-status/{call_id}/",
            recording_status_callback_method="POST",
            recording_status_callback_event="completed absent",
        )
        response.redirect(f"{self.base}/twilio/listen/{call_id}/", method="POST")
        return response

    def listen(self, call_id: str) -> str:
        """Record the next chunk, and come back if the caller was silent."""
        return str(self._record(VoiceResponse(), call_id))

    def play_then_listen(self, call_id: str, reply_url: str) -> str:
        """Play the AI's reply, then record again."""
        response = VoiceResponse()
        response.play(reply_url)
        return str(self._record(response, call_id))

    def wait(self, call_id: str, chunk_id: str, *, pause_s: int) -> str:
        """Keep the caller on the line while the reply is prepared, then ask again."""
        response = VoiceResponse()
        if pause_s:
            response.pause(length=pause_s)
        response.redirect(f"{self.base}/twilio/wait/{call_id}/{chunk_id}/", method="POST")
        return str(response)

    def escalate(self, call_id: str) -> str:
        """Connect the caller to a human; if nobody answers, the loop goes on."""
        response = VoiceResponse()
        assert self.escalation_number is not None
        response.dial(self.escalation_number, timeout=30)
        return str(self._record(response, call_id))

    @staticmethod
    def hangup() -> str:
        """End of the call (the caller has gone)."""
        response = VoiceResponse()
        response.hangup()
        return str(response)
