"""Thresholds as dated data: admins add and remove values; contracts are judged by them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.db import Session
from contracts.parties.models import CategoryKind
from contracts.rules.models import RegulationPart, Threshold, ThresholdKind
from contracts.rules.services import regulation_part
from tests import factories


def _count(model) -> int:
    return Session.scalar(select(func.count()).select_from(model))


def test_admin_adds_a_threshold_value_that_later_contracts_are_judged_by(login_as):
    admin = login_as("admin")
    before = regulation_part(Decimal("1350000"), date(2026, 8, 1), CategoryKind.SERVICES)[0]
    assert before == RegulationPart.PARTS_I_II
    events = _count(AuditEvent)

    response = admin.post(
        "/admin/thresholds",
        data={
            "kind": "national",
            "value": "1 400 000",
            "valid_from": "01.07.2026",
            "source": "regjeringen.no, ny forskrift",
        },
    )

    assert response.status_code == 302
    assert _count(AuditEvent) == events + 1
    after = regulation_part(Decimal("1350000"), date(2026, 8, 1), CategoryKind.SERVICES)
    assert after[0] == RegulationPart.PART_I
    assert after[1][ThresholdKind.NATIONAL] == Decimal("1400000")
    # A contract signed before the new value keeps the old one.
    earlier = regulation_part(Decimal("1350000"), date(2026, 6, 30), CategoryKind.SERVICES)
    assert earlier[0] == RegulationPart.PARTS_I_II


def test_bad_threshold_input_is_refused_and_nothing_saved(login_as):
    admin = login_as("admin")
    count = _count(Threshold)
    cases = [
        {"kind": "national", "value": "-1", "valid_from": "2026-07-01", "source": "x"},
        {"kind": "national", "value": "mange", "valid_from": "2026-07-01", "source": "x"},
        {"kind": "galactic", "value": "1", "valid_from": "2026-07-01", "source": "x"},
        {"kind": "national", "value": "1", "valid_from": "31.02.2026", "source": "x"},
        {"kind": "national", "value": "1", "valid_from": "2026-07-01", "source": ""},
        # 2024-03-14 already has a national value (seeded by the migration).
        {"kind": "national", "value": "1", "valid_from": "2024-03-14", "source": "x"},
    ]
    for data in cases:
        response = admin.post("/admin/thresholds", data=data)
        assert response.status_code == 422, data
        assert 'id="' in response.text and "-error" in response.text
    assert _count(Threshold) == count


def test_admin_deletes_a_value_entered_by_mistake(login_as):
    admin = login_as("admin")
    threshold = Session.scalar(
        select(Threshold).where(
            Threshold.kind == ThresholdKind.NATIONAL, Threshold.valid_from == date(2024, 3, 14)
        )
    )
    response = admin.post(f"/admin/thresholds/{threshold.id}/delete")
    assert response.status_code == 302
    assert Session.get(Threshold, threshold.id) is None
    # The value from 2022 applies again.
    part, used = regulation_part(Decimal("1250000"), date(2025, 1, 1), CategoryKind.SERVICES)
    assert used[ThresholdKind.NATIONAL] == Decimal("1300000")
    assert part == RegulationPart.PART_I


def test_procurement_and_auditors_read_thresholds_but_cannot_change_them(login_as):
    for role in ("procurement", "auditor"):
        client = login_as(role)
        page = client.get("/admin/thresholds")
        assert page.status_code == 200
        assert "2 300 000" in page.text.replace("\u00a0", " ")
        assert 'name="valid_from"' not in page.text
        response = client.post(
            "/admin/thresholds",
            data={"kind": "national", "value": "1", "valid_from": "2030-01-01", "source": "x"},
        )
        assert response.status_code == 403


def test_contract_page_names_the_regulation_part(login_as):
    contract = factories.make_contract(
        estimated_value=Decimal("2500000"),
        signed_on=date(2024, 6, 1),
        start_date=date(2024, 7, 1),
    )
    page = login_as("owner").get(f"/contracts/{contract.id}")
    assert page.status_code == 200
    # Services of 2.5 MNOK signed in 2024 are above the EEA threshold (2 300 000).
    assert "Del I og III" in page.text
