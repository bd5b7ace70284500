"""Evidence files attached to activities, kept under instance/attachments/.

A file is stored under a random key, never under the name the user gave it: the name is
only shown and sent back in Content-Disposition. Only a few office formats are accepted,
and where it is cheap their first bytes must match what the extension promises, so an
HTML page or an executable cannot be passed off as a PDF.
"""

from __future__ import annotations

import io
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import lazy_gettext as _l

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MAX_NAME_LENGTH = 255

PDF = b"%PDF-"
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
ZIP = b"PK\x03\x04"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Outlook .msg is an OLE compound file


class AttachmentRefused(ValueError):
    """The file is not accepted; str() is a message for the user."""


def _zip_members(data: bytes) -> set[str] | None:
    """The member names of a zip archive (its directory only: nothing is unpacked)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return None


def _is_ooxml(data: bytes) -> bool:
    members = _zip_members(data) if data.startswith(ZIP) else None
    return members is not None and "[Content_Types].xml" in members


def _odf_of(mimetype: str) -> Callable[[bytes], bool]:
    # ODF puts its media type uncompressed as the first member named "mimetype".
    def check(data: bytes) -> bool:
        members = _zip_members(data) if data.startswith(ZIP) else None
        return members is not None and "mimetype" in members and mimetype.encode() in data[:200]

    return check


def _is_text(data: bytes) -> bool:
    return b"\x00" not in data


# Extension -> (media type sent back, content check).
FORMATS: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "pdf": ("application/pdf", lambda d: d.startswith(PDF)),
    "png": ("image/png", lambda d: d.startswith(PNG)),
    "jpg": ("image/jpeg", lambda d: d.startswith(JPEG)),
    "jpeg": ("image/jpeg", lambda d: d.startswith(JPEG)),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _is_ooxml,
    ),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _is_ooxml),
    "odt": (
        "application/vnd.oasis.opendocument.text",
        _odf_of("application/vnd.oasis.opendocument.text"),
    ),
    "ods": (
        "application/vnd.oasis.opendocument.spreadsheet",
        _odf_of("application/vnd.oasis.opendocument.spreadsheet"),
    ),
    "txt": ("text/plain", _is_text),
    "eml": ("message/rfc822", _is_text),
    "msg": ("application/vnd.ms-outlook", lambda d: d.startswith(OLE)),
}
ACCEPTED = ", ".join(f".{ext}" for ext in FORMATS)


@dataclass(frozen=True)
class Stored:
    key: str
    name: str


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def folder() -> Path:
    path = Path(current_app.instance_path) / "attachments"
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean_name(filename: str) -> str:
    """The file name to show and send back: no folders, no control or quote characters."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '"<>;')
    name = name.strip().lstrip(".") or "vedlegg"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_NAME_LENGTH - len(ext) - 1] + dot + ext) if dot else name
    return name[:MAX_NAME_LENGTH]


def extension(filename: str) -> str:
    return filename.rpartition(".")[2].lower() if "." in filename else ""


def check(filename: str, stream: IO[bytes]) -> tuple[str, bytes]:
    """The clean name and the bytes of an acceptable upload; AttachmentRefused otherwise."""
    name = clean_name(filename)
    ext = extension(name)
    if ext not in FORMATS:
        raise AttachmentRefused(_l("Attach one of these file types: %(types)s.", types=ACCEPTED))
    limit = max_bytes()
    data = stream.read(limit + 1)
    if not data:
        raise AttachmentRefused(_l("The file is empty."))
    if len(data) > limit:
        raise AttachmentRefused(
            _l("The file is larger than %(mb)d MB.", mb=max(1, limit // (1024 * 1024)))
        )
    if not FORMATS[ext][1](data):
        raise AttachmentRefused(
            _l("The file's content does not match its type (.%(ext)s).", ext=ext)
        )
    return name, data


def store(filename: str, stream: IO[bytes]) -> Stored:
    """Check and save an upload under a new random key."""
    name, data = check(filename, stream)
    key = secrets.token_hex(16)
    (folder() / key).write_bytes(data)
    return Stored(key=key, name=name)


def path_of(key: str | None) -> Path | None:
    """The stored file of a key, if the key is well-formed and the file is there."""
    if not key or not KEY_PATTERN.match(key):
        return None
    path = folder() / key
    return path if path.is_file() else None


def media_type(name: str) -> str:
    return FORMATS.get(extension(name), ("application/octet-stream", None))[0]
