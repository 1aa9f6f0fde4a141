"""The console in real headless Chromium (Debian's, driven by Playwright): what a counselor and an officer do.

Screenshots of each page are kept under $HOTLINE_SCREENSHOT_DIR (default: a temporary folder, printed).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from compliance.models import AuditEvent
from service.db import transaction
from service.models import Call, RecordingChunk
from service.users import add_user
from tests.service.conftest import Harness, RunningService

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {CHROMIUM} is missing (.ci/run installs it).")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = Path(os.environ.get("HOTLINE_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="hotline-console-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"console screenshots: {folder}")
    return folder


@pytest.fixture
def screenshots(shots: Path, database_url: str) -> Path:
    folder = shots / ("postgresql" if "postgresql" in database_url else "sqlite")
    folder.mkdir(exist_ok=True)
    return folder


def token(service: RunningService, name: str, role: str) -> str:
    with transaction(service.runtime.sessions) as session:
        return add_user(session, name, role, actor="admin")


def sign_in(context, url: str, secret: str):  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(f"{url}/console/login")
    page.get_by_label("API token").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/calls")
    return page


def test_counselor_and_officer_in_chromium(harness: Harness, chromium, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    service = harness.start(simulated_delay_s=4.0)
    # The emulator places a call that stays up while the AI (slowly) answers: it is active meanwhile.
    caller = threading.Thread(target=lambda: harness.call(service, chunks=1))
    caller.start()
    deadline = time.monotonic() + 10
    live = None
    while live is None and time.monotonic() < deadline:
        with service.runtime.readers() as session:
            live = session.scalars(select(Call).where(Call.ended_at.is_(None))).first()
        time.sleep(0.05)
    assert live is not None
    counselor = chromium.new_context(viewport={"width": 390, "height": 844})  # a phone-sized screen
    page = sign_in(counselor, service.url, token(service, "casey", "counselor"))
    page.screenshot(path=screenshots / "1-calls.png", full_page=True)

    page.get_by_role("link", name="Active calls").click()
    page.wait_for_selector(f"text={live.id}")
    page.screenshot(path=screenshots / "2-active-calls.png", full_page=True)
    caller.join(timeout=30)
    with service.runtime.readers() as session:
        chunk = session.scalars(select(RecordingChunk)).one()

    page.goto(f"{service.url}/console/calls/{chunk.call_id}")
    page.screenshot(path=screenshots / "3-call-detail.png", full_page=True)
    page.get_by_label("Purpose").fill("supervision of call handling")
    with page.expect_response(lambda r: "/audio" in r.url) as audio:
        page.get_by_role("button", name="Play").click()
    assert audio.value.status == 200
    assert audio.value.headers["content-type"] == "audio/wav"
    page.screenshot(path=screenshots / "4-playback.png", full_page=True)

    refused = page.goto(f"{service.url}/console/audit")
    assert refused is not None and refused.status == 403
    page.screenshot(path=screenshots / "5-counselor-refused-audit.png", full_page=True)

    officer = chromium.new_context()
    audit_page = sign_in(officer, service.url, token(service, "olive", "compliance"))
    audit_page.get_by_role("link", name="Audit log").click()
    audit_page.wait_for_selector("text=recording.playback")
    assert "casey (counselor)" in audit_page.content()
    assert "Audit chain intact" in audit_page.content()
    audit_page.screenshot(path=screenshots / "6-audit-log.png", full_page=True)

    page.goto(f"{service.url}/console/calls")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/login")
    page.screenshot(path=screenshots / "7-signed-out.png", full_page=True)
    with service.runtime.readers() as session:
        played = session.scalars(select(AuditEvent).where(AuditEvent.action == "recording.playback")).one()
        assert (played.actor, played.purpose) == ("casey", "supervision of call handling")
    counselor.close()
    officer.close()
