"""Import jobs: a spreadsheet import that runs in the background and reports its result."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.auth.models import User
from contracts.db import Base, UTCDateTime, str_enum, utcnow


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # the accepted rows were imported, all in one transaction
    REFUSED = "refused"  # all or nothing was asked and rows were rejected: nothing imported
    FAILED = "failed"  # stopped by an error: nothing imported


FINISHED = (JobStatus.DONE, JobStatus.REFUSED, JobStatus.FAILED)


class ImportJob(Base):
    """One import of an uploaded file, with what the user chose and what came of it.

    The counts and the status DONE are committed in the same transaction as the imported
    contracts, so a job that says done has imported exactly what it says.
    """

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    ip: Mapped[str | None] = mapped_column(String(45))  # of the request that started it
    upload_token: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    sheet: Mapped[str | None] = mapped_column(String(100))
    header_row: Mapped[int] = mapped_column(Integer)  # 0-based, among the rows read
    # Column position (as text, JSON keys) -> field, as the user confirmed it.
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    create_missing: Mapped[bool] = mapped_column(Boolean, default=False)
    update_existing: Mapped[bool] = mapped_column(Boolean, default=False)
    all_or_nothing: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[JobStatus] = mapped_column(
        str_enum(JobStatus, "import_job_status"), default=JobStatus.QUEUED
    )
    rows: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[int | None] = mapped_column(Integer)
    updated: Mapped[int | None] = mapped_column(Integer)
    unchanged: Mapped[int | None] = mapped_column(Integer)
    rejected: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def source(self) -> str:
        """How the audit trail names this import."""
        return f"import #{self.id} {self.filename}"

    def __str__(self) -> str:
        return self.source
