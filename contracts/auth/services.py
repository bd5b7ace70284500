"""Passwords, login sessions and user administration. Services flush, never commit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from contracts.audit import services as audit
from contracts.auth import passwords, throttle
from contracts.auth.models import Role, User, UserSession
from contracts.auth.signals import password_changed
from contracts.db import Session, utcnow

MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH
# Checked against when the e-mail is unknown, so both paths cost one scrypt run.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class UserError(ValueError):
    """A user operation that cannot be done; the message is shown to the user."""


# Stored for people created by an import: no password matches it, so they cannot log in
# until an administrator gives them one.
NO_PASSWORD = "!"  # noqa: S105 - a marker that no hash equals, not a password


def hash_password(password: str) -> str:
    """Hash a password with scrypt."""
    return generate_password_hash(password, method="scrypt")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return Session.scalar(select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None."""
    user = find_user_by_email(email)
    if user is None or user.password_hash == NO_PASSWORD:
        check_password_hash(_DUMMY_HASH, password)  # the same time as a real check
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, ip: str | None, user_agent: str | None) -> str:
    """Create a server-side login session and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    Session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            ip=ip,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    user.last_login_at = utcnow()
    user.session_token = token
    Session.flush()
    return token


# last_seen_at is written at most this often: enough for a 30-minute idle timeout without
# an UPDATE on every request.
TOUCH_EVERY = timedelta(seconds=60)


def load_session(token: str) -> User | None:
    """The active user behind a session token, or None when the session has ended.

    A session that has been idle too long or has reached its maximum age is deleted here
    (g.session_expired tells the login page why); a live one gets its last_seen_at moved on
    (g.session_touched asks the request to commit that before the view runs).
    """
    row = Session.execute(
        select(UserSession, User)
        .join(User, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _token_hash(token), User.is_active.is_(True))
    ).first()
    if row is None:
        return None
    user_session, user = row
    now = utcnow()
    config = current_app.config
    idle = timedelta(minutes=float(config["SESSION_IDLE_MINUTES"]))
    max_age = timedelta(hours=float(config["SESSION_MAX_HOURS"]))
    if now - user_session.last_seen_at > idle or now - user_session.created_at > max_age:
        Session.delete(user_session)
        g.session_expired = True
        g.session_touched = True
        return None
    if now - user_session.last_seen_at > TOUCH_EVERY:
        user_session.last_seen_at = now
        g.session_touched = True
    user.session_token = token
    return user


def end_all_sessions(user: User, *, keep_token: str | None = None) -> None:
    """End every login of the user on the server, except the one with keep_token."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_token:
        query = query.where(UserSession.token_hash != _token_hash(keep_token))
    Session.execute(query)


def _check_unique_email(email: str, user_id: int | None = None) -> None:
    query = select(func.count()).select_from(User).where(User.email == email)
    if user_id is not None:
        query = query.where(User.id != user_id)
    if Session.scalar(query):
        raise UserError("email_taken")


def _check_password(password: str, email: str | None, name: str | None) -> None:
    try:
        passwords.check_password(password, email=email, name=name)
    except passwords.PasswordProblem as problem:
        raise UserError(f"password_{problem}") from None


def change_own_password(user: User, current: str, new: str) -> bool:
    """Set a new password after checking the current one; False when that was wrong.

    Every other login of the user ends (a stolen session does not survive the change);
    the one in use goes on.
    """
    if not check_password_hash(user.password_hash, current):
        return False
    _check_password(new, user.email, user.name)
    before = audit.snapshot(user)
    user.password_hash = hash_password(new)
    end_all_sessions(user, keep_token=user.session_token)
    audit.record_update(user, before, action="password_change", summary=user.email)
    password_changed.send(user, by_admin=False)
    return True


def create_user(
    *,
    email: str,
    name: str,
    role: Role,
    password: str | None,
    unit_id: int | None = None,
    is_active: bool = True,
) -> User:
    """Create a user with a hashed password (None: cannot log in yet), audited."""
    email = normalise_email(email)
    _check_unique_email(email)
    if password is not None:
        _check_password(password, email, name)
    user = User(
        email=email,
        name=name.strip(),
        role=Role(role),
        unit_id=unit_id,
        password_hash=NO_PASSWORD if password is None else hash_password(password),
        is_active=is_active,
    )
    Session.add(user)
    audit.record_create(user, summary=f"{user.email} ({user.role.value})")
    return user


def update_user(
    user: User,
    *,
    email: str,
    name: str,
    role: Role,
    unit_id: int | None,
    is_active: bool,
    password: str | None = None,
) -> User:
    """Change a user's details; deactivation or a new password ends their sessions."""
    before = audit.snapshot(user)
    email = normalise_email(email)
    _check_unique_email(email, user.id)
    user.email = email
    user.name = name.strip()
    user.role = Role(role)
    user.unit_id = unit_id
    user.is_active = is_active
    if password:
        _check_password(password, email, name)
        user.password_hash = hash_password(password)
    if not is_active or password:
        end_all_sessions(user)
    if password:
        throttle.forget_account(email)
        password_changed.send(user, by_admin=True)
    # The hash itself is never audited; the action says that it changed.
    audit.record_update(
        user,
        before,
        action="password_change" if password else "update",
        summary=user.email if password else None,
    )
    return user


def active_users() -> list[User]:
    return list(Session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.name)))
