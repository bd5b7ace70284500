"""The gains report: sums against hand-computed figures, grouping, visibility, drill-down,
CSV/XLSX, the start-page tile, the JSON API, the chart, constant queries and the demo data."""

from __future__ import annotations

import csv
import io
import re
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from contracts.auth import services as auth_services
from contracts.auth.models import Role
from contracts.db import Session
from contracts.register import services as register_services
from contracts.register.models import Contract
from followup.gains import reports
from followup.gains.models import (
    ECONOMIC_TYPES,
    EntrySource,
    EntryStatus,
    GainEntry,
    GainMethod,
    GainPlan,
    GainType,
    PeriodKind,
)
from followup.gains.report_chart import bar_chart
from followup.gains.reports import Figures, GroupRow, ReportFilter
from tests import factories
from tests.conftest import TODAY
from tests.test_api import check_documented, openapi

D = Decimal
YEAR = TODAY.year  # 2026


# --- data ------------------------------------------------------------------------------


def make_plan(contract: Contract, **values: Any) -> GainPlan:
    fields = {
        "gain_type": GainType.AVOIDED_COST,
        "description": "Unngått leie av lokaler",
        "method": GainMethod.PRO_RATA,
        "target_per_year": D("120000.00"),
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 12, 31),
        "entry_period": PeriodKind.MONTH,
        **values,
    }
    plan = GainPlan(contract_id=contract.id, **fields)
    Session.add(plan)
    Session.flush()
    return plan


def make_entry(
    plan: GainPlan,
    start: date,
    value: str | None = None,
    *,
    confirmed: bool = False,
    quantity: str | None = None,
    unit: str | None = None,
    end: date | None = None,
) -> GainEntry:
    from contracts.db import utcnow

    entry = GainEntry(
        plan_id=plan.id,
        period_kind=PeriodKind.MONTH,
        period_start=start,
        period_end=end or start.replace(day=28),
        value=D(value) if value is not None else None,
        quantity=D(quantity) if quantity is not None else None,
        unit=unit,
        status=EntryStatus.CONFIRMED if confirmed else EntryStatus.ESTIMATED,
        source=EntrySource.MANUAL,
        confirmed_at=utcnow() if confirmed else None,
    )
    Session.add(entry)
    Session.flush()
    return entry


def report_for(user, **filters: Any) -> reports.Report:
    return reports.gains_report(user, ReportFilter(year=filters.pop("year", YEAR), **filters))


def by_key(report: reports.Report) -> dict[Any, Figures]:
    return {row.key: row.figures for row in report.groups}


@pytest.fixture
def office():
    return factories.make_user(Role.PROCUREMENT)


@pytest.fixture
def world():
    """Two units and two categories; contracts A (unit 1, cat 1) and B (unit 2, cat 2)."""
    units = [factories.make_unit(), factories.make_unit()]
    categories = [factories.make_category(), factories.make_category()]
    a = factories.make_contract(unit_id=units[0].id, category_id=categories[0].id)
    b = factories.make_contract(unit_id=units[1].id, category_id=categories[1].id)
    return {"units": units, "categories": categories, "a": a, "b": b}


# --- the sums, by hand -----------------------------------------------------------------


def test_a_plan_covering_half_the_year_counts_half_its_target(office, world):
    # 1 July 2026 to 30 June 2027: 184 of 2026's 365 days, 181 of 2027's.
    make_plan(
        world["a"],
        target_per_year=D("365000"),
        period_start=date(2026, 7, 1),
        period_end=date(2027, 6, 30),
    )
    unit_id = world["units"][0].id
    assert by_key(report_for(office))[unit_id].target == D("184000.00")
    assert by_key(report_for(office, year=2027))[unit_id].target == D("181000.00")
    assert report_for(office, year=2028).groups == []
    assert report_for(office, year=2025).groups == []


def test_leap_years_count_their_days(office, world):
    # 2028 has 366 days: 1 March to 31 December is 306 of them.
    make_plan(
        world["a"],
        target_per_year=D("366000"),
        period_start=date(2028, 3, 1),
        period_end=date(2028, 12, 31),
    )
    assert report_for(office, year=2028).total.target == D("306000.00")


def test_entries_count_in_the_year_their_period_starts(office, world):
    plan = make_plan(world["a"], period_start=date(2025, 1, 1), period_end=date(2027, 12, 31))
    make_entry(plan, date(2025, 12, 1), "1000.00", confirmed=True, end=date(2025, 12, 31))
    make_entry(plan, date(2026, 1, 1), "2000.00", end=date(2026, 1, 31))
    make_entry(plan, date(2026, 2, 1), "3000.50", confirmed=True)
    make_entry(plan, date(2026, 12, 1), "400.00", end=date(2026, 12, 31))
    make_entry(plan, date(2027, 1, 1), "500.00")
    this_year = report_for(office).total
    assert (this_year.estimated, this_year.confirmed) == (D("2400.00"), D("3000.50"))
    assert this_year.target == D("120000.00")
    last_year = report_for(office, year=2025).total
    assert (last_year.estimated, last_year.confirmed) == (D("0.00"), D("1000.00"))
    next_year = report_for(office, year=2027).total
    assert (next_year.estimated, next_year.confirmed) == (D("500.00"), D("0.00"))


def test_losses_reduce_the_sums(office, world):
    plan = make_plan(world["a"])
    make_entry(plan, date(2026, 1, 1), "10000.00")
    make_entry(plan, date(2026, 2, 1), "-2500.25")
    make_entry(plan, date(2026, 3, 1), "-700.00", confirmed=True)
    total = report_for(office).total
    assert total.estimated == D("7499.75")
    assert total.confirmed == D("-700.00")


def test_plans_without_a_target_and_entries_without_a_value(office, world):
    plan = make_plan(world["a"], target_per_year=None, method=GainMethod.MANUAL)
    make_entry(plan, date(2026, 1, 1), None, quantity="3")
    make_entry(plan, date(2026, 2, 1), "100.00")
    total = report_for(office).total
    assert (total.target, total.estimated, total.confirmed) == (D(0), D("100.00"), D(0))


def test_deleted_contracts_are_not_counted(office, world):
    plan = make_plan(world["a"])
    make_entry(plan, date(2026, 1, 1), "100.00")
    register_services.soft_delete_contract(world["a"])
    Session.flush()
    assert report_for(office).groups == []


# --- grouping and filters ---------------------------------------------------------------


@pytest.fixture
def grouped(world):
    a_price = make_plan(world["a"], gain_type=GainType.LOWER_PRICE, target_per_year=D("36500"))
    a_hours = make_plan(world["a"], gain_type=GainType.TIME_SAVED, target_per_year=D("73000"))
    b_cost = make_plan(world["b"], gain_type=GainType.AVOIDED_COST, target_per_year=D("10000"))
    b_quality = make_plan(
        world["b"],
        gain_type=GainType.ENVIRONMENT,
        method=GainMethod.MANUAL,
        unit="tonn CO2",
        target_per_year=D("12"),
        period_start=date(2026, 7, 1),
    )
    make_entry(a_price, date(2026, 1, 1), "1000.00")
    make_entry(a_hours, date(2026, 1, 1), "2000.00", confirmed=True)
    make_entry(b_cost, date(2026, 2, 1), "300.00", confirmed=True)
    make_entry(b_cost, date(2026, 3, 1), "-50.00")
    make_entry(b_quality, date(2026, 7, 1), None, quantity="2.5", confirmed=True)
    make_entry(b_quality, date(2026, 8, 1), None, quantity="1.25", unit="tonn CO2")
    return world


def test_grouped_by_unit(office, grouped):
    unit_a, unit_b = (u.id for u in grouped["units"])
    groups = by_key(report_for(office, group="unit"))
    assert groups == {
        unit_a: Figures(D("109500.00"), D("1000.00"), D("2000.00")),
        unit_b: Figures(D("10000.00"), D("-50.00"), D("300.00")),
    }
    assert report_for(office).total == Figures(D("119500.00"), D("950.00"), D("2300.00"))


def test_grouped_by_category(office, grouped):
    cat_a, cat_b = (c.id for c in grouped["categories"])
    groups = by_key(report_for(office, group="category"))
    assert groups[cat_a] == Figures(D("109500.00"), D("1000.00"), D("2000.00"))
    assert groups[cat_b] == Figures(D("10000.00"), D("-50.00"), D("300.00"))


def test_grouped_by_gain_type(office, grouped):
    report = report_for(office, group="type")
    assert [row.key for row in report.groups] == [
        GainType.LOWER_PRICE,
        GainType.AVOIDED_COST,
        GainType.TIME_SAVED,
    ]
    groups = by_key(report)
    assert groups[GainType.LOWER_PRICE] == Figures(D("36500.00"), D("1000.00"), D(0))
    assert groups[GainType.TIME_SAVED] == Figures(D("73000.00"), D(0), D("2000.00"))


def test_qualitative_gains_per_unit_of_measure(office, grouped):
    (row,) = report_for(office).qualitative
    assert (row.gain_type, row.measure) == (GainType.ENVIRONMENT, "tonn CO2")
    # Half a year of 12 tonnes: 184/365 of it.
    assert row.figures == Figures(D("6.05"), D("1.25"), D("2.50"))


def test_filters_narrow_the_report(office, grouped):
    unit_a = grouped["units"][0].id
    only_a = report_for(office, unit_id=unit_a)
    assert [row.key for row in only_a.groups] == [unit_a]
    assert only_a.qualitative == []
    by_category = report_for(office, category_id=grouped["categories"][1].id)
    assert by_category.total == Figures(D("10000.00"), D("-50.00"), D("300.00"))
    price = report_for(office, gain_type=GainType.LOWER_PRICE)
    assert price.total == Figures(D("36500.00"), D("1000.00"), D(0))
    environment = report_for(office, gain_type=GainType.ENVIRONMENT)
    assert environment.groups == [] and len(environment.qualitative) == 1


# --- who sees what -----------------------------------------------------------------------


@pytest.fixture
def secret():
    unit = factories.make_unit()
    owner = factories.make_user(Role.OWNER)
    contract = factories.make_contract(unit_id=unit.id, owner_id=owner.id, is_confidential=True)
    plan = make_plan(contract, target_per_year=D("50000"))
    make_entry(plan, date(2026, 1, 1), "777.00", confirmed=True)
    return contract, unit, owner


def test_confidential_contracts_only_for_those_who_may_see_them(secret, world):
    contract, unit, owner = secret
    plan = make_plan(world["a"], target_per_year=D("1000"))
    make_entry(plan, date(2026, 1, 1), "10.00", confirmed=True)
    outsider = factories.make_user(Role.OWNER, unit_id=factories.make_unit().id)
    assert report_for(outsider).total == Figures(D("1000.00"), D(0), D("10.00"))
    for user in (
        owner,
        factories.make_user(Role.OWNER, unit_id=unit.id),
        factories.make_user(Role.AUDITOR),
        factories.make_user(Role.PROCUREMENT),
    ):
        assert report_for(user).total == Figures(D("51000.00"), D(0), D("787.00")), user.role
    assert reports.year_totals(outsider, YEAR).confirmed == D("10.00")
    assert reports.year_totals(owner, YEAR).confirmed == D("787.00")
    assert [r.contract_id for r in reports.contract_rows(outsider, ReportFilter(YEAR))] == [
        world["a"].id
    ]


def test_confidential_contract_hidden_on_the_pages(login_as, secret):
    contract = secret[0]
    outsider = login_as("owner")
    assert contract.reference not in outsider.get("/gains/report/contracts").text
    assert outsider.get(f"/gains/report/contracts/{contract.id}").status_code == 404
    assert "777" not in outsider.get("/gains/report.csv").get_data(as_text=True)
    office = login_as("procurement")
    assert contract.reference in office.get("/gains/report/contracts").text
    assert office.get(f"/gains/report/contracts/{contract.id}").status_code == 200


# --- the pages ---------------------------------------------------------------------------


def _cells(html: str, row_marker: str) -> dict[str, str]:
    row = re.search(rf"<tr {row_marker}.*?</tr>", html, re.S)
    assert row, row_marker
    return dict(re.findall(r'data-(target|estimated|confirmed)="([^"]*)"', row.group(0)))


def test_report_page(login_as, grouped):
    response = login_as("auditor").get("/gains/report", query_string={"year": 2026})
    assert response.status_code == 200
    html = response.text
    unit_a = grouped["units"][0].id
    assert _cells(html, f'data-key="{unit_a}"') == {
        "target": "109500.00",
        "estimated": "1000.00",
        "confirmed": "2000.00",
    }
    assert _cells(html, 'id="gains-total"') == {
        "target": "119500.00",
        "estimated": "950.00",
        "confirmed": "2300.00",
    }
    assert _cells(html, 'data-type="environment" data-measure="tonn CO2"')["target"] == "6.05"
    # The chart: an image with a name and a description, three bars per group.
    assert re.search(r'<svg[^>]+role="img"[^>]+aria-labelledby="gains-chart-title', html)
    assert html.count('class="app-chart__bar"') == 3 * 2
    assert "<script" not in html.split("<main", 1)[1]
    # Drill-down links narrow the filter to the group.
    assert f'/gains/report/contracts?year=2026&amp;group=unit&amp;unit={unit_a}"' in html


def test_report_page_ignores_nonsense_filters(login_as, grouped):
    response = login_as("owner").get(
        "/gains/report", query_string={"year": "abc", "group": "x", "unit": "-1", "type": "y"}
    )
    assert response.status_code == 200
    assert '<option value="2026" selected>' in response.text
    assert '<option value="unit" selected>' in response.text
    assert f'data-key="{grouped["units"][0].id}"' in response.text


def test_report_page_without_gains(login_as):
    response = login_as("owner").get("/gains/report", query_string={"year": 2031})
    assert response.status_code == 200
    assert 'id="gains-empty"' in response.text
    assert "<svg" not in response.text


def test_drill_down_to_contracts_and_entries(login_as, grouped):
    client = login_as("procurement")
    unit_b = grouped["units"][1].id
    response = client.get("/gains/report/contracts", query_string={"unit": unit_b})
    assert response.status_code == 200
    html = response.text
    b = grouped["b"]
    assert _cells(html, f'data-contract-id="{b.id}"') == {
        "target": "10000.00",
        "estimated": "-50.00",
        "confirmed": "300.00",
    }
    assert f'data-contract-id="{grouped["a"].id}"' not in html
    assert f"/gains/report/contracts/{b.id}?year=2026" in html
    # The qualitative plan of B in its own table.
    assert re.search(rf'data-contract-id="{b.id}" data-type="environment"', html)

    entries = client.get(f"/gains/report/contracts/{b.id}", query_string={"year": 2026})
    assert entries.status_code == 200
    amounts = re.findall(r'data-status="(\w+)" data-amount="([^"]*)"', entries.text)
    assert sorted(amounts) == sorted(
        [
            ("confirmed", "300.00"),
            ("estimated", "-50.00"),
            ("confirmed", "2.50"),
            ("estimated", "1.25"),
        ]
    )
    assert client.get("/gains/report/contracts/999999").status_code == 404


def test_contract_rows_agree_with_the_groups(office, grouped):
    rows = reports.contract_rows(office, ReportFilter(YEAR))
    economic = [r for r in rows if r.measure is None]
    total = Figures()
    for row in economic:
        total.add(row.figures)
    assert total == report_for(office).total
    assert [r.reference for r in economic] == sorted(r.reference for r in economic)


# --- downloads -------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_report_csv_and_xlsx_hold_the_page_figures(login_as, grouped):
    client = login_as("procurement")
    unit_a = grouped["units"][0]
    rows = _csv(client.get("/gains/report.csv", query_string={"year": 2026}))
    assert len(rows) == 1 + 2 + 1 + 1  # header, two units, the total, one unit of measure
    lines = {row[1]: row for row in rows[1:3]}
    assert lines[unit_a.name] == ["2026", unit_a.name, "NOK", "109500,00", "1000,00", "2000,00"]
    assert lines[grouped["units"][1].name][2:] == ["NOK", "10000,00", "-50,00", "300,00"]
    assert rows[3][2:] == ["NOK", "119500,00", "950,00", "2300,00"]  # the total
    assert rows[4][2:] == ["tonn CO2", "6,05", "1,25", "2,50"]

    response = client.get("/gains/report.xlsx", query_string={"year": 2026, "group": "type"})
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    # Lower price, avoided cost, time saved, the total, then environment in tonnes.
    figures = [[D(str(v)) for v in row[3:]] for row in values[1:]]
    assert figures == [
        [D("36500"), D("1000"), D(0)],
        [D("10000"), D("-50"), D("300")],
        [D("73000"), D(0), D("2000")],
        [D("119500"), D("950"), D("2300")],
        [D("6.05"), D("1.25"), D("2.5")],
    ]
    assert values[1][0] == 2026 and values[5][2] == "tonn CO2"


def test_contracts_csv_and_xlsx(login_as, grouped):
    client = login_as("auditor")
    rows = _csv(client.get("/gains/report/contracts.csv", query_string={"year": 2026}))
    by_ref = {}
    for row in rows[1:]:
        by_ref.setdefault(row[1], []).append(row)
    b_rows = by_ref[grouped["b"].reference]
    assert [row[6:] for row in b_rows] == [
        ["NOK", "10000,00", "-50,00", "300,00"],
        ["tonn CO2", "6,05", "1,25", "2,50"],
    ]
    response = client.get(
        "/gains/report/contracts.xlsx", query_string={"unit": grouped["units"][0].id}
    )
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(values) == 2
    assert values[1][1] == grouped["a"].reference
    assert [D(str(v)) for v in values[1][7:]] == [D("109500"), D("1000"), D("2000")]


def test_downloads_are_audited_and_formula_safe(login_as, world, db):
    from contracts.audit.models import AuditEvent

    contract = factories.make_contract(title="=HYPERLINK(1)", unit_id=world["units"][0].id)
    make_plan(contract)
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    rows = _csv(login_as("procurement").get("/gains/report/contracts.csv"))
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
    assert [row[2] for row in rows[1:]] == ["'=HYPERLINK(1)"]


# --- the start page ----------------------------------------------------------------------


def test_start_page_tile(login_as, grouped, secret):
    html = login_as("owner").get("/").text
    tile = re.search(r'<li class="ds-card app-tile" id="gains-tile">.*?</li>', html, re.S)
    assert tile
    assert 'data-confirmed="2300.00"' in tile.group(0)  # the secret contract's 777 left out
    assert 'data-estimated="950.00"' in tile.group(0)
    assert "/gains/report?year=2026" in tile.group(0)
    office_html = login_as("procurement").get("/").text
    assert 'data-confirmed="3077.00"' in office_html


# --- the JSON API -------------------------------------------------------------------------


class Api:
    def __init__(self, app, role: str = "auditor"):
        self.client = app.test_client()
        self.user = factories.make_user(Role(role))
        self.headers = {"Authorization": f"Bearer {factories.make_api_token(self.user)}"}

    def get(self, **query: Any):
        response = self.client.get("/api/v1/gains/report", query_string=query, headers=self.headers)
        check_documented("GET", "/api/v1/gains/report", response)
        return response


def figures(target: str, estimated: str, confirmed: str) -> dict[str, str]:
    return {"target": target, "estimated": estimated, "confirmed": confirmed}


def test_api_gives_the_page_figures(app, login_as, grouped):
    api = Api(app)
    body = api.get(year=2026, group="unit").get_json()
    unit_a, unit_b = grouped["units"]
    assert body["year"] == 2026 and body["group"] == "unit" and body["currency"] == "NOK"
    assert body["groups"] == [
        {"key": unit_a.id, "name": unit_a.name, **figures("109500.00", "1000.00", "2000.00")},
        {"key": unit_b.id, "name": unit_b.name, **figures("10000.00", "-50.00", "300.00")},
    ]
    assert body["total"] == {"target": "119500.00", "estimated": "950.00", "confirmed": "2300.00"}
    assert body["qualitative"][0]["unit"] == "tonn CO2"
    assert body["links"]["html"].endswith("/gains/report?year=2026&group=unit")
    # The page shows the same figures for the same filters.
    page = login_as("auditor").get("/gains/report", query_string={"year": 2026}).text
    for group in body["groups"]:
        cells = _cells(page, f'data-key="{group["key"]}"')
        assert cells == {k: group[k] for k in ("target", "estimated", "confirmed")}

    by_type = api.get(group="type", unit=unit_a.id).get_json()
    assert [g["key"] for g in by_type["groups"]] == ["lower_price", "time_saved"]
    assert by_type["filters"] == {"unit": unit_a.id, "category": None, "type": None}


def test_api_sees_what_the_user_sees(app, secret):
    outsider = Api(app, "owner")
    assert outsider.get().get_json()["total"]["confirmed"] == "0.00"
    assert Api(app, "auditor").get().get_json()["total"]["confirmed"] == "777.00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"year": "1999"}, "year"),
        ({"year": "20x6"}, "year"),
        ({"year": ""}, "year"),
        ({"group": "supplier"}, "group"),
        ({"unit": "0"}, "unit"),
        ({"category": "abc"}, "category"),
        ({"type": "cheaper"}, "type"),
        ({"yaer": "2026"}, "yaer"),
    ],
)
def test_api_bad_filters_are_422(app, query, field):
    response = Api(app).get(**query)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_api_needs_a_token(client):
    response = client.get("/api/v1/gains/report")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    check_documented("GET", "/api/v1/gains/report", response)
    assert client.post("/api/v1/gains/report").status_code in (401, 405)


def test_openapi_documents_the_endpoint(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/api/v1/gains/report"]["get"]
    assert {p["name"] for p in operation["parameters"]} == set(reports.FILTER_PARAMETERS)
    assert "GainsReport" in doc["components"]["schemas"]
    assert doc == openapi(app)


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_generated_requests_are_answered_as_documented(app, grouped, mode):
    """Schemathesis, as for the rest of the API: valid and invalid filters from the document;
    no 5xx, every answer documented, every invalid one refused."""
    import schemathesis
    from schemathesis import GenerationMode

    from tests.test_api_properties import CHECKS, _run

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    user = factories.make_user(Role.OWNER)
    headers = {"Authorization": f"Bearer {factories.make_api_token(user)}"}
    _run(schema, "GET", "/api/v1/gains/report", GenerationMode(mode), headers, CHECKS)


# --- the chart ---------------------------------------------------------------------------


def test_chart_draws_losses_below_the_zero_line():
    chart = bar_chart(
        [
            GroupRow(1, "Oppvekst", Figures(D("100000"), D("40000"), D("-20000"))),
            GroupRow(2, "Helse og omsorg", Figures(D("50000"), D("0"), D("30000"))),
        ]
    )
    bars = {(g.label, b.series): b for g in chart.groups for b in g.bars}
    loss = bars[("Oppvekst", "confirmed")]
    assert loss.y == pytest.approx(chart.zero_y) and loss.height > 0
    gain = bars[("Oppvekst", "target")]
    assert gain.y + gain.height == pytest.approx(chart.zero_y)
    assert gain.height == pytest.approx(5 * loss.height)
    assert bars[("Helse og omsorg", "estimated")].height == 0
    assert chart.plot_top <= min(b.y for b in bars.values())
    assert max(b.y + b.height for b in bars.values()) <= chart.plot_bottom + 1e-6
    assert bar_chart([]) is None


# --- a constant number of queries ----------------------------------------------------------


@contextmanager
def counted(app):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = app.extensions["engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _plans(n: int, world) -> None:
    for i in range(n):
        contract = factories.make_contract(
            unit_id=world["units"][i % 2].id, category_id=world["categories"][i % 2].id
        )
        gain_type = [GainType.LOWER_PRICE, GainType.QUALITY][i % 2]
        plan = make_plan(
            contract,
            gain_type=gain_type,
            unit=None if gain_type in ECONOMIC_TYPES else "andel %",
            period_start=date(2026, 1 + i % 6, 1),
        )
        for month in (1, 2):
            make_entry(plan, date(2026, month, 1), "100.00", quantity="1", confirmed=month == 1)


@pytest.mark.parametrize("group", reports.GROUPS)
def test_the_number_of_queries_does_not_grow_with_the_plans(app, login_as, world, group):
    client = login_as("procurement")
    api = Api(app, "procurement")
    counts = []
    # A first round without plans warms up what a first request writes (the token's last
    # use), then 2 plans and 20.
    for n in (0, 2, 18):
        _plans(n, world)
        Session.commit()
        for path in ("/gains/report", "/gains/report/contracts", "/", "/api/v1/gains/report"):
            http = api.client if path.startswith("/api") else client
            headers = api.headers if path.startswith("/api") else {}
            with counted(app) as statements:
                response = http.get(path, query_string={"group": group}, headers=headers)
                assert response.status_code == 200
            counts.append((path, len(statements)))
    assert counts[4:8] == counts[8:], counts


# --- the demo data -------------------------------------------------------------------------


@pytest.fixture
def fast_hashing(monkeypatch):
    from werkzeug.security import generate_password_hash

    monkeypatch.setattr(
        auth_services,
        "hash_password",
        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"),
    )


def test_demo_seed_makes_plans_of_every_type_with_entries(runner, app, fast_hashing):
    result = runner.invoke(args=["demo", "seed", "--contracts", "80"])
    assert result.exit_code == 0, result.output
    Session.expire_all()
    plans = Session.scalars(select(GainPlan)).all()
    assert {p.gain_type for p in plans} == set(GainType)
    assert {p.method for p in plans} == set(GainMethod)
    for plan in plans:
        assert plan.baseline_value is not None and plan.baseline_source and plan.description
        assert plan.target_per_year is not None and plan.target_per_year > 0
        assert plan.period_start <= plan.period_end
        if plan.gain_type not in ECONOMIC_TYPES:
            assert plan.unit and plan.method == GainMethod.MANUAL
        if plan.method == GainMethod.PRICE_DIFFERENCE:
            assert plan.baseline_unit_price > plan.contract_unit_price
    entries = Session.scalars(select(GainEntry)).all()
    confirmed = [e for e in entries if e.status == EntryStatus.CONFIRMED]
    assert confirmed and all(e.confirmed_by_id and e.confirmed_at for e in confirmed)
    this_year = [e for e in entries if e.period_start.year == YEAR]
    assert this_year and all(e.period_end < TODAY for e in entries)
    assert any(e.status == EntryStatus.ESTIMATED for e in this_year)
    # Every entry is one of its plan's periods, once.
    assert len({(e.plan_id, e.period_start) for e in entries}) == len(entries)
    office = factories.make_user(Role.PROCUREMENT)
    report = report_for(office)
    assert report.groups and report.total.target > 0 and report.total.estimated > 0
