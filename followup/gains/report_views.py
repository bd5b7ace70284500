"""The gains report pages: figures per group with a chart, the contracts of a group, one
contract's plans and entries, and the CSV/XLSX downloads of the first two.

Every logged-in user may read the report; it counts only the contracts the user may see
(confidential ones only for the office, auditors and those responsible for them), the same
rule as the contract list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, abort, current_app, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from contracts.audit import services as audit
from contracts.clock import today
from contracts.db import Session
from contracts.exchange import export
from contracts.exchange.columns import Kind
from contracts.pagination import page_number
from contracts.parties.services import all_categories, all_units
from contracts.register.services import get_visible_contract
from followup.gains import reports
from followup.gains.labels import ENTRY_SOURCE_LABELS, GAIN_TYPE_LABELS
from followup.gains.report_chart import SERIES_LABELS, bar_chart
from followup.gains.reports import GROUP_LABELS, ReportFilter
from followup.views import bp

# The gain plan pages of a contract, once they exist; else the contract page.
CONTRACT_GAINS_RULE = "/contracts/<int:contract_id>/gains"
CONTRACTS_PER_PAGE = 200
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filter() -> ReportFilter:
    """The report's filter from the query string; values that make no sense are ignored."""
    flt, _errors = reports.parse_filter(request.args, today())
    return flt


def contract_gains_endpoint() -> str:
    """The endpoint of a contract's gains page, or of the contract page until it exists."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == CONTRACT_GAINS_RULE and "GET" in (rule.methods or ()):
            return rule.endpoint
    return "register.contract_detail"


def _page_context(flt: ReportFilter) -> dict[str, Any]:
    return {
        "flt": flt,
        "units": all_units(),
        "categories": all_categories(),
        "years": reports.report_years(today()),
        "groups": {key: str(label) for key, label in GROUP_LABELS.items()},
        "type_labels": GAIN_TYPE_LABELS,
        "series_labels": SERIES_LABELS,
    }


@bp.get("/gains/report")
@login_required
def gains_report():
    flt = _filter()
    report = reports.gains_report(current_user, flt)
    return render_template(
        "followup/gains/report.html",
        report=report,
        chart=bar_chart(report.groups),
        **_page_context(flt),
    )


@bp.get("/gains/report/contracts")
@login_required
def gains_report_contracts():
    flt = _filter()
    rows = reports.contract_rows(current_user, flt)
    economic = [row for row in rows if row.measure is None]
    qualitative = [row for row in rows if row.measure is not None]
    page = page_number(request.args.get("page"))
    start = (page - 1) * CONTRACTS_PER_PAGE
    total = reports.Figures()
    for row in economic:
        total.add(row.figures)
    return render_template(
        "followup/gains/report_contracts.html",
        economic=economic[start : start + CONTRACTS_PER_PAGE],
        economic_count=len(economic),
        total=total,
        qualitative=qualitative,
        page=page,
        has_next=start + CONTRACTS_PER_PAGE < len(economic),
        gains_endpoint=contract_gains_endpoint(),
        **_page_context(flt),
    )


@bp.get("/gains/report/contracts/<int:contract_id>")
@login_required
def gains_report_contract(contract_id: int):
    contract = get_visible_contract(contract_id)
    if contract is None or contract.deleted_at is not None:
        abort(404)
    flt = _filter()
    plans = reports.contract_plans(contract.id, flt.year)
    return render_template(
        "followup/gains/report_contract.html",
        contract=contract,
        plans=plans,
        flt=flt,
        type_labels=GAIN_TYPE_LABELS,
        series_labels=SERIES_LABELS,
        source_labels=ENTRY_SOURCE_LABELS,
        gains_endpoint=contract_gains_endpoint(),
    )


# --- downloads -----------------------------------------------------------------------


def _report_table(flt: ReportFilter) -> tuple[list[Any], list[Kind], Iterator[list[Any]]]:
    report = reports.gains_report(current_user, flt)
    headers = [
        _l("Year"),
        GROUP_LABELS[flt.group],
        _l("Unit of measure"),
        _l("Target"),
        _l("Estimated"),
        _l("Confirmed"),
    ]
    kinds = [Kind.NUMBER, Kind.TEXT, Kind.TEXT, Kind.AMOUNT, Kind.AMOUNT, Kind.AMOUNT]

    def rows() -> Iterator[list[Any]]:
        for group in report.groups:
            yield [flt.year, group.label, "NOK", *_figures(group.figures)]
        yield [flt.year, _("Total"), "NOK", *_figures(report.total)]
        for row in report.qualitative:
            label = str(GAIN_TYPE_LABELS[row.gain_type])
            yield [flt.year, label, row.measure, *_figures(row.figures)]

    return headers, kinds, rows()


def _contracts_table(flt: ReportFilter) -> tuple[list[Any], list[Kind], Iterator[list[Any]]]:
    rows = reports.contract_rows(current_user, flt)
    headers = [
        _l("Year"),
        _l("Contract number"),
        _l("Title"),
        _l("Unit"),
        _l("Category"),
        _l("Gain type"),
        _l("Unit of measure"),
        _l("Target"),
        _l("Estimated"),
        _l("Confirmed"),
    ]
    kinds = [Kind.NUMBER, *[Kind.TEXT] * 6, Kind.AMOUNT, Kind.AMOUNT, Kind.AMOUNT]

    def lines() -> Iterator[list[Any]]:
        for row in rows:
            gain_type = str(GAIN_TYPE_LABELS[row.gain_type]) if row.gain_type else _("Economic")
            yield [
                flt.year,
                row.reference,
                row.title,
                row.unit,
                row.category,
                gain_type,
                row.measure or "NOK",
                *_figures(row.figures),
            ]

    return headers, kinds, lines()


def _figures(figures: reports.Figures) -> list[Any]:
    return [figures.target, figures.estimated, figures.confirmed]


def _download(fmt: str, name: str, sheet: str, table) -> Response:
    flt = _filter()
    audit.record(
        "export",
        entity_type="gains_report",
        summary=f"{name} {fmt} export",
        after={"format": fmt, "query": flt.args()},
    )
    Session.commit()
    headers, kinds, rows = table(flt)
    filename = f"{name}-{flt.year}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response(
            stream_with_context(export.table_csv_chunks(headers, kinds, rows)),
            mimetype="text/csv",
            headers=disposition,
        )
    return Response(
        export.table_xlsx_bytes(sheet, headers, kinds, rows), mimetype=XLSX, headers=disposition
    )


@bp.get("/gains/report.<any(csv, xlsx):fmt>")
@login_required
def gains_report_export(fmt: str):
    """The report's figures as CSV or XLSX, with the page's filters."""
    return _download(fmt, "gevinster", _("Gains"), _report_table)


@bp.get("/gains/report/contracts.<any(csv, xlsx):fmt>")
@login_required
def gains_report_contracts_export(fmt: str):
    """The drill-down's contracts as CSV or XLSX, every page of it."""
    return _download(fmt, "gevinster-kontrakter", _("Contracts"), _contracts_table)
