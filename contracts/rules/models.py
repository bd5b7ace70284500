"""Dated threshold values (terskelverdier) and the procurement procedures."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from contracts.db import Base, non_negative, str_enum


class ThresholdKind(enum.StrEnum):
    """The thresholds of anskaffelsesforskriften that decide which part applies."""

    MINIMUM = "minimum"  # below it the regulation does not apply (§1-3)
    NATIONAL = "national"
    EEA_GOODS_SERVICES = "eea_goods_services"
    EEA_WORKS = "eea_works"


class Procedure(enum.StrEnum):
    """Procedures of anskaffelsesforskriften; the Norwegian names live in the catalogue."""

    DIRECT_AWARD = "direct_award"
    OPEN_COMPETITION = "open_competition"  # part II åpen tilbudskonkurranse
    RESTRICTED_COMPETITION = "restricted_competition"  # part II begrenset tilbudskonkurranse
    OPEN_PROCEDURE = "open_procedure"  # part III åpen anbudskonkurranse
    RESTRICTED_PROCEDURE = "restricted_procedure"  # part III begrenset anbudskonkurranse
    NEGOTIATED_WITH_NOTICE = "negotiated_with_notice"
    NEGOTIATED_WITHOUT_NOTICE = "negotiated_without_notice"
    COMPETITIVE_DIALOGUE = "competitive_dialogue"
    INNOVATION_PARTNERSHIP = "innovation_partnership"
    SOCIAL_SERVICES = "social_services"  # part III chapter 7, helse- og sosialtjenester
    FRAMEWORK_CALL_OFF = "framework_call_off"
    MINI_COMPETITION = "mini_competition"
    UNKNOWN = "unknown"


class RegulationPart(enum.StrEnum):
    """Which parts of the regulation a contract value falls under."""

    NOT_COVERED = "not_covered"
    PART_I = "part_i"
    PARTS_I_II = "parts_i_ii"
    PARTS_I_III = "parts_i_iii"


class Threshold(Base):
    """One threshold value valid from a date until the next value of the same kind."""

    __tablename__ = "thresholds"
    __table_args__ = (
        UniqueConstraint("kind", "valid_from", name="uq_thresholds_kind_valid_from"),
        non_negative("value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ThresholdKind] = mapped_column(str_enum(ThresholdKind, "threshold_kind"))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    valid_from: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(300))
