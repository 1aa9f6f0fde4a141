"""The Litestar application factory."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.response import Response
from sqlalchemy import text

from service.errors import StorageError
from service.runtime import Runtime, build_runtime
from service.settings import Settings

log = logging.getLogger(__name__)


@get("/healthz", sync_to_thread=True)
def healthz(state: State) -> Response[dict[str, Any]]:
    """Liveness and readiness: the database answers and the store can be written."""
    runtime: Runtime = state.runtime
    checks: dict[str, str] = {}
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported, not raised
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        runtime.store.check()
        checks["store"] = "ok"
    except StorageError as exc:
        checks["store"] = f"unavailable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return Response({"status": "ok" if ready else "degraded", **checks}, status_code=200 if ready else 503)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Litestar:
    """Build the app from settings (or an already wired runtime, as tests do)."""
    settings = settings or (runtime.settings if runtime else Settings())
    runtime = runtime or build_runtime(settings)
    wired = runtime
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        log.warning(
            "HOTLINE_TWILIO_ACCOUNT_SID and HOTLINE_TWILIO_AUTH_TOKEN are not set: Twilio webhooks will be refused "
            "until they are."
        )

    def _close() -> None:
        wired.close()

    return Litestar(
        route_handlers=[healthz],
        state=State({"runtime": runtime}),
        on_shutdown=[_close],
    )
