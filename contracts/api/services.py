"""API tokens: create, revoke, and find the user behind a bearer token.

Services flush and audit; the view commits once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from contracts.api.models import ApiToken
from contracts.audit import services as audit
from contracts.auth.models import User
from contracts.db import Session, utcnow

TOKEN_PREFIX = "kr_"  # noqa: S105  (marks our tokens, e.g. for secret scanners)
# Characters of the token kept in clear so its owner can recognise it in the list.
SHOWN_CHARS = 10
# Longer headers are not tokens of ours; they are refused without hashing megabytes.
MAX_TOKEN_LENGTH = 200
# last_used_at is written at most this often per token, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for the user; returns the row and the token text, which is never stored."""
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip(),
        token_hash=hash_token(text),
        prefix=text[:SHOWN_CHARS],
    )
    Session.add(token)
    Session.flush()
    # Written by hand rather than record_create: the trail gets no copy of the hash.
    audit.record(
        "create",
        token,
        after={"user_id": user.id, "name": token.name, "prefix": token.prefix},
        summary=f"API token {token} for {user.email}",
    )
    return token, text


def user_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, active ones first, newest first."""
    return list(
        Session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id)
        )
    )


def revoke_token(token: ApiToken) -> None:
    """Stop a token from working; the row stays as a record of it."""
    if token.revoked_at is not None:
        return
    before = audit.snapshot(token)
    token.revoked_at = utcnow()
    audit.record_update(token, before, action="revoke", summary=f"API token {token}")


def authenticate(token_text: str) -> tuple[User, ApiToken] | None:
    """The active user and live token behind a bearer token, else None."""
    if not token_text or len(token_text) > MAX_TOKEN_LENGTH:
        return None
    row = Session.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == hash_token(token_text),
            ApiToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    ).first()
    if row is None:
        return None
    token, user = row
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
    return user, token
