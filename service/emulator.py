"""A Twilio stand-in that places a call against a running service (`hotline simulate-call`).

It does what Twilio does, independently of the service's code: signs each webhook (HMAC-SHA1 over the exact
URL and the sorted parameters, base64, in `X-Twilio-Signature`), serves the recording media behind HTTP basic
auth (404 until the recording is "ready"), and follows the TwiML it gets back: Record, Play, Pause, Redirect,
Dial, Hangup. A silent chunk produces no `action` request, as with Twilio; a document that runs out of verbs
ends the call, as with Twilio, and is reported as a dropped call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import threading
import time
import uuid
import wave
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

TWILIO_TIMEOUT_S = 15.0
MAX_DOCUMENTS = 500


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(token, url + key1 + value1 + key2 + value2 ...))."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def clip_to_seconds(audio: bytes, seconds: float) -> bytes:
    """The first `seconds` of a WAV file, as a WAV file."""
    with wave.open(io.BytesIO(audio)) as reader:
        params = reader.getparams()
        frames = reader.readframes(int(params.framerate * seconds))
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setparams(params)
        writer.writeframes(frames)
    return out.getvalue()


def wav_seconds(audio: bytes) -> float:
    """Duration of a WAV file."""
    with wave.open(io.BytesIO(audio)) as reader:
        return float(reader.getnframes()) / float(reader.getframerate())


class MediaServer:
    """Recording media as Twilio serves it: basic auth, 404 until ready, DELETE removes it."""

    def __init__(self, account_sid: str, auth_token: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.account_sid = account_sid
        self.expected_auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.recordings: dict[str, tuple[bytes, float]] = {}
        self.fetches: dict[str, int] = {}
        self.deleted: set[str] = set()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def _sid(self) -> str | None:
                if self.headers.get("Authorization") != server.expected_auth:
                    self.send_response(401)
                    self.end_headers()
                    return None
                name = self.path.rsplit("/", 1)[-1]
                return name.split(".", 1)[0]

            def do_GET(self) -> None:
                sid = self._sid()
                if sid is None:
                    return
                with server.lock:
                    server.fetches[sid] = server.fetches.get(sid, 0) + 1
                    audio, ready_at = server.recordings.get(sid, (b"", float("inf")))
                if not audio or time.monotonic() < ready_at or sid in server.deleted:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/x-wav")
                self.send_header("Content-Length", str(len(audio)))
                self.end_headers()
                self.wfile.write(audio)

            def do_DELETE(self) -> None:
                sid = self._sid()
                if sid is None:
                    return
                with server.lock:
                    known = sid in server.recordings and sid not in server.deleted
                    server.deleted.add(sid)
                self.send_response(204 if known else 404)
                self.end_headers()

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """Where the media is served."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def host_port(self) -> str:
        """`host:port`, for HOTLINE_TWILIO_MEDIA_HOSTS."""
        return self.base_url.removeprefix("http://")

    def add(self, audio: bytes, ready_after_s: float) -> tuple[str, str]:
        """Publish a recording; returns its RecordingSid and RecordingUrl."""
        sid = "RE" + uuid.uuid4().hex
        with self.lock:
            self.recordings[sid] = (audio, time.monotonic() + ready_after_s)
        return sid, f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"

    def __enter__(self) -> MediaServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class CallScript:
    """What the emulated caller does."""

    audio: list[bytes]
    chunks: int = 3
    silent_chunks: frozenset[int] = frozenset()
    hangup_after: int | None = None
    press_zero_at: int | None = None
    media_ready_after_s: float = 0.0
    pause_scale: float = 1.0
    # Real time is 1.0: the caller takes as long to say a chunk as the audio lasts (0 posts at once).
    speak_scale: float = 0.0
    start_delay_s: float = 0.0
    caller: str = "+15550100001"
    called: str = "+15550100999"


@dataclass
class CallReport:
    """What happened, from the caller's side."""

    call_sid: str
    chunks_recorded: int = 0
    silent_chunks: int = 0
    replies_played: int = 0
    dialed: bool = False
    hung_up_by_service: bool = False
    hung_up_mid_chunk: bool = False
    dropped: bool = False
    failed_webhooks: list[str] = field(default_factory=list)
    recording_webhook_s: list[float] = field(default_factory=list)
    turn_s: list[float] = field(default_factory=list)
    recording_sids: list[str] = field(default_factory=list)
    call_id: str | None = None

    @property
    def ok(self) -> bool:
        """No failed webhook and no dropped call."""
        return not self.failed_webhooks and not self.dropped


class CallEmulator:
    """Places one call and follows the service's TwiML."""

    def __init__(
        self,
        public_url: str,
        account_sid: str,
        auth_token: str,
        media: MediaServer,
        *,
        targets: list[str] | None = None,
        say: Callable[[str], None] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.media = media
        # Where requests really go: a list of instances behind one public URL (a load balancer's view).
        self.targets = itertools.cycle([t.rstrip("/") for t in (targets or [self.public_url])])
        self.say = say or (lambda _line: None)
        self.client = client or httpx.Client(timeout=TWILIO_TIMEOUT_S)
        self.script = CallScript(audio=[])
        self.chunk_no = 0
        self._turn_started: float | None = None

    def _post(self, url: str, params: dict[str, str], report: CallReport, what: str) -> ET.Element | None:
        """POST a signed webhook as Twilio does; None (and a failure noted) unless the answer is TwiML."""
        headers = {"X-Twilio-Signature": twilio_signature(self.auth_token, url, params)}
        target = next(self.targets) + url.removeprefix(self.public_url) if url.startswith(self.public_url) else url
        try:
            response = self.client.post(target, data=params, headers=headers)
        except httpx.HTTPError as exc:
            report.failed_webhooks.append(f"{what}: {type(exc).__name__}")
            return None
        if response.status_code == 204:
            return None
        if response.status_code != 200:
            report.failed_webhooks.append(f"{what}: HTTP {response.status_code}")
            return None
        try:
            root = ET.fromstring(response.text)  # noqa: S314 - TwiML from the service under test
        except ET.ParseError:
            report.failed_webhooks.append(f"{what}: not TwiML")
            return None
        return root

    def _base_params(self, call_sid: str, status: str = "in-progress") -> dict[str, str]:
        return {
            "AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "CallSid": call_sid,
            "CallStatus": status, "Direction": "inbound",
            "From": self.script.caller, "Caller": self.script.caller, "To": self.script.called,
            "Called": self.script.called, "FromCity": "SPRINGFIELD", "FromState": "IL", "FromZip": "62701",
            "FromCountry": "US", "CallerCountry": "US",
        }  # fmt: skip

    def run(self, script: CallScript) -> CallReport:
        """Place the call and follow it to its end."""
        self.script = script
        self.chunk_no = 0
        call_sid = "CA" + uuid.uuid4().hex
        report = CallReport(call_sid)
        time.sleep(script.start_delay_s)
        started = time.monotonic()
        self.say("Incoming call...")
        voice_url = f"{self.public_url}/twilio/voice/"
        document = self._post(voice_url, self._base_params(call_sid, "ringing"), report, "voice")
        for _ in range(MAX_DOCUMENTS):
            if document is None:
                break
            document = self._follow(document, call_sid, report)
        duration = str(int(time.monotonic() - started))
        status = {**self._base_params(call_sid, "completed"), "CallDuration": duration}
        self._post(f"{self.public_url}/twilio/status/", status, report, "status")
        return report

    def _follow(self, document: ET.Element, call_sid: str, report: CallReport) -> ET.Element | None:  # noqa: PLR0911 - one exit per verb
        """Execute one TwiML document; the next document, or None when the call is over."""
        for verb in document:
            if verb.tag == "Record":
                self.chunk_no += 1
                if self.chunk_no > self.script.chunks:
                    self.say("The caller hangs up.")
                    return None
                next_document, outcome = self._record(verb, self.chunk_no, call_sid, report)
                if outcome == "hangup":
                    return None
                if outcome == "action":
                    return next_document
            elif verb.tag == "Play":
                self._play((verb.text or "").strip(), report)
            elif verb.tag == "Pause":
                time.sleep(float(verb.get("length", "1")) * self.script.pause_scale)
            elif verb.tag == "Redirect":
                return self._post((verb.text or "").strip(), self._base_params(call_sid), report, "redirect")
            elif verb.tag == "Dial":
                self.say("Dialing the escalation number (a human counselor)...")
                report.dialed = True
                return None
            elif verb.tag == "Hangup":
                report.hung_up_by_service = True
                return None
        report.dropped = True
        self.say("The TwiML ran out of verbs: Twilio would hang up on the caller here.")
        return None

    def _record(
        self, verb: ET.Element, chunk_no: int, call_sid: str, report: CallReport
    ) -> tuple[ET.Element | None, str]:
        """One `<Record>`: silence (no action), a full chunk, a chunk ended by 0, or a hang-up mid-chunk."""
        script = self.script
        self.say(f"Recording Chunk {chunk_no}...")
        if chunk_no in script.silent_chunks:
            report.silent_chunks += 1
            self.say(f"Recording Chunk {chunk_no}... silent (no recording; Twilio moves to the next verb)")
            return None, "silent"
        audio = script.audio[(chunk_no - 1) % len(script.audio)]
        max_length = float(verb.get("maxLength", "3600"))
        digits = ""
        if script.hangup_after == chunk_no:
            audio, digits = clip_to_seconds(audio, min(3.0, wav_seconds(audio) / 2)), "hangup"
        elif script.press_zero_at == chunk_no:
            digits = "0"
        audio = clip_to_seconds(audio, min(max_length, wav_seconds(audio)))
        time.sleep(wav_seconds(audio) * script.speak_scale)
        sid, url = self.media.add(audio, script.media_ready_after_s)
        report.recording_sids.append(sid)
        params = {
            **self._base_params(call_sid, "completed" if digits == "hangup" else "in-progress"),
            "RecordingUrl": url, "RecordingSid": sid, "RecordingDuration": str(round(wav_seconds(audio))),
            "Digits": digits,
        }  # fmt: skip
        began = time.monotonic()
        document = self._post(verb.get("action", ""), params, report, f"recording {chunk_no}")
        report.recording_webhook_s.append(time.monotonic() - began)
        report.chunks_recorded += 1
        if verb.get("recordingStatusCallback"):
            status = {
                **params,
                "RecordingStatus": "completed",
                "RecordingChannels": "1",
                "RecordingSource": "RecordVerb",
            }
            self._post(verb.get("recordingStatusCallback", ""), status, report, "recording status")
        if digits == "hangup":
            report.hung_up_mid_chunk = True
            self.say(f"Recording Chunk {chunk_no}... caller hung up mid-chunk")
            return None, "hangup"
        self.say(f"Recording Chunk {chunk_no}... Complete")
        # Follow redirects until something is played or recording resumes: that is the turn.
        self._turn_started = began
        return document, "action"

    def _play(self, url: str, report: CallReport) -> None:
        began = self._turn_started
        try:
            response = self.client.get(url)
        except httpx.HTTPError as exc:
            report.failed_webhooks.append(f"play: {type(exc).__name__}")
            return
        if response.status_code != 200 or not response.content:
            report.failed_webhooks.append(f"play: HTTP {response.status_code}")
            return
        if began is not None:
            report.turn_s.append(time.monotonic() - began)
            self._turn_started = None
        report.replies_played += 1
        self.say("Playing AI response...")


def load_audio(paths: list[Path]) -> list[bytes]:
    """Read WAV files for the caller to 'say'."""
    return [path.read_bytes() for path in paths]


def summary_line(report: CallReport) -> str:
    """The seed's closing line."""
    answered = report.replies_played
    spoken = report.chunks_recorded
    tail = (
        "all processed"
        if spoken and answered >= spoken - (1 if report.hung_up_by_service else 0)
        else (f"{answered} replies played")
    )
    extra = []
    if report.silent_chunks:
        extra.append(f"{report.silent_chunks} silent")
    if report.dialed:
        extra.append("escalated to a human")
    if report.dropped:
        extra.append("CALL DROPPED")
    if report.failed_webhooks:
        extra.append(f"{len(report.failed_webhooks)} failed webhooks")
    more = f" ({', '.join(extra)})" if extra else ""
    return f"Call Summary: {spoken} chunks, {tail}{more}"
