"""Configuration from the environment, with per-app overrides (tests pass a mapping)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept under instance/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the app configuration: defaults, then environment, then overrides."""
    path = Path(instance_path)
    path.mkdir(parents=True, exist_ok=True)
    overrides = dict(overrides or {})
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    config: dict[str, Any] = {
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{path / 'register.db'}"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Served over HTTPS (production): the cookie is Secure and gets the __Host- prefix
        # (set below), so no subdomain or plain-HTTP page can set or read it.
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", base_url.startswith("https:")),
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        # A login ends after this long without a request, and after this long in any case
        # (ASVS 7.3: idle and absolute timeouts; NIST 800-63B AAL2 values).
        "SESSION_IDLE_MINUTES": float(os.environ.get("SESSION_IDLE_MINUTES", 30)),
        "SESSION_MAX_HOURS": float(os.environ.get("SESSION_MAX_HOURS", 12)),
        # Failed logins allowed per account and per IP address within the window.
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", 10)),
        "LOGIN_FAILURE_WINDOW_MINUTES": float(os.environ.get("LOGIN_FAILURE_WINDOW_MINUTES", 15)),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 20 * 1024 * 1024)),
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "nb",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Oslo",
        "LANGUAGES": ("nb", "en"),
        "PAGE_SIZE": 50,
        "APP_TIMEZONE": "Europe/Oslo",
        # OCDS publication: the ocid prefix registered with the Open Contracting
        # Partnership, who publishes, and whether /public/ocds/releases.json is on.
        "OCDS_OCID_PREFIX": os.environ.get("OCDS_OCID_PREFIX", "ocds-demo00"),
        "OCDS_PUBLISHER_NAME": os.environ.get("OCDS_PUBLISHER_NAME", "Demo kommune"),
        "OCDS_BUYER_NAME": os.environ.get("OCDS_BUYER_NAME", "Demo kommune"),
        "OCDS_BUYER_ORG_NUMBER": os.environ.get("OCDS_BUYER_ORG_NUMBER", ""),
        "OCDS_PUBLIC": _env_bool("OCDS_PUBLIC", False),
        # Imports run in a thread of the web process so the page can show progress; off,
        # they run inside the request (the tests, which share one connection).
        "IMPORT_IN_BACKGROUND": _env_bool("IMPORT_IN_BACKGROUND", True),
        # Mail. Without MAIL_SERVER nothing is sent: messages wait in the outbox, readable
        # by administrators at /admin/outbox.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", 25)),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS", False),  # STARTTLS
        "MAIL_USE_SSL": _env_bool("MAIL_USE_SSL", False),  # SMTP over TLS (port 465)
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "kontraktsregister@demo.kommune.no"),
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", 20)),
        # Attempts before a message that keeps failing for a passing reason (server down,
        # 4xx) is marked dead; retries wait 1, 2, 4 … minutes (at most 6 hours) in between.
        "MAIL_MAX_ATTEMPTS": int(os.environ.get("MAIL_MAX_ATTEMPTS", 12)),
        # Where links in e-mails and calendar feeds point.
        "BASE_URL": base_url,
        # The procurement office's shared address, for escalations.
        "PROCUREMENT_EMAIL": os.environ.get("PROCUREMENT_EMAIL", "innkjop@demo.kommune.no"),
        # Lead times replacing the defaults of some reminder kinds, as JSON, for example
        # {"expiry": [270, 180, 90, 30]} (see jobs/settings.py).
        "REMINDER_LEAD_DAYS": os.environ.get("REMINDER_LEAD_DAYS", ""),
        # Red flags: a supplier holding more than this share of a category's value in force.
        "RED_FLAG_SUPPLIER_SHARE": float(os.environ.get("RED_FLAG_SUPPLIER_SHARE", 0.5)),
        # The audit trail's signed checkpoints: the Ed25519 private key (a PEM file kept
        # outside the database and its backups; empty: no checkpoints, the job says so),
        # where the checkpoint files go, and the public key auditors trust (base64).
        "AUDIT_SIGNING_KEY": os.environ.get("AUDIT_SIGNING_KEY", ""),
        "AUDIT_CHECKPOINT_DIR": os.environ.get(
            "AUDIT_CHECKPOINT_DIR", str(path / "audit-checkpoints")
        ),
        "AUDIT_PUBLIC_KEY": os.environ.get("AUDIT_PUBLIC_KEY", ""),
        # Production shape (contracts/logs.py, gunicorn.conf.py). Logs: `json` lines for a
        # collector or `text` for people (gunicorn.conf.py makes json its default), and the
        # level. Behind a reverse proxy: how many proxies in front of the app set
        # X-Forwarded-For/-Proto, so the app sees the client's address (login throttling,
        # the audit trail); 0 trusts no such header (the app is reached directly).
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text").strip().lower(),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").strip().upper(),
        "TRUSTED_PROXY_COUNT": int(os.environ.get("TRUSTED_PROXY_COUNT", 0)),
    }
    if "SECRET_KEY" not in overrides:
        config["SECRET_KEY"] = _secret_key(path)
    config.update(overrides)
    if "SESSION_COOKIE_NAME" not in config:
        # The prefix makes browsers refuse the cookie unless it is Secure, host-only, path /.
        config["SESSION_COOKIE_NAME"] = (
            "__Host-kr_session" if config["SESSION_COOKIE_SECURE"] else "kr_session"
        )
    config["DATABASE_URL"] = normalise_database_url(config["DATABASE_URL"])
    return config
