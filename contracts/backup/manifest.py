"""The manifest beside each backup file: what a restore checks before and after.

`<backup>.json` holds the file's SHA-256 and size (damage, a mixed-up file), the engine
and migration revision, when it was made, the audit chain's head (seq and hash) and the
row count of every table. A changed file is refused; the manifest itself is not signed:
the audit chain and its signed checkpoints, kept elsewhere, are the tamper evidence.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
SUFFIX = ".json"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for the command line."""


@dataclass
class Facts:
    """What a database holds, read in one consistent snapshot."""

    revision: str | None
    audit_seq: int
    audit_head: str | None
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class Manifest:
    """A backup file's description; `file` is its name in the same directory."""

    file: str
    sha256: str
    size: int
    engine: str
    revision: str | None
    created_at: str
    audit_seq: int
    audit_head: str | None
    rows: dict[str, int]
    format: int = FORMAT
    app: str = "kontraktsregister"

    @classmethod
    def describe(cls, path: Path, engine: str, facts: Facts, created_at: str) -> Manifest:
        """The manifest of a finished backup file."""
        return cls(
            file=path.name,
            sha256=sha256_of(path),
            size=path.stat().st_size,
            engine=engine,
            revision=facts.revision,
            created_at=created_at,
            audit_seq=facts.audit_seq,
            audit_head=facts.audit_head,
            rows=dict(sorted(facts.rows.items())),
        )

    def facts(self) -> Facts:
        return Facts(self.revision, self.audit_seq, self.audit_head, dict(self.rows))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + SUFFIX)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(backup: Path, manifest: Manifest) -> Path:
    """Write `<backup>.json` atomically (a reader never sees half of it)."""
    path = manifest_path(backup)
    partial = path.with_name(path.name + ".partial")
    create_private(partial)
    with partial.open("w", encoding="utf-8") as stream:
        stream.write(json.dumps(manifest.as_dict(), indent=2, sort_keys=True) + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    partial.replace(path)
    return path


def read_manifest(backup: Path) -> Manifest:
    """The manifest beside a backup file; BackupError when it is missing or unreadable."""
    path = manifest_path(backup)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"{path} is missing: without its manifest a backup cannot be checked"
        ) from None
    except (OSError, ValueError) as error:
        raise BackupError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{path} is not a backup manifest of format {FORMAT}")
    try:
        manifest = Manifest(**data)
    except TypeError as error:
        raise BackupError(f"{path} is not a complete backup manifest: {error}") from None
    if manifest.file != backup.name:
        raise BackupError(f"{path} describes {manifest.file}, not {backup.name}")
    return manifest


def check_file(backup: Path, manifest: Manifest) -> None:
    """Refuse a backup file whose size or SHA-256 differs from its manifest."""
    if backup.stat().st_size != manifest.size or sha256_of(backup) != manifest.sha256:
        raise BackupError(
            f"{backup} does not match its manifest (SHA-256 or size): the file was changed "
            "or damaged; it is not restored"
        )


def create_private(path: Path) -> None:
    """Create a new empty file only its owner can read (a backup holds personal data and
    password hashes); refuse to overwrite one."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def fsync_path(path: Path) -> None:
    """Flush a finished file, or a directory's new entries, to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
