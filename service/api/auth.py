"""Bearer-token authentication and role guards for the management API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from service.runtime import Runtime
from service.users import Principal, authenticate

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    """`Authorization: Bearer <token>` on every /api route."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        """The principal for the request's token, or 401."""
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException(detail="Send an API token as 'Authorization: Bearer <token>'.")
        runtime: Runtime = connection.app.state.runtime

        def lookup() -> Principal | None:
            with runtime.readers() as session:
                return authenticate(session, token.strip())

        principal = await anyio.to_thread.run_sync(lookup)
        if principal is None:
            raise NotAuthorizedException(detail="This API token is unknown, revoked or expired.")
        return AuthenticationResult(user=principal, auth=token)


def bearer_auth() -> DefineMiddleware:
    """The middleware, applied to /api only."""
    return DefineMiddleware(
        BearerTokenMiddleware, exclude=["^/twilio", "^/healthz", "^/metrics", "^/schema", "^/console"]
    )


def roles(*allowed: str) -> Guard:
    """A guard that lets only `allowed` roles through."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
        user = connection.user
        if not isinstance(user, Principal) or user.role not in allowed:
            raise PermissionDeniedException(detail=f"This needs one of the roles: {', '.join(allowed)}.")

    return guard
