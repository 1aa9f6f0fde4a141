"""The management API: bearer tokens, roles on every route, audited playback with a required purpose."""

from __future__ import annotations

import random

import httpx
import pytest
from sqlalchemy import select

from compliance import audit
from compliance.models import AuditEvent
from service.db import transaction
from service.models import RecordingChunk
from service.responders.simulated import SimulatedResponder
from service.users import UserError, add_user
from tests.service.conftest import Harness, RunningService, wait_until

ROLES = ("counselor", "compliance", "analyst", "admin")


def tokens(service: RunningService) -> dict[str, str]:
    with transaction(service.runtime.sessions) as session:
        return {role: add_user(session, f"{role}-user", role, actor="test-admin") for role in ROLES}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def served(harness: Harness) -> tuple[RunningService, dict[str, str]]:
    service = harness.start()
    report = harness.call(service, chunks=2)
    assert report.ok
    return service, tokens(service)


def first_chunk(service: RunningService) -> RecordingChunk:
    with service.runtime.sessions() as session:
        return session.scalars(select(RecordingChunk).order_by(RecordingChunk.chunk_number)).first()  # type: ignore[return-value]


def test_requests_without_a_valid_token_are_401(served: tuple[RunningService, dict[str, str]]) -> None:
    service, _ = served
    assert httpx.get(f"{service.url}/api/calls/").status_code == 401
    assert httpx.get(f"{service.url}/api/calls/", headers=auth("hl_forged")).status_code == 401
    assert httpx.get(f"{service.url}/api/calls/", headers={"Authorization": "Basic eDp5"}).status_code == 401


@pytest.mark.parametrize(
    ("route", "allowed"),
    [
        ("list", {"counselor", "compliance", "admin"}),
        ("detail", {"counselor", "compliance", "admin"}),
        ("audio", {"counselor", "compliance", "admin"}),
        ("process", {"counselor", "admin"}),
    ],
)
def test_each_route_allows_only_its_roles(
    served: tuple[RunningService, dict[str, str]], route: str, allowed: set[str]
) -> None:
    service, keys = served
    chunk = first_chunk(service)
    for role, token in keys.items():
        if route == "list":
            reply = httpx.get(f"{service.url}/api/calls/", headers=auth(token))
        elif route == "detail":
            reply = httpx.get(f"{service.url}/api/calls/{chunk.call_id}/", headers=auth(token))
        elif route == "audio":
            reply = httpx.get(f"{service.url}/api/chunks/{chunk.id}/audio?purpose=review", headers=auth(token))
        else:
            reply = httpx.post(f"{service.url}/api/process-audio/", json={"chunk_id": chunk.id}, headers=auth(token))
        expected_ok = role in allowed
        assert (reply.status_code < 400) == expected_ok, (role, reply.status_code, reply.text)
        if not expected_ok:
            assert reply.status_code == 403


def test_calls_list_and_detail(served: tuple[RunningService, dict[str, str]], harness: Harness) -> None:
    service, keys = served
    harness.call(service, chunks=1)
    page = httpx.get(f"{service.url}/api/calls/?limit=1", headers=auth(keys["counselor"])).json()
    assert page["total"] == 2
    assert len(page["items"]) == 1
    item = page["items"][0]
    assert {"id", "call_sid", "status", "started_at", "ended_at"} <= set(item)
    assert "caller_city" not in item
    assert httpx.get(f"{service.url}/api/calls/?status=completed", headers=auth(keys["admin"])).json()["total"] == 2
    assert httpx.get(f"{service.url}/api/calls/?status=busy", headers=auth(keys["admin"])).json()["total"] == 0
    future = httpx.get(f"{service.url}/api/calls/?since=2999-01-01T00:00:00Z", headers=auth(keys["admin"])).json()
    assert future == {"items": [], "total": 0}
    assert httpx.get(f"{service.url}/api/calls/?since=yesterday", headers=auth(keys["admin"])).status_code == 400
    chunk = first_chunk(service)
    detail = httpx.get(f"{service.url}/api/calls/{chunk.call_id}/", headers=auth(keys["compliance"])).json()
    assert [c["chunk_number"] for c in detail["chunks"]] == [1, 2]
    first = detail["chunks"][0]
    for field in ("id", "recording_url", "storage_key", "duration", "processed", "response_audio",
                  "response_played", "recorded_at", "processed_at"):  # fmt: skip
        assert field in first
    assert first["processed"] is True
    assert httpx.get(f"{service.url}/api/calls/nope/", headers=auth(keys["admin"])).status_code == 404


def test_playback_needs_a_purpose_and_is_audited(served: tuple[RunningService, dict[str, str]]) -> None:
    service, keys = served
    chunk = first_chunk(service)
    url = f"{service.url}/api/chunks/{chunk.id}/audio"
    missing = httpx.get(url, headers=auth(keys["counselor"]))
    assert missing.status_code == 400
    assert "purpose" in missing.text
    played = httpx.get(url, params={"purpose": "supervision review"}, headers=auth(keys["counselor"]))
    assert played.status_code == 200
    assert played.headers["content-type"] == "audio/wav"
    assert played.content[:4] == b"RIFF"
    header = httpx.get(url, params={"kind": "reply"}, headers={**auth(keys["admin"]), "X-Purpose": "incident 7"})
    assert header.status_code == 200
    with service.runtime.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("%.playback"))).all()
        assert [(e.actor, e.role, e.action, e.purpose, e.object_id, e.call_id, e.outcome) for e in events] == [
            ("counselor-user", "counselor", "recording.playback", "supervision review", chunk.id, chunk.call_id,
             "success"),
            ("admin-user", "admin", "reply.playback", "incident 7", chunk.id, chunk.call_id, "success"),
        ]  # fmt: skip
        assert all(e.client_addr == "127.0.0.1" for e in events)
        verified = audit.verify(session, service.runtime.signer.verifier())
        assert verified.ok


def test_tampered_blob_playback_is_refused_and_audited(
    served: tuple[RunningService, dict[str, str]], harness: Harness
) -> None:
    service, keys = served
    chunk = first_chunk(service)
    path = harness.tmp_path / "store" / str(chunk.storage_key)
    blob = bytearray(path.read_bytes())
    blob[100] ^= 1
    path.write_bytes(bytes(blob))
    reply = httpx.get(f"{service.url}/api/chunks/{chunk.id}/audio?purpose=qa", headers=auth(keys["admin"]))
    assert reply.status_code == 409
    assert "failed authentication" in reply.text
    with service.runtime.sessions() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event is not None
        assert (event.action, event.outcome) == ("recording.playback", "failure")


def test_reprocessing_a_failed_chunk(harness: Harness) -> None:
    responder = SimulatedResponder(delay_s=0.01, failure_rate=1.0, rng=random.Random(1))
    service = harness.start(responder_impl=responder)
    assert harness.call(service, chunks=1).replies_played == 0
    keys = tokens(service)
    chunk = first_chunk(service)
    assert chunk.error_class == "simulated"
    responder.failure_rate = 0.0
    reply = httpx.post(f"{service.url}/api/process-audio/", json={"chunk_id": chunk.id}, headers=auth(keys["admin"]))
    assert reply.status_code == 202
    assert wait_until(lambda: first_chunk(service).processed)
    assert first_chunk(service).response_audio_key is not None
    missing = httpx.post(f"{service.url}/api/process-audio/", json={"chunk_id": "nope"}, headers=auth(keys["admin"]))
    assert missing.status_code == 404
    with service.runtime.sessions() as session:
        assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all() == ["user.create"] * 4 + [
            "chunk.reprocess"
        ]


def test_openapi_schema_is_served(served: tuple[RunningService, dict[str, str]]) -> None:
    service, _ = served
    schema = httpx.get(f"{service.url}/schema/openapi.json").json()
    assert "/api/calls" in schema["paths"] or "/api/calls/" in schema["paths"]


def test_users_are_unique_and_roles_checked(served: tuple[RunningService, dict[str, str]]) -> None:
    service, _ = served
    with pytest.raises(UserError, match="exists"), transaction(service.runtime.sessions) as session:
        add_user(session, "admin-user", "admin", actor="x")
    with pytest.raises(UserError, match="Unknown role"), transaction(service.runtime.sessions) as session:
        add_user(session, "eve", "root", actor="x")


def test_health_and_metrics(served: tuple[RunningService, dict[str, str]]) -> None:
    service, _ = served
    health = httpx.get(f"{service.url}/healthz").json()
    assert health == {"status": "ok", "database": "ok", "store": "ok", "spooled": 0}
    metrics = httpx.get(f"{service.url}/metrics").text
    assert "hotline_calls_active 0.0" in metrics
    assert 'hotline_chunks_stored_total{state="stored"} 2.0' in metrics
    assert 'hotline_turns_total{outcome="reply"} 2.0' in metrics
    assert 'hotline_webhook_latency_seconds_count{route="recording"} 2.0' in metrics
