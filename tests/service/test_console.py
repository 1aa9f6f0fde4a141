"""The staff console over real HTTP: sign-in, CSRF, sessions that expire, pages per role, audited playback."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlalchemy import func, select

from compliance.models import AuditEvent
from service.db import transaction
from service.models import ApiUser, RecordingChunk
from service.users import add_user
from tests.service.conftest import Harness, RunningService


def token_for(service: RunningService, role: str) -> str:
    with transaction(service.runtime.sessions) as session:
        existing = session.scalar(select(func.count()).select_from(ApiUser).where(ApiUser.role == role)) or 0
        return add_user(session, f"{role}-person" + (f"-{existing + 1}" if existing else ""), role, actor="admin")


def csrf(client: httpx.Client, page: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', client.get(page).text)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def sign_in(service: RunningService, role: str) -> httpx.Client:
    client = httpx.Client(base_url=service.url, follow_redirects=False)
    reply = client.post(
        "/console/login", data={"token": token_for(service, role), "_csrf_token": csrf(client, "/console/login")}
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/console/calls"
    return client


@pytest.fixture
def service(harness: Harness) -> RunningService:
    running = harness.start(console_session_s=60)
    assert harness.call(running, chunks=2).ok
    return running


def test_sign_in_sets_a_strict_httponly_session(service: RunningService) -> None:
    client = httpx.Client(base_url=service.url, follow_redirects=False)
    assert client.get("/console/calls").headers["location"] == "/console/login"
    bad = client.post("/console/login", data={"token": "hl_nope", "_csrf_token": csrf(client, "/console/login")})
    assert bad.status_code == 401 and "unknown" in bad.text
    good = client.post("/console/login", data={"token": token_for(service, "counselor"),
                                               "_csrf_token": csrf(client, "/console/login")})  # fmt: skip
    cookie = next(h for h in good.headers.get_list("set-cookie") if h.startswith("hotline_console="))
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert client.get("/console/calls").status_code == 200


def test_forms_without_csrf_token_are_refused(service: RunningService) -> None:
    client = httpx.Client(base_url=service.url, follow_redirects=False)
    client.get("/console/login")
    refused = client.post("/console/login", data={"token": token_for(service, "admin")})
    assert refused.status_code == 403
    signed = sign_in(service, "admin")
    assert signed.post("/console/logout").status_code == 403
    assert signed.get("/console/calls").status_code == 200


def test_calls_detail_and_audited_playback(service: RunningService) -> None:
    client = sign_in(service, "counselor")
    page = client.get("/console/calls")
    with service.runtime.readers() as session:
        chunk = session.scalars(select(RecordingChunk).order_by(RecordingChunk.chunk_number)).first()
    assert chunk is not None
    assert chunk.call_id in page.text
    assert "+1555" not in page.text
    detail = client.get(f"/console/calls/{chunk.call_id}")
    assert detail.status_code == 200 and 'label for="purpose-' in detail.text
    assert client.get(f"/console/chunks/{chunk.id}/play?purpose=").status_code == 400
    player = client.get(f"/console/chunks/{chunk.id}/play", params={"purpose": "supervision"})
    assert player.status_code == 200 and "<audio" in player.text
    audio = client.get(f"/console/chunks/{chunk.id}/audio", params={"purpose": "supervision", "kind": "recording"})
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    with service.runtime.readers() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "recording.playback")).one()
        assert (event.actor, event.role, event.purpose) == ("counselor-person", "counselor", "supervision")
    assert client.get("/console/calls?since=yesterday").status_code == 400
    assert client.get("/console/calls/nope").status_code == 404


@pytest.mark.parametrize(("role", "audit_status"), [("counselor", 403), ("compliance", 200), ("admin", 200)])
def test_audit_page_only_for_oversight_roles(service: RunningService, role: str, audit_status: int) -> None:
    client = sign_in(service, role)
    reply = client.get("/console/audit")
    assert reply.status_code == audit_status
    if audit_status == 200:
        assert "Audit chain intact" in reply.text


def test_analysts_have_no_console(service: RunningService) -> None:
    client = httpx.Client(base_url=service.url, follow_redirects=False)
    reply = client.post("/console/login", data={"token": token_for(service, "analyst"),
                                                "_csrf_token": csrf(client, "/console/login")})  # fmt: skip
    assert reply.status_code == 401 and "no console" in reply.text


def test_sign_out_and_expiry(harness: Harness) -> None:
    # Long enough to be used at once even on a loaded CI machine, short enough to wait out.
    running = harness.start(console_session_s=4)
    client = sign_in(running, "admin")
    signed_in_at = time.monotonic()
    assert client.get("/console/calls").status_code == 200
    time.sleep(max(0.0, 4.5 - (time.monotonic() - signed_in_at)))
    assert client.get("/console/calls").headers["location"] == "/console/login"
    other = sign_in(running, "compliance")
    other.post("/console/logout", data={"_csrf_token": csrf(other, "/console/calls")})
    assert other.get("/console/calls").headers["location"] == "/console/login"


def test_active_chunks_holds_and_csv_export(service: RunningService) -> None:
    from tests.service.conftest import signed_post

    call_sid = "CA" + "7" * 32
    params = {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "From": "+15550100001", "CallStatus": "ringing"}
    answered = signed_post(f"{service.url}/twilio/voice/", params)
    assert answered.status_code == 200
    counselor = sign_in(service, "counselor")
    active = counselor.get("/console/active")
    assert active.status_code == 200 and 'aria-live="polite"' in active.text
    with service.runtime.readers() as session:
        from service.models import Call

        live = session.scalars(select(Call).where(Call.call_sid == call_sid)).one()
    assert live.id in counselor.get("/console/active/rows").text
    assert "AI failed" in counselor.get("/console/chunks?state=failed").text
    assert counselor.get("/console/chunks?state=bogus").status_code == 400
    assert counselor.get("/console/holds").status_code == 403
    exported = counselor.get("/console/calls.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[0] == "id,call_sid,status,started_at,ended_at,duration_s,caller_country"
    assert live.id in exported.text and "5550100001" not in exported.text
    officer = sign_in(service, "compliance")
    placed = officer.post("/console/holds", data={"call": call_sid, "reason": "subpoena 9",
                                                  "_csrf_token": csrf(officer, "/console/holds")})  # fmt: skip
    assert placed.status_code == 303
    page = officer.get("/console/holds")
    assert "subpoena 9" in page.text and "placed" in officer.get(placed.headers["location"]).text
    hold_id = re.search(r'action="/console/holds/(\d+)/release"', page.text)
    assert hold_id
    released = officer.post(f"/console/holds/{hold_id.group(1)}/release",
                            data={"reason": "closed", "_csrf_token": csrf(officer, "/console/holds")})  # fmt: skip
    assert released.status_code == 303
    bad = officer.post(
        "/console/holds", data={"call": "nope", "reason": "x", "_csrf_token": csrf(officer, "/console/holds")}
    )
    assert bad.status_code == 400
    with service.runtime.readers() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert {"calls.export", "hold.place", "hold.release"} <= set(actions)
