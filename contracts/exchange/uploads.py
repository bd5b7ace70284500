"""Uploaded import files kept between the preview and the commit, per user."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from flask import current_app

MAX_AGE_SECONDS = 24 * 3600


def folder() -> Path:
    """Where uploads (and the progress of import jobs) are kept."""
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _forget_old(folder: Path) -> None:
    cutoff = time.time() - MAX_AGE_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except FileNotFoundError:  # another request cleaned it up first
            continue


def keep(data: bytes, filename: str, user_id: int) -> str:
    """Store an upload; the token names it in later requests."""
    where = folder()
    _forget_old(where)
    token = secrets.token_urlsafe(16)
    (where / f"{token}.bin").write_bytes(data)
    (where / f"{token}.json").write_text(json.dumps({"filename": filename, "user_id": user_id}))
    return token


def load(token: str, user_id: int) -> tuple[bytes, str] | None:
    """The upload behind a token, only for the user who made it."""
    if not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
        return None
    where = folder()
    meta_path, data_path = where / f"{token}.json", where / f"{token}.bin"
    if not meta_path.exists() or not data_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    if meta.get("user_id") != user_id:
        return None
    return data_path.read_bytes(), meta["filename"]


def forget(token: str) -> None:
    where = folder()
    for suffix in (".bin", ".json"):
        (where / f"{token}{suffix}").unlink(missing_ok=True)
