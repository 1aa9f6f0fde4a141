"""Whole calls through the real app over HTTP, with the emulator playing Twilio."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
from sqlalchemy import func, select

from compliance.models import AuditEvent
from service.call_loop import recording_identity
from service.db import transaction
from service.emulator import CallEmulator, CallScript, clip_to_seconds, twilio_signature, wav_seconds
from service.models import Call, RecordingChunk
from service.runtime import Runtime
from tests.service.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER_AUDIO, Harness, signed_post, wait_until


def chunks_of(runtime: Runtime) -> list[RecordingChunk]:
    with runtime.sessions() as session:
        return list(session.scalars(select(RecordingChunk).order_by(RecordingChunk.recorded_at)))


def decrypt(runtime: Runtime, chunk: RecordingChunk) -> bytes:
    assert chunk.storage_key and chunk.data_key_id
    with transaction(runtime.sessions) as session:
        return runtime.vault.get(
            session, recording_identity(chunk), chunk.storage_key, chunk.data_key_id, chunk.plaintext_sha256
        )


def voice_params(call_sid: str) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "From": "+15550100001", "To": "+15550100999",
        "CallStatus": "ringing", "FromCity": "", "Direction": "inbound",
    }  # fmt: skip


def test_happy_path_stores_every_chunk_encrypted_and_plays_every_reply(harness: Harness, tmp_path: Path) -> None:
    service = harness.start()
    report = harness.call(service, chunks=3)
    assert report.ok, report.failed_webhooks
    assert (report.chunks_recorded, report.replies_played, report.dropped) == (3, 3, False)
    chunks = chunks_of(service.runtime)
    assert [c.chunk_number for c in chunks] == [1, 2, 3]
    sent = [clip_to_seconds(CALLER_AUDIO[i % 2], min(30, wav_seconds(CALLER_AUDIO[i % 2]))) for i in range(3)]
    for chunk, audio in zip(chunks, sent, strict=True):
        assert chunk.storage_state == "stored"
        assert chunk.processed and chunk.response_played
        assert chunk.plaintext_sha256 == hashlib.sha256(audio).hexdigest()
        assert decrypt(service.runtime, chunk) == audio
        blob = (tmp_path / "store" / str(chunk.storage_key)).read_bytes()
        assert audio[2000:2064] not in blob
    with service.runtime.sessions() as session:
        call = session.scalars(select(Call)).one()
        assert call.status == "completed"
        assert call.ended_at is not None
        assert "+15550100001" not in repr(session.execute(select(Call.__table__)).all())


def test_record_twiml_is_what_twilio_needs(harness: Harness) -> None:
    service = harness.start()
    response = signed_post(f"{service.url}/twilio/voice/", voice_params("CA" + "a" * 32))
    assert response.status_code == 200
    root = ET.fromstring(response.text)
    assert [v.tag for v in root] == ["Record", "Redirect"]
    record = root[0]
    assert record.get("playBeep") == "false"
    assert record.get("maxLength") == "30"
    assert record.get("trim") == "trim-silence"
    assert record.get("action", "").startswith(f"{service.url}/twilio/recording/")
    assert record.get("recordingStatusCallback", "").startswith(f"{service.url}/twilio/recording-status/")
    assert root.find("Say") is None and root.find("Play") is None
    again = signed_post(f"{service.url}/twilio/voice/", voice_params("CA" + "a" * 32))
    assert ET.fromstring(again.text)[0].get("action") == record.get("action")
    with service.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 1


def test_silent_caller_is_never_dropped(harness: Harness) -> None:
    service = harness.start()
    report = harness.call(service, chunks=4, silent_chunks=frozenset({2, 3}))
    assert report.ok
    assert not report.dropped
    assert (report.chunks_recorded, report.silent_chunks, report.replies_played) == (2, 2, 2)
    assert len(chunks_of(service.runtime)) == 2


def test_media_404_then_ready_is_retried(harness: Harness) -> None:
    service = harness.start()
    report = harness.call(service, chunks=1, media_ready_after_s=0.8)
    assert report.ok
    assert report.replies_played == 1
    chunk = chunks_of(service.runtime)[0]
    assert chunk.storage_state == "stored"
    assert harness.media.fetches[chunk.recording_sid] > 1


def test_media_that_never_arrives_keeps_the_chunk_pending_until_it_does(harness: Harness) -> None:
    service = harness.start(media_fetch_budget_s=0.5, spool_retry_s=0.2)
    report = harness.call(service, chunks=2, media_ready_after_s=600)
    assert report.ok
    assert not report.dropped
    assert report.replies_played == 0
    chunks = chunks_of(service.runtime)
    assert len(chunks) == 2
    assert all(c.storage_state == "pending" and c.error_class == "media_unavailable" for c in chunks)
    # Later Twilio has the media; the background sweeper stores what is still pending.
    for sid in list(harness.media.recordings):
        audio, _ready = harness.media.recordings[sid]
        harness.media.recordings[sid] = (audio, 0.0)
    assert wait_until(lambda: all(c.storage_state == "stored" for c in chunks_of(service.runtime)), 15)
    assert all(decrypt(service.runtime, c) for c in chunks_of(service.runtime))


def test_duplicate_recording_delivery_registers_one_chunk(harness: Harness) -> None:
    service = harness.start()
    call_sid = "CA" + "b" * 32
    answer = signed_post(f"{service.url}/twilio/voice/", voice_params(call_sid))
    action = ET.fromstring(answer.text)[0].get("action", "")
    sid, url = harness.media.add(CALLER_AUDIO[0], 0)
    params = {**voice_params(call_sid), "RecordingSid": sid, "RecordingUrl": url, "RecordingDuration": "10",
              "Digits": ""}  # fmt: skip
    first = signed_post(action, params)
    second = signed_post(action, params)
    assert first.status_code == second.status_code == 200
    assert ET.fromstring(first.text)[0].tag == ET.fromstring(second.text)[0].tag == "Redirect"
    assert wait_until(lambda: all(c.storage_state == "stored" for c in chunks_of(service.runtime)))
    assert len(chunks_of(service.runtime)) == 1


def test_forged_and_missing_signatures_are_refused_and_write_nothing(harness: Harness) -> None:
    service = harness.start()
    url = f"{service.url}/twilio/voice/"
    params = voice_params("CA" + "c" * 32)
    assert httpx.post(url, data=params).status_code == 403
    assert signed_post(url, params, token="not-the-token").status_code == 403
    # Signed for the URL without its trailing slash, or without the empty parameter: not what was requested.
    no_slash = httpx.post(
        url, data=params, headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url.rstrip("/"), params)}
    )
    assert no_slash.status_code == 403
    without_empty = {k: v for k, v in params.items() if v}
    forged = httpx.post(
        url, data=params, headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url, without_empty)}
    )
    assert forged.status_code == 403
    tampered = httpx.post(
        url,
        data={**params, "From": "+15550100002"},
        headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url, params)},
    )
    assert tampered.status_code == 403
    with service.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 0
    assert signed_post(url, params).status_code == 200


def test_query_string_is_part_of_the_signature(harness: Harness) -> None:
    service = harness.start()
    params = voice_params("CA" + "d" * 32)
    assert signed_post(f"{service.url}/twilio/voice/?source=pstn", params).status_code == 200
    bad = httpx.post(
        f"{service.url}/twilio/voice/?source=pstn",
        data=params,
        headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, f"{service.url}/twilio/voice/", params)},
    )
    assert bad.status_code == 403


def test_signature_is_checked_against_the_public_url(harness: Harness) -> None:
    service = harness.start(public_url="https://hotline.example.org")
    params = voice_params("CA" + "e" * 32)
    signature = twilio_signature(AUTH_TOKEN, "https://hotline.example.org/twilio/voice/", params)
    reply = httpx.post(f"{service.url}/twilio/voice/", data=params, headers={"X-Twilio-Signature": signature})
    assert reply.status_code == 200
    assert "https://hotline.example.org/twilio/recording/" in reply.text


def test_off_list_media_host_is_never_fetched(harness: Harness) -> None:
    service = harness.start(twilio_media_hosts="api.twilio.com")
    report = harness.call(service, chunks=2)
    assert report.ok
    assert not report.dropped
    assert harness.media.fetches == {}
    assert {c.storage_state for c in chunks_of(service.runtime)} == {"refused"}


def test_ai_failure_is_silent_to_the_caller_and_recorded(harness: Harness) -> None:
    service = harness.start(simulated_failure_rate=1.0)
    report = harness.call(service, chunks=3)
    assert report.ok
    assert not report.dropped and not report.dialed
    assert report.replies_played == 0
    chunks = chunks_of(service.runtime)
    assert all(c.storage_state == "stored" and c.error_class == "simulated" for c in chunks)
    metrics = httpx.get(f"{service.url}/metrics").text
    assert 'hotline_ai_failures_total{error_class="simulated"} 3.0' in metrics


def test_consecutive_ai_failures_escalate_to_a_human(harness: Harness) -> None:
    service = harness.start(simulated_failure_rate=1.0, escalation_number="+15550100777",
                            escalation_after_failures=2)  # fmt: skip
    report = harness.call(service, chunks=5)
    assert report.ok
    assert report.dialed
    assert report.chunks_recorded == 2
    with service.runtime.sessions() as session:
        assert session.scalars(select(Call)).one().escalated_at is not None


def test_pressing_zero_reaches_a_human(harness: Harness) -> None:
    service = harness.start(escalation_number="+15550100777")
    report = harness.call(service, chunks=3, press_zero_at=2)
    assert report.ok and report.dialed
    assert report.chunks_recorded == 2
    assert wait_until(lambda: all(c.storage_state == "stored" for c in chunks_of(service.runtime)))


def test_slow_ai_keeps_the_caller_in_the_loop_then_plays_the_reply(harness: Harness) -> None:
    # Budget 0.5 s per webhook, AI 2 s: Twilio is kept waiting across several short round trips.
    service = harness.start(simulated_delay_s=2.0, turn_budget_s=0.5)
    emulator = harness.emulator(service)
    report = emulator.run(CallScript(audio=CALLER_AUDIO, chunks=1, pause_scale=0.0))
    assert report.ok
    assert report.replies_played == 1
    assert report.turn_s[0] >= 2.0
    histogram = httpx.get(f"{service.url}/metrics").text
    assert 'hotline_webhook_latency_seconds_bucket{le="1.0",route="wait"}' in histogram
    # Every webhook answered within the budget plus overhead, far under Twilio's 15 s.
    count = [line for line in histogram.splitlines() if line.startswith("hotline_webhook_latency_seconds_count")]
    within = [line for line in histogram.splitlines() if 'le="2.5",route="wait"' in line]
    assert within and count
    waits = next(c for c in count if 'route="wait"' in c).split()[-1]
    assert within[0].split()[-1] == waits
    assert float(waits) >= 3  # the 2 s reply was waited for across several short webhooks


def test_ai_that_never_answers_gives_up_and_recording_resumes(harness: Harness) -> None:
    service = harness.start(simulated_delay_s=30.0, turn_budget_s=0.3, turn_give_up_s=1.0)
    report = harness.call(service, chunks=2)
    assert report.ok and not report.dropped
    assert report.replies_played == 0
    assert report.chunks_recorded == 2
    assert wait_until(lambda: all(c.error_class == "timeout" for c in chunks_of(service.runtime)), 10)


def test_hangup_mid_chunk_stores_the_partial_recording(harness: Harness) -> None:
    service = harness.start()
    report = harness.call(service, chunks=3, hangup_after=2)
    assert report.ok
    assert report.chunks_recorded == 2
    assert wait_until(
        lambda: (
            len(chunks_of(service.runtime)) == 2
            and all(c.storage_state == "stored" for c in chunks_of(service.runtime))
        )
    )
    partial = chunks_of(service.runtime)[1]
    assert wav_seconds(decrypt(service.runtime, partial)) < 5


def test_store_outage_spools_and_recovers(harness: Harness, tmp_path: Path) -> None:
    store_root = tmp_path / "store"
    store_root.parent.mkdir(parents=True, exist_ok=True)
    store_root.write_text("the disk is not where it should be")
    service = harness.start(spool_retry_s=0.2)
    report = harness.call(service, chunks=2)
    assert report.ok and report.replies_played == 2
    chunks = chunks_of(service.runtime)
    assert {c.storage_state for c in chunks} == {"spooled"}
    health = httpx.get(f"{service.url}/healthz")
    assert health.status_code == 503
    assert health.json()["spooled"] == 4  # two recordings, two replies
    store_root.unlink()
    assert wait_until(lambda: {c.storage_state for c in chunks_of(service.runtime)} == {"stored"}, 15)
    assert wait_until(lambda: httpx.get(f"{service.url}/healthz").json()["spooled"] == 0)
    for chunk in chunks_of(service.runtime):
        assert (store_root / str(chunk.storage_key)).exists()
        assert decrypt(service.runtime, chunk)


def test_turn_completes_across_two_instances(harness: Harness) -> None:
    balancer = "http://hotline.lb.invalid"
    first = harness.start(public_url=balancer, simulated_delay_s=0.5)
    second = harness.start(public_url=balancer, simulated_delay_s=0.5)
    emulator = CallEmulator(balancer, ACCOUNT_SID, AUTH_TOKEN, harness.media, targets=[first.url, second.url])
    # Replies are fetched at the balancer's URL; map it to an instance as the balancer would.
    emulator.client = httpx.Client(timeout=15, transport=_Balancer(balancer, [first.url, second.url]))
    report = emulator.run(CallScript(audio=CALLER_AUDIO, chunks=3, pause_scale=0.0))
    assert report.ok, report.failed_webhooks
    assert report.replies_played == 3
    assert all(c.processed and c.storage_state == "stored" for c in chunks_of(first.runtime))


class _Balancer(httpx.BaseTransport):
    """Sends requests for the public URL to the instances in turn."""

    def __init__(self, public: str, targets: list[str]) -> None:
        self.public = public
        self.targets = targets
        self.n = 0
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url.startswith(self.public):
            self.n += 1
            url = self.targets[self.n % len(self.targets)] + url.removeprefix(self.public)
            request = httpx.Request(request.method, url, headers=request.headers, content=request.content)
        return self.inner.handle_request(request)


def test_verified_copy_is_deleted_from_twilio_when_asked(harness: Harness) -> None:
    service = harness.start(delete_from_twilio=True)
    report = harness.call(service, chunks=2)
    assert report.ok
    assert wait_until(lambda: set(report.recording_sids) <= harness.media.deleted)
    assert all(c.twilio_deleted_at is not None for c in chunks_of(service.runtime))


def test_reply_urls_are_signed_and_expire(harness: Harness) -> None:
    service = harness.start()
    report = harness.call(service, chunks=1)
    assert report.replies_played == 1
    chunk = chunks_of(service.runtime)[0]
    good = service.loop.reply_urls.url(chunk.id)
    assert httpx.get(good).status_code == 200
    assert httpx.get(good.replace("sig=", "sig=0")).status_code == 403
    expired = service.loop.reply_urls.url(chunk.id, now=1_000_000)
    assert httpx.get(expired).status_code == 403
    other = service.loop.reply_urls.url("not-a-chunk")
    assert httpx.get(other).status_code == 404


def test_webhooks_refused_until_credentials_are_set(harness: Harness) -> None:
    service = harness.start(twilio_auth_token=None)
    reply = signed_post(f"{service.url}/twilio/voice/", voice_params("CA" + "f" * 32))
    assert reply.status_code == 403
    assert "not configured" in reply.text


def test_no_audit_event_for_twilio_traffic(harness: Harness) -> None:
    service = harness.start()
    harness.call(service, chunks=1)
    with service.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
