"""The Litestar application factory: wires the call loop, the API, health and metrics from one runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from litestar import Litestar, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Response
from litestar.template.config import TemplateConfig

from service.api.auth import bearer_auth
from service.api.routes import ApiController
from service.call_loop import CallLoop
from service.console.routes import ConsoleController
from service.db import check_connection
from service.errors import StorageError
from service.media import TwilioMedia
from service.metrics import Metrics
from service.responders import Responder, make_responder
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.spool import SpooledStore
from service.webhooks import TwilioController

log = logging.getLogger(__name__)
SHUTDOWN_DRAIN_S = 20.0


def readiness(runtime: Runtime, loop: CallLoop) -> tuple[bool, dict[str, Any]]:
    """Database reachable, store writable, and how much waits in the spool."""
    checks: dict[str, Any] = {}
    try:
        check_connection(runtime.engine)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported, not raised
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        loop.store.check()
        checks["store"] = "ok"
    except StorageError as exc:
        checks["store"] = f"unavailable: {type(exc).__name__}"
    checks["spooled"] = loop.store.spooled_count()
    ready = checks["database"] == "ok" and checks["store"] == "ok"
    return ready, checks


@get("/healthz")
async def healthz(state: State) -> Response[dict[str, Any]]:
    """Liveness and readiness: the database answers, the store can be written; the spool size."""
    ready, checks = await anyio.to_thread.run_sync(readiness, state.runtime, state.loop)
    return Response({"status": "ok" if ready else "degraded", **checks}, status_code=200 if ready else 503)


@get("/metrics", media_type="text/plain; version=0.0.4")
async def metrics(state: State) -> bytes:
    """Prometheus metrics."""
    loop: CallLoop = state.loop
    registry: Metrics = state.metrics
    registry.calls_active.set(await anyio.to_thread.run_sync(loop.active_calls))
    registry.spooled.set(await anyio.to_thread.run_sync(loop.store.spooled_count))
    return registry.render()


def create_app(
    settings: Settings | None = None, runtime: Runtime | None = None, responder: Responder | None = None
) -> Litestar:
    """Build the app from settings (or an already wired runtime and responder, as tests do)."""
    settings = settings or (runtime.settings if runtime else Settings())
    runtime = runtime or build_runtime(settings)
    responder = responder or make_responder(settings)
    if not settings.twilio_enabled:
        log.warning(
            "HOTLINE_TWILIO_ACCOUNT_SID and HOTLINE_TWILIO_AUTH_TOKEN are not set: Twilio webhooks will be refused "
            "until they are."
        )
    http = httpx.AsyncClient(follow_redirects=True)
    media = (
        TwilioMedia(
            http, settings.twilio_account_sid or "", settings.twilio_auth_token.get_secret_value(), settings.media_hosts
        )
        if settings.twilio_enabled and settings.twilio_auth_token is not None
        else None
    )
    store = SpooledStore(runtime.store, settings.spool_path)
    metrics_registry = Metrics()
    loop = CallLoop(runtime, responder, media, store, metrics_registry, f"instance-{uuid.uuid4().hex[:8]}")
    wired_runtime = runtime
    wired_responder = responder

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        background = [asyncio.create_task(loop.run_sweeper()), asyncio.create_task(loop.run_poller())]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await loop.drain_tasks(SHUTDOWN_DRAIN_S)
            await http.aclose()
            await wired_responder.aclose()
            wired_runtime.close()

    secure = settings.public_url.startswith("https://")
    machine_routes = ["^/twilio", "^/api", "^/healthz", "^/metrics", "^/schema"]
    sessions = CookieBackendConfig(
        secret=runtime.keyring.subkey(b"hotline-recorder console session v1"), key="hotline_console",
        max_age=settings.console_session_s, httponly=True, secure=secure, samesite="strict", exclude=machine_routes,
    )  # fmt: skip
    return Litestar(
        route_handlers=[healthz, metrics, TwilioController, ApiController, ConsoleController],
        state=State({"runtime": runtime, "loop": loop, "metrics": metrics_registry, "settings": settings}),
        middleware=[sessions.middleware, bearer_auth()],
        # Every console form carries a CSRF token; Twilio's webhooks and the bearer-token API do not use cookies.
        csrf_config=CSRFConfig(
            secret=runtime.keyring.subkey(b"hotline-recorder console csrf v1").hex(),
            cookie_secure=secure,
            cookie_samesite="strict",
            cookie_httponly=True,
            exclude=machine_routes,
        ),
        template_config=TemplateConfig(
            directory=Path(__file__).parent / "console" / "templates", engine=JinjaTemplateEngine
        ),
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="hotline-recorder", version="0.1.0", path="/schema"),
        # Logging is configured once by the entry point (service/logs.py), not by the framework.
        logging_config=None,
    )
