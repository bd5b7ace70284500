"""The contract list: free-text search, filters, sorting and keyset pagination."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from contracts.db import Session
from contracts.register import services
from contracts.register.models import Contract, ContractStatus
from contracts.register.search import SORT_COLUMNS
from tests import factories
from tests.conftest import TODAY

ROW_LINK = re.compile(r'<td><a class="ds-link" href="/contracts/(\d+)">')


def listed(page: str) -> list[int]:
    """Contract ids in the list table, in the order shown."""
    return [int(i) for i in ROW_LINK.findall(page)]


def total(page: str) -> int:
    match = re.search(r'id="result-count">\s*([^<]*)<', page)
    assert match, "no result count"
    digits = re.sub(r"\D", "", match.group(1))
    assert digits, match.group(1)
    return int(digits)


def link(page: str, rel: str) -> str | None:
    match = re.search(rf'<a class="ds-link" rel="{rel}" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


@pytest.fixture
def client(login_as):
    return login_as("procurement")


def search(client, **params) -> list[int]:
    response = client.get("/contracts", query_string=params)
    assert response.status_code == 200
    ids = listed(response.text)
    assert total(response.text) == len(ids)
    return ids


# --- free text ------------------------------------------------------------------------------


@pytest.fixture
def texts():
    aasen = factories.make_supplier(name="Aasen Bygg AS", org="974760673")
    vik = factories.make_supplier(name="Vik Catering SA")
    return {
        "ostre": factories.make_contract(
            reference="2026/0001", title="Renhold av Østre Lien skole", supplier_id=vik.id
        ),
        "vestre": factories.make_contract(
            reference="2026/0002", title="vinduspuss østre fløy", supplier_id=aasen.id
        ),
        "asen": factories.make_contract(
            reference="2025/0003", title="Åsen idrettshall", supplier_id=vik.id
        ),
        "bo": factories.make_contract(
            reference="2024/0004", title="Skoleskyss Bø", supplier_id=vik.id
        ),
        "plain": factories.make_contract(
            reference="2024/0005", title="Kontorrekvisita", supplier_id=vik.id
        ),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("øst", {"ostre", "vestre"}),
        ("ØST", {"ostre", "vestre"}),
        ("Østre", {"ostre", "vestre"}),
        ("østre lien", {"ostre"}),
        ("ØSTRE FLØY", {"vestre"}),
        ("AASEN", {"vestre"}),
        ("aasen", {"vestre"}),
        ("å", {"asen"}),
        ("Å", {"asen"}),
        ("ÅSEN", {"asen"}),
        ("bø", {"bo"}),
        ("BØ", {"bo"}),
        # Terms under three characters match the start of a word: "ø" finds "Østre" but
        # not "Bø"; three characters and more match anywhere ("asen" finds "Aasen").
        ("ø", {"ostre", "vestre"}),
        ("øy", set()),
        ("fl", {"vestre"}),
        ("asen", {"vestre"}),  # Å is its own letter: "Åsen" has no "asen"
        ("2026/0002", {"vestre"}),
        ("2026/", {"ostre", "vestre"}),
        ("25/0003", {"asen"}),
        ("vik catering", {"ostre", "asen", "bo", "plain"}),
        ("catering", {"ostre", "asen", "bo", "plain"}),
        ("974760673", {"vestre"}),
        ("974 760 673", {"vestre"}),
        ("974760", {"vestre"}),
        ("skole renhold", {"ostre"}),
        ("renhold vinduspuss", set()),
        ("kontor vik", {"plain"}),
        ("av", {"ostre"}),
        ("sk", {"ostre", "bo"}),
        ("ingenting-slikt", set()),
        ("", {"ostre", "vestre", "asen", "bo", "plain"}),
        ("   ", {"ostre", "vestre", "asen", "bo", "plain"}),
    ],
)
def test_free_text_search(client, texts, q, expected):
    found = set(search(client, q=q))
    assert found == {texts[k].id for k in expected}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("%", {"percent"}),
        ("100%", {"percent"}),
        ("_", {"underscore"}),
        ("x_y", {"underscore"}),
        ("a%b", set()),
        ("%%%", set()),
        ("___", set()),
        ('"', {"quote"}),
        ('"sitat"', {"quote"}),
        ("\\", {"backslash"}),
        ("c:\\d", {"backslash"}),
        ("(ramme)", {"fts_syntax"}),
        ("*stjerne*", {"fts_syntax"}),
        ("not-and", {"fts_syntax"}),
        ("NOT", {"fts_syntax"}),
        ("NEAR", set()),
        ("OR", set()),
        ("^av", set()),
        ("ram*", set()),
    ],
)
def test_like_wildcards_and_quotes_are_literal(client, q, expected):
    made = {
        "percent": factories.make_contract(title="Rabatt 100% dekning"),
        "underscore": factories.make_contract(title="Kode x_y"),
        "decoy": factories.make_contract(title="Kode xay og abb"),
        "quote": factories.make_contract(title='Avtale "sitat" her'),
        "backslash": factories.make_contract(title="Sti c:\\d"),
        "fts_syntax": factories.make_contract(title="Avtale (ramme) *stjerne* NOT-AND"),
    }
    found = set(search(client, q=q))
    assert found == {made[k].id for k in expected}


def test_very_long_and_many_term_queries_do_not_fail(client, texts):
    assert client.get("/contracts", query_string={"q": "ø" * 5000}).status_code == 200
    many = " ".join(["østre"] * 20)
    assert set(search(client, q=many)) == {texts["ostre"].id, texts["vestre"].id}


def test_supplier_rename_updates_search(client, texts):
    supplier = texts["vestre"].supplier
    response = client.post(
        f"/suppliers/{supplier.id}/edit",
        data={"name": "Nytt Navn Entreprenør AS", "org_number": supplier.org_number},
    )
    assert response.status_code == 302
    assert search(client, q="entreprenør") == [texts["vestre"].id]
    assert search(client, q="ENTREPRENØR") == [texts["vestre"].id]
    assert search(client, q="aasen") == []


def test_supplier_number_change_updates_search(client, texts):
    supplier = texts["vestre"].supplier
    new_number = factories.org_number()
    response = client.post(
        f"/suppliers/{supplier.id}/edit", data={"name": supplier.name, "org_number": new_number}
    )
    assert response.status_code == 302
    assert search(client, q=new_number) == [texts["vestre"].id]
    assert search(client, q="974760673") == []


def test_contract_edit_updates_search(client, texts):
    contract = texts["plain"]
    values = {key: getattr(contract, key) for key in services.CONTRACT_FIELDS}
    values["title"] = "Møbler til rådhuset"
    services.update_contract(contract, values, contract.version)
    Session.flush()
    assert search(client, q="MØBLER") == [contract.id]
    assert search(client, q="kontorrekvisita") == []


def test_deleted_contracts_are_not_found(client, texts):
    services.soft_delete_contract(texts["asen"])
    Session.flush()
    assert search(client, q="åsen") == []


def test_confidential_contracts_are_hidden_from_other_owners(login_as, texts):
    services.update_contract(
        texts["asen"],
        {
            **{k: getattr(texts["asen"], k) for k in services.CONTRACT_FIELDS},
            "is_confidential": True,
        },
        texts["asen"].version,
    )
    Session.flush()
    owner = login_as("owner")
    assert search(owner, q="åsen") == []
    assert search(login_as("auditor"), q="åsen") == [texts["asen"].id]


# --- filters --------------------------------------------------------------------------------


@pytest.fixture
def filtered():
    owner = factories.make_user(role="owner")
    other_owner = factories.make_user(role="owner")
    unit_a, unit_b = factories.make_unit(), factories.make_unit()
    cat_a, cat_b = factories.make_category(), factories.make_category()
    supplier = factories.make_supplier()
    common = {"supplier_id": supplier.id, "start_date": date(2024, 1, 1)}
    made = {
        "active_a": factories.make_contract(
            **common,
            unit_id=unit_a.id,
            category_id=cat_a.id,
            owner_id=owner.id,
            end_date=TODAY + timedelta(days=400),
            is_framework=True,
        ),
        "expiring_a": factories.make_contract(
            **common,
            unit_id=unit_a.id,
            category_id=cat_b.id,
            owner_id=owner.id,
            end_date=TODAY + timedelta(days=30),
        ),
        "expiring_b": factories.make_contract(
            **common,
            unit_id=unit_b.id,
            category_id=cat_a.id,
            owner_id=other_owner.id,
            end_date=TODAY + timedelta(days=180),
            is_framework=True,
        ),
        "expired_b": factories.make_contract(
            **common,
            unit_id=unit_b.id,
            category_id=cat_b.id,
            owner_id=owner.id,
            end_date=TODAY - timedelta(days=1),
        ),
        "draft_a": factories.make_contract(
            **common,
            unit_id=unit_a.id,
            category_id=cat_a.id,
            owner_id=None,
            signed_on=None,
            end_date=TODAY + timedelta(days=10),
        ),
        "open_b": factories.make_contract(
            **common,
            unit_id=unit_b.id,
            category_id=cat_a.id,
            owner_id=other_owner.id,
            end_date=None,
            is_framework=True,
        ),
        "terminated_a": factories.make_contract(
            **common,
            unit_id=unit_a.id,
            category_id=cat_b.id,
            owner_id=owner.id,
            end_date=TODAY + timedelta(days=700),
        ),
    }
    services.terminate_contract(made["terminated_a"], TODAY - timedelta(days=5), None)
    Session.flush()
    ids = {k: c.id for k, c in made.items()}
    return ids, {
        "owner": owner,
        "other_owner": other_owner,
        "unit_a": unit_a,
        "unit_b": unit_b,
        "cat_a": cat_a,
        "cat_b": cat_b,
    }


def test_status_filter_matches_the_status_shown(client, filtered):
    ids, _ = filtered
    expected = {
        "active": {"active_a", "open_b"},
        "expiring": {"expiring_a", "expiring_b"},
        "expired": {"expired_b"},
        "draft": {"draft_a"},
        "terminated": {"terminated_a"},
    }
    for status, keys in expected.items():
        assert set(search(client, status=status)) == {ids[k] for k in keys}, status
    Session.expire_all()
    for status in ContractStatus:
        for contract_id in search(client, status=status.value):
            assert Session.get(Contract, contract_id).status(TODAY) == status
    # An unknown status is ignored rather than failing.
    assert set(search(client, status="bogus")) == set(ids.values())


def test_unit_category_owner_and_framework_filters(client, filtered):
    ids, p = filtered
    key_of = {v: k for k, v in ids.items()}

    def keys(**params):
        return {key_of[i] for i in search(client, **params)}

    assert keys(unit=p["unit_a"].id) == {"active_a", "expiring_a", "draft_a", "terminated_a"}
    assert keys(unit=p["unit_b"].id) == {"expiring_b", "expired_b", "open_b"}
    assert keys(category=p["cat_a"].id) == {"active_a", "expiring_b", "draft_a", "open_b"}
    assert keys(owner=p["owner"].id) == {"active_a", "expiring_a", "expired_b", "terminated_a"}
    assert keys(owner=p["other_owner"].id) == {"expiring_b", "open_b"}
    assert keys(framework="yes") == {"active_a", "expiring_b", "open_b"}
    assert keys(framework="no") == {"expiring_a", "expired_b", "draft_a", "terminated_a"}
    assert keys(framework="maybe") == set(ids)
    assert keys(unit="abc", category="-1", owner="") == set(ids)
    assert keys(unit=999999) == set()


def test_expires_within(client, filtered):
    ids, _ = filtered
    key_of = {v: k for k, v in ids.items()}

    def keys(**params):
        return {key_of[i] for i in search(client, **params)}

    assert keys(expires_within=0) == set()
    assert keys(expires_within=10) == {"draft_a"}
    assert keys(expires_within=30) == {"draft_a", "expiring_a"}
    assert keys(expires_within=179) == {"draft_a", "expiring_a"}
    assert keys(expires_within=180) == {"draft_a", "expiring_a", "expiring_b"}
    assert keys(expires_within=400) == {"draft_a", "expiring_a", "expiring_b", "active_a"}
    assert keys(expires_within=99999999) == {"draft_a", "expiring_a", "expiring_b", "active_a"}


def test_combined_filters(client, filtered):
    ids, p = filtered
    key_of = {v: k for k, v in ids.items()}

    def keys(**params):
        return {key_of[i] for i in search(client, **params)}

    assert keys(unit=p["unit_a"].id, status="expiring") == {"expiring_a"}
    assert keys(unit=p["unit_a"].id, framework="yes") == {"active_a"}
    assert keys(category=p["cat_a"].id, framework="yes", status="active") == {"active_a", "open_b"}
    assert keys(owner=p["owner"].id, expires_within=400, status="active") == {"active_a"}
    assert keys(owner=p["other_owner"].id, unit=p["unit_a"].id) == set()


def test_filters_combine_with_text(client):
    unit = factories.make_unit()
    hit = factories.make_contract(title="Renhold øst", unit_id=unit.id)
    factories.make_contract(title="Renhold øst")
    factories.make_contract(title="Matvarer", unit_id=unit.id)
    assert search(client, q="øst", unit=unit.id) == [hit.id]


# --- sorting --------------------------------------------------------------------------------


@pytest.fixture
def sortable():
    """Contracts with ties and NULLs in every sort column; ASCII names so every collation
    agrees on the order."""
    alpha = factories.make_supplier(name="ALPHA")
    bravo = factories.make_supplier(name="BRAVO")
    charlie = factories.make_supplier(name="CHARLIE")
    rows = [
        ("R-05", "DELTA", bravo, date(2027, 1, 31), "500000"),
        ("R-01", "ECHO", charlie, None, None),
        ("R-09", "ALFA", alpha, date(2026, 12, 31), "1500000"),
        ("R-03", "DELTA", alpha, date(2027, 1, 31), None),
        ("R-07", "CHARLIE", bravo, None, "1500000"),
        ("R-02", "BRAVO", charlie, date(2026, 6, 30), "99.5"),
        ("R-08", "ALFA", bravo, date(2028, 3, 1), "2000000"),
        ("R-04", "FOXTROT", alpha, date(2026, 12, 31), "750000"),
        ("R-06", "GOLF", charlie, None, "500000"),
        ("R-10", "HOTEL", alpha, date(2026, 4, 1), "10"),
    ]
    contracts = []
    for reference, title, supplier, end, value in rows:
        contracts.append(
            factories.make_contract(
                reference=reference,
                title=title,
                supplier_id=supplier.id,
                start_date=date(2026, 1, 1),
                end_date=end,
                estimated_value=Decimal(value) if value else None,
                annual_value=None,
            )
        )
    Session.flush()
    return contracts


SORT_KEYS = {
    "reference": lambda c: (c.reference,),
    "title": lambda c: (c.title,),
    "supplier": lambda c: (c.supplier.name,),
    # Open-ended contracts never end, so they sort after every end date, in both directions.
    "end": lambda c: (c.current_end_date or date.max,),
    "value": lambda c: (c.estimated_value,),
}


def expected_order(contracts: list[Contract], sort: str, descending: bool) -> list[int]:
    """Missing values last in both directions, ties broken by id in the sort direction."""
    key = SORT_KEYS[sort]
    present = [c for c in contracts if key(c)[0] is not None]
    missing = [c for c in contracts if key(c)[0] is None]
    present.sort(key=lambda c: (key(c), c.id), reverse=descending)
    missing.sort(key=lambda c: c.id, reverse=descending)
    return [c.id for c in present + missing]


@pytest.mark.parametrize("sort", list(SORT_KEYS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_sorting(client, sortable, sort, direction):
    expected = expected_order(sortable, sort, direction == "desc")
    assert search(client, sort=sort, dir=direction) == expected


def test_unknown_sort_falls_back_to_reference(client, sortable):
    expected = expected_order(sortable, "reference", False)
    assert search(client, sort="id; drop table contracts") == expected
    assert search(client) == expected


# --- keyset pagination ------------------------------------------------------------------------


@pytest.fixture
def small_pages(app):
    old = app.config["PAGE_SIZE"]
    app.config["PAGE_SIZE"] = 3
    yield 3
    app.config["PAGE_SIZE"] = old


def walk(client, url: str, rel: str, limit: int = 50) -> list[list[int]]:
    """Follow rel links from a page, collecting the ids on each page."""
    pages = []
    while url and len(pages) < limit:
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append((listed(response.text), total(response.text), url))
        url = link(response.text, rel)
    assert len(pages) < limit, "pagination does not end"
    return pages


@pytest.mark.parametrize("sort", list(SORT_KEYS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_keyset_pagination_forwards_and_back(client, sortable, small_pages, sort, direction):
    expected = expected_order(sortable, sort, direction == "desc")
    forward = walk(client, f"/contracts?sort={sort}&dir={direction}", "next")
    seen = [i for ids, _total, _url in forward for i in ids]
    assert seen == expected
    assert all(0 < len(ids) <= small_pages for ids, _t, _u in forward)
    assert [len(ids) for ids, _t, _u in forward] == [3, 3, 3, 1]
    assert {t for _ids, t, _u in forward} == {len(sortable)}
    # The first page has no previous page; the last has no next page.
    first_page = client.get(forward[0][2]).text
    assert link(first_page, "prev") is None
    last_page = client.get(forward[-1][2]).text
    assert link(last_page, "next") is None

    backward = walk(client, forward[-1][2], "prev")
    assert [ids for ids, _t, _u in backward] == [ids for ids, _t, _u in reversed(forward)]
    # Going back from page 2 lands on a page that has no previous page.
    assert link(client.get(backward[-1][2]).text, "prev") is None


def test_pagination_keeps_search_and_filters(client, small_pages):
    unit = factories.make_unit()
    wanted = [
        factories.make_contract(reference=f"P-{i:02d}", title="Skoleskyss øst", unit_id=unit.id)
        for i in range(7)
    ]
    factories.make_contract(reference="P-50", title="Skoleskyss øst")  # other unit
    factories.make_contract(reference="P-51", title="Matvarer", unit_id=unit.id)
    pages = walk(client, f"/contracts?q=ØST&unit={unit.id}", "next")
    seen = [i for ids, _t, _u in pages for i in ids]
    assert seen == [c.id for c in wanted]
    assert {t for _ids, t, _u in pages} == {7}
    for _ids, _t, url in pages[1:]:
        query = parse_qs(urlsplit(url).query)
        assert query["q"] == ["ØST"]
        assert query["unit"] == [str(unit.id)]


TAMPERED_CURSORS = [
    "garbage",
    "%%%",
    "!!!!",
    "eyJ4IjoxfQ",  # {"x":1}
    "WzEsMiwzXQ",  # [1,2,3]
    "WyJhIiwiYiJd",  # ["a","b"]
    "W3siZCI6Im5vdC1hLWRhdGUifSwxXQ",  # [{"d":"not-a-date"},1]
    "W3sibiI6Im5vdC1hLW51bWJlciJ9LDFd",  # [{"n":"not-a-number"},1]
    "W3t9LDFd",  # [{},1]
    "W1tdLDFd",  # [[],1]
    "WzEuNSwxXQ",  # [1.5,1]
    "WyJhIiwxXQ",  # ["a",1]
    "WzEsMV0",  # [1,1]
    "W251bGwsMV0",  # [null,1]
    "W3RydWUsMV0",  # [true,1]
    "WyJhIiwxLjVd",  # ["a",1.5]
    "bnVsbA",  # null
    "W251bGwsMV0" * 200,
    "W3sibiI6Ik5hTiJ9LDFd",  # [{"n":"NaN"},1]
    "W3sibiI6InNOYU4ifSwxXQ",  # [{"n":"sNaN"},1]
    "W3sibiI6IjFlOTk5OTk5In0sMV0",  # [{"n":"1e999999"},1]
    "W3sibiI6Ii1JbmZpbml0eSJ9LDFd",  # [{"n":"-Infinity"},1]
    "W3siZCI6Ijk5OTktMTItMzEifSwxXQ",  # [{"d":"9999-12-31"},1]
    "W3siZCI6IjAwMDEtMDEtMDEifSwxXQ",  # [{"d":"0001-01-01"},1]
    "WyJcdTAwMDAiLDFd",  # ["\u0000",1]
    "WyJhIiwxMTgwNTkxNjIwNzE3NDExMzAzNDI0XQ",  # ["a",1180591620717411303424]
    "WyJhIiwtMV0",  # ["a",-1]
    "\u00f8\u00e6\u00e5",
]


@pytest.mark.parametrize("sort", ["reference", "end", "value"])  # text, date, number columns
def test_tampered_cursors_do_not_fail(client, sortable, small_pages, sort):
    for cursor in TAMPERED_CURSORS:
        for param, direction in (("after", "asc"), ("before", "desc")):
            query = {param: cursor, "sort": sort, "dir": direction}
            response = client.get("/contracts", query_string=query)
            assert response.status_code == 200, query
            assert total(response.text) == len(sortable)
            assert len(listed(response.text)) <= small_pages


def test_cursor_with_a_mismatched_type_does_not_fail(client, sortable, small_pages):
    """A cursor made for one sort column used with another (a date against a number)."""
    first = client.get("/contracts?sort=end").text
    cursor = parse_qs(urlsplit(link(first, "next")).query)["after"][0]
    for sort in SORT_KEYS:
        for param in ("after", "before"):
            response = client.get("/contracts", query_string={param: cursor, "sort": sort})
            assert response.status_code == 200, (sort, param)


def test_total_count_matches(client, sortable, small_pages):
    response = client.get("/contracts")
    assert total(response.text) == len(sortable)
    assert len(listed(response.text)) == 3
    response = client.get("/contracts?q=delta")
    assert total(response.text) == 2
    response = client.get("/contracts?q=nothing-like-this")
    assert total(response.text) == 0
    assert listed(response.text) == []
    assert link(response.text, "next") is None


@pytest.mark.parametrize("q", ["\x00", "øst\x00", "ab\x00cd"])
def test_nul_in_the_query_is_a_bad_request_not_a_crash(client, texts, q):
    assert client.get("/contracts", query_string={"q": q}).status_code == 400
    assert client.get("/suppliers", query_string={"q": q}).status_code == 400


# --- SQLite: walking the sort index for common words ------------------------------------------


def test_probing_the_matches_finds_the_same_rows_as_driving_from_them(app, texts):
    """The two query shapes fetch_page chooses between must agree, row for row."""
    from contracts.register.search import ContractQuery, apply_filters

    dialect = Session.get_bind().dialect.name
    for q in ("øst", "vik catering", "av", "sk renhold", "2026/"):
        for sort in ("reference", "title", "end"):
            for descending in (False, True):
                cq = ContractQuery(q=q, sort=sort, descending=descending)
                column = SORT_COLUMNS[sort][0]
                order = [column.desc(), Contract.id.desc()] if descending else [column, Contract.id]
                shapes = [
                    Session.scalars(
                        apply_filters(
                            select(Contract.id), cq, TODAY, dialect, probe=probe
                        ).order_by(*order)
                    ).all()
                    for probe in (False, True)
                ]
                assert shapes[0] == shapes[1], (q, sort, descending)
                assert shapes[0]  # every query finds something, so equality means something


def test_walking_the_sort_index_is_chosen_for_common_words_only(client, texts, monkeypatch):
    from contracts.register import search as search_module
    from contracts.register.search import ContractQuery, _walk_sort_index

    rows = Session.scalar(select(func.max(Contract.id)))
    common = ContractQuery(q="renhold", sort="end")
    # The walk wins when total * total > (page_size + 1) * rows.
    assert _walk_sort_index(common, total=rows, page_size=rows - 2)
    assert not _walk_sort_index(common, total=rows, page_size=rows)
    assert not _walk_sort_index(common, total=1, page_size=50)
    assert not _walk_sort_index(ContractQuery(q="", sort="end"), total=rows, page_size=1)
    assert not _walk_sort_index(ContractQuery(q="x", sort="supplier"), total=rows, page_size=1)
    assert not _walk_sort_index(ContractQuery(q="x", sort="value"), total=rows, page_size=1)

    # Through the list page the choice changes nothing a user sees.
    probes = []
    real = search_module.apply_filters

    def spy(*args, **kwargs):
        probes.append(kwargs.get("probe", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(search_module, "apply_filters", spy)
    monkeypatch.setattr(search_module, "_walk_sort_index", lambda *a: True)
    walked = search(client, q="øst", sort="end")
    monkeypatch.setattr(search_module, "_walk_sort_index", lambda *a: False)
    driven = search(client, q="øst", sort="end")
    assert walked == driven
    assert set(walked) == {texts["ostre"].id, texts["vestre"].id}
    if Session.get_bind().dialect.name == "sqlite":
        assert probes == [False, True, False]  # count, walked page, driven page
    else:
        assert probes == [False, False]  # PostgreSQL's planner chooses by itself
