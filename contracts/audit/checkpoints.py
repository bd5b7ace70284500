"""Signed checkpoints of the audit chain: {seq, head_hash, count, created_at} signed with an
Ed25519 key kept outside the database, written as JSON files auditors can fetch.

Someone who can write to the database can rewrite the whole chain with fresh hashes; they
cannot sign for the key in AUDIT_SIGNING_KEY. `audit verify --checkpoints DIR` proves
each checkpoint lies on the chain, so a rewrite or a cut tail before the newest checkpoint
is caught.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from contracts.audit.models import GENESIS_HASH, AuditEvent
from contracts.audit.services import canonical_json
from contracts.audit.verify import Result, verify_chain

ALGORITHM = "Ed25519"
FILE_NAME = re.compile(r"^checkpoint-(\d+)\.json$")


class CheckpointError(Exception):
    """No key, an unreadable key, a bad checkpoint file or a broken chain: the message says."""


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement: the chain had `count` events ending in `head_hash` at `seq`."""

    seq: int
    head_hash: str
    count: int
    created_at: str
    signature: str  # base64
    public_key: str  # base64 of the raw 32 bytes
    path: Path | None = None

    @property
    def created_at_time(self) -> datetime:
        return datetime.fromisoformat(self.created_at.replace("Z", "+00:00"))

    def statement(self) -> dict[str, Any]:
        """What is signed."""
        return {
            "seq": self.seq,
            "head_hash": self.head_hash,
            "count": self.count,
            "created_at": self.created_at,
        }

    def as_json(self) -> str:
        body = {
            "checkpoint": self.statement(),
            "algorithm": ALGORITHM,
            "signature": self.signature,
            "public_key": self.public_key,
            "signed_text": canonical_json(self.statement()),
        }
        return json.dumps(body, indent=2, sort_keys=True) + "\n"


# --- keys ---------------------------------------------------------------------------------


def public_key_text(key: Ed25519PublicKey) -> str:
    """The raw public key in base64 (44 characters), as printed by keygen."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def fingerprint(public_key: str) -> str:
    """A short SHA-256 fingerprint of a base64 public key, to compare by eye."""
    return "SHA256:" + hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:32]


def keygen(path: Path) -> str:
    """Write a new Ed25519 private key as PEM (mode 0600, never overwriting); return the
    public key in base64."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: an existing key is never replaced (its checkpoints would no longer verify).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return public_key_text(key.public_key())


def load_signing_key(path_text: str | None = None) -> Ed25519PrivateKey:
    """The private key from AUDIT_SIGNING_KEY (a PEM file), or CheckpointError saying why not."""
    path_text = path_text if path_text is not None else current_app.config["AUDIT_SIGNING_KEY"]
    if not path_text:
        raise CheckpointError(
            "No signing key: set AUDIT_SIGNING_KEY to the path of an Ed25519 key "
            "(make one with `flask --app wsgi audit keygen /etc/kontraktsregister/audit-key.pem`)"
        )
    path = Path(path_text)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"Cannot read the signing key {path}: {error.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"The signing key {path} is not a PEM private key") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"The signing key {path} is not an Ed25519 key")
    return key


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key from base64 (as keygen prints it) or from a PEM file's path."""
    text = text.strip()
    try:
        if Path(text).is_file():
            key = serialization.load_pem_public_key(Path(text).read_bytes())
            if not isinstance(key, Ed25519PublicKey):
                raise CheckpointError(f"{text} is not an Ed25519 public key")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"Not an Ed25519 public key: {text[:60]}") from error


def trusted_public_key(option: str | None = None) -> str | None:
    """The key checkpoints must be signed with: the --public-key given, else
    AUDIT_PUBLIC_KEY, else the public half of AUDIT_SIGNING_KEY; None if there is none."""
    if option:
        return public_key_text(parse_public_key(option))
    if configured := current_app.config.get("AUDIT_PUBLIC_KEY"):
        return public_key_text(parse_public_key(configured))
    if current_app.config.get("AUDIT_SIGNING_KEY"):
        try:
            return public_key_text(load_signing_key().public_key())
        except CheckpointError:
            return None
    return None


# --- writing and reading checkpoints ----------------------------------------------------


def checkpoint_dir() -> Path:
    return Path(current_app.config["AUDIT_CHECKPOINT_DIR"])


def sign(key: Ed25519PrivateKey, seq: int, head_hash: str, created_at: datetime) -> Checkpoint:
    """A checkpoint for the chain's head, signed."""
    stamp = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    statement = {"seq": seq, "head_hash": head_hash, "count": seq, "created_at": stamp}
    signature = key.sign(canonical_json(statement).encode())
    return Checkpoint(
        seq=seq,
        head_hash=head_hash,
        count=seq,
        created_at=stamp,
        signature=base64.b64encode(signature).decode(),
        public_key=public_key_text(key.public_key()),
    )


def read_checkpoint(path: Path) -> Checkpoint:
    """One checkpoint file, its signature checked against the key inside it (the caller
    decides whether that key is the trusted one)."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        statement = body["checkpoint"]
        checkpoint = Checkpoint(
            seq=int(statement["seq"]),
            head_hash=str(statement["head_hash"]),
            count=int(statement["count"]),
            created_at=str(statement["created_at"]),
            signature=str(body["signature"]),
            public_key=str(body["public_key"]),
            path=path,
        )
        checkpoint.created_at_time  # noqa: B018 - a readable time, or ValueError
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoint.public_key))
        key.verify(
            base64.b64decode(checkpoint.signature),
            canonical_json(checkpoint.statement()).encode(),
        )
    except InvalidSignature:
        raise CheckpointError(f"{path.name}: the signature does not match its content") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path.name}: not a readable checkpoint ({error})") from None
    return checkpoint


def read_checkpoints(directory: Path, public_key: str | None) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint-<seq>.json in a directory, oldest first, each signature checked; with
    `public_key`, each must be signed by it. Returns (checkpoints, warnings)."""
    if not directory.is_dir():
        raise CheckpointError(f"No checkpoint directory {directory}")
    paths = sorted(
        (p for p in directory.iterdir() if FILE_NAME.match(p.name)),
        key=lambda p: int(FILE_NAME.match(p.name).group(1)),
    )
    found = [read_checkpoint(path) for path in paths]
    warnings = []
    for checkpoint in found:
        if public_key and checkpoint.public_key != public_key:
            name = checkpoint.path.name if checkpoint.path else checkpoint.seq
            raise CheckpointError(
                f"{name}: signed by another key ({fingerprint(checkpoint.public_key)}, "
                f"expected {fingerprint(public_key)})"
            )
        if checkpoint.path and checkpoint.path.name != f"checkpoint-{checkpoint.seq}.json":
            raise CheckpointError(f"{checkpoint.path.name}: names another seq than it signs")
    if not public_key:
        keys = {checkpoint.public_key for checkpoint in found}
        if len(keys) > 1:
            raise CheckpointError("The checkpoints are signed by different keys")
        if keys:
            warnings.append(
                "No trusted public key given (--public-key or AUDIT_PUBLIC_KEY): the signatures "
                f"were checked against the key in the files, {fingerprint(keys.pop())}; "
                "compare it with the key printed by `audit keygen`"
            )
    return found, warnings


def list_checkpoints(directory: Path | None = None) -> list[Checkpoint]:
    """The checkpoints in AUDIT_CHECKPOINT_DIR, newest first, unreadable files left out
    (verification reports them)."""
    directory = directory or checkpoint_dir()
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        if FILE_NAME.match(path.name):
            try:
                found.append(read_checkpoint(path))
            except CheckpointError:
                continue
    return sorted(found, key=lambda cp: cp.seq, reverse=True)


def verify_with_checkpoints(
    session: OrmSession, directory: Path | None, public_key: str | None
) -> Result:
    """verify_chain() against every checkpoint in the directory (none: the chain alone)."""
    if directory is None:
        return verify_chain(session)
    try:
        found, warnings = read_checkpoints(directory, public_key)
    except CheckpointError as error:
        result = Result(False, 0, GENESIS_HASH, None, "bad_checkpoint", str(error))
        return result
    result = verify_chain(session, found)
    result.warnings.extend(warnings)
    return result


def make_checkpoint(session: OrmSession, now: datetime) -> tuple[Checkpoint, Path, bool]:
    """Sign the chain's head and write checkpoint-<seq>.json; returns (checkpoint, path,
    written). The chain since the newest valid checkpoint is verified first, so a broken
    chain is never signed; an existing checkpoint of the same seq is kept, not replaced."""
    key = load_signing_key()
    public_key = public_key_text(key.public_key())
    directory = checkpoint_dir()
    directory.mkdir(parents=True, exist_ok=True)
    previous, _warnings = read_checkpoints(directory, public_key)
    start = None
    if previous:
        latest = previous[-1]
        at_latest = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == latest.seq))
        if at_latest == latest.head_hash:
            start = (latest.seq, latest.head_hash)
    result = verify_chain(session, previous if start is None else [], start=start)
    if not result.ok:
        raise CheckpointError(
            f"Not signed: the chain is broken at seq {result.first_bad_seq}: {result.message}"
        )
    checkpoint = sign(key, result.count, result.head, now)
    path = directory / f"checkpoint-{checkpoint.seq}.json"
    if path.exists():
        return read_checkpoint(path), path, False
    tmp = path.with_suffix(".tmp")
    tmp.write_text(checkpoint.as_json(), encoding="utf-8")
    tmp.replace(path)
    return checkpoint, path, True
