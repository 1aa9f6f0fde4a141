"""API users and their bearer tokens: created by admins, shown once, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from service.db import utcnow
from service.errors import ServiceError
from service.models import ApiToken, ApiUser

ROLES = ("counselor", "compliance", "analyst", "admin")
TOKEN_PREFIX = "hl_"  # noqa: S105 - a label, not a secret


class UserError(ServiceError):
    """A user cannot be created or found as asked."""


@dataclass(frozen=True)
class Principal:
    """Who is calling the API."""

    user_id: int
    name: str
    role: str


def hash_token(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(session: Session, name: str, role: str, *, actor: str) -> str:
    """Create a user with a new token; returns the token (the only time it exists in clear)."""
    if role not in ROLES:
        msg = f"Unknown role {role!r}; choose one of {', '.join(ROLES)}."
        raise UserError(msg)
    if session.scalars(select(ApiUser).where(ApiUser.name == name)).first() is not None:
        msg = f"A user named {name!r} exists already."
        raise UserError(msg)
    user = ApiUser(name=name, role=role)
    session.add(user)
    session.flush()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:10]))
    audit.append(
        session,
        audit.AuditEntry(
            actor=actor,
            role="admin",
            action="user.create",
            object_type="api_user",
            object_id=str(user.id),
            details={"name": name, "role": role},
        ),
    )
    session.flush()
    return token


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal behind a bearer token, if the token and its user are live."""
    row = session.execute(
        select(ApiToken, ApiUser)
        .join(ApiUser, ApiUser.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    now = utcnow()
    if api_token.revoked_at or user.disabled_at or (api_token.expires_at and api_token.expires_at < now):
        return None
    return Principal(user.id, user.name, user.role)
