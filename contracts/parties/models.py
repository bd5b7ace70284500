"""Organisational units, suppliers and procurement categories."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from contracts.db import Base, Email, UTCDateTime, str_enum, utcnow


class CategoryKind(enum.StrEnum):
    """Goods/services or works: decides which EEA threshold applies."""

    GOODS = "goods"
    SERVICES = "services"
    WORKS = "works"


class Unit(Base):
    """A municipal unit (virksomhet/enhet) that owns contracts."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    contact_email: Mapped[str | None] = mapped_column(Email)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __str__(self) -> str:
        return self.name


class Supplier(Base):
    """A supplier (leverandør); Norwegian ones carry a 9-digit organisation number."""

    __tablename__ = "suppliers"
    __table_args__ = (Index("ix_suppliers_name", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str | None] = mapped_column(String(9), unique=True)
    contact_email: Mapped[str | None] = mapped_column(Email)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def org_number_display(self) -> str:
        """The organisation number as Brønnøysundregistrene prints it: 123 456 789."""
        n = self.org_number or ""
        return f"{n[:3]} {n[3:6]} {n[6:]}" if len(n) == 9 else n

    def __str__(self) -> str:
        return self.name


class Category(Base):
    """A procurement category (anskaffelseskategori), optionally with a CPV code."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    cpv_code: Mapped[str | None] = mapped_column(String(10))
    kind: Mapped[CategoryKind] = mapped_column(
        str_enum(CategoryKind, "category_kind"), default=CategoryKind.SERVICES
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __str__(self) -> str:
        return self.name
