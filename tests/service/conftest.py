"""A real service over real HTTP (uvicorn on loopback), with the Twilio emulator as the other side."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from litestar import Litestar

from service.app import create_app
from service.call_loop import CallLoop
from service.emulator import CallEmulator, CallReport, CallScript, MediaServer, twilio_signature
from service.responders import Responder
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import DATA, make_settings

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "synthetic-test-token"
CALLER_AUDIO = [(DATA / "caller_en_1.wav").read_bytes(), (DATA / "caller_full_30s.wav").read_bytes()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RunningService:
    """One app instance served by uvicorn in a thread, at a port chosen before its public URL is set."""

    def __init__(self, app: Litestar, port: int) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test service did not start")
            time.sleep(0.02)

    @property
    def loop(self) -> CallLoop:
        loop: CallLoop = self.app.state.loop
        return loop

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class Harness:
    """A media server, a settings factory and a way to start service instances."""

    media: MediaServer
    tmp_path: Path
    database_url: str
    keyring_path: Path
    started: list[RunningService]

    def settings(self, public_url: str = "http://127.0.0.1:1", **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_media_hosts": f"api.twilio.com,{self.media.host_port}",
            "public_url": public_url,
            "simulated_delay_s": 0.05,
            "spool_dir": self.tmp_path / "spool",
            "spool_retry_s": 3600,
            "media_fetch_budget_s": 2.0,
            **overrides,
        }
        return make_settings(self.tmp_path, self.database_url, self.keyring_path, **values)

    def start(
        self, responder_impl: Responder | None = None, *, public_url: str | None = None, **overrides: Any
    ) -> RunningService:
        """Start an instance; its public URL is its own address unless a load balancer's is given."""
        port = free_port()
        settings = self.settings(public_url=public_url or f"http://127.0.0.1:{port}", **overrides)
        running = RunningService(create_app(runtime=build_runtime(settings), responder=responder_impl), port)
        self.started.append(running)
        return running

    def emulator(self, service: RunningService, **kwargs: Any) -> CallEmulator:
        return CallEmulator(service.url, ACCOUNT_SID, AUTH_TOKEN, self.media, **kwargs)

    def call(self, service: RunningService, **script: Any) -> CallReport:
        values: dict[str, Any] = {"audio": CALLER_AUDIO, "chunks": 2, "pause_scale": 0.0, **script}
        return self.emulator(service).run(CallScript(**values))


def signed_post(url: str, params: dict[str, str], token: str = AUTH_TOKEN, **kwargs: Any) -> httpx.Response:
    """POST as Twilio would, signing with the emulator's own implementation of Twilio's scheme."""
    return httpx.post(url, data=params, headers={"X-Twilio-Signature": twilio_signature(token, url, params)}, **kwargs)


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
