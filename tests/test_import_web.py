"""The import page: upload, check every row, correct the columns, import."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import func, select

from contracts.db import Session
from contracts.register.models import Contract
from tests import factories

DATA = Path(__file__).parent / "data"


def _upload(client, name: str, data: bytes | None = None, **extra):
    content = data if data is not None else (DATA / name).read_bytes()
    return client.post(
        "/contracts/import",
        data={"file": (io.BytesIO(content), name), **extra},
        content_type="multipart/form-data",
    )


def _count() -> int:
    return Session.scalar(select(func.count()).select_from(Contract))


def test_upload_shows_every_row_before_anything_is_saved(login_as):
    client = login_as("procurement")
    response = _upload(client, "kontrakter_oppvekst_cp1252.csv")
    assert response.status_code == 302
    preview = client.get(response.location)
    assert preview.status_code == 200
    assert _count() == 0
    page = preview.text
    assert "OPP-2022-11" in page and "31.02.2022" in page  # the rejected row and why
    # Without permission to create units and categories, every row is rejected: the unit
    # Oppvekst and the categories are not in this register.
    assert re.search(r'id="count-rejected"><span class="app-tile__num">5<', page)
    assert re.search(r'id="count-new"><span class="app-tile__num">0<', page)
    assert "Oppvekst" in page


def test_check_again_with_choices_then_import(login_as):
    client = login_as("procurement")
    location = _upload(client, "kontrakter_oppvekst_cp1252.csv").location
    columns = {f"col-{i}": field for i, field in enumerate(_detected(client, location))}
    checked = client.post(location, data={**columns, "create_missing": "y", "action": "preview"})
    assert re.search(r'id="count-new"><span class="app-tile__num">3<', checked.text)
    assert _count() == 0
    done = client.post(location, data={**columns, "create_missing": "y", "action": "import"})
    assert done.status_code == 302
    assert _count() == 3
    # The upload is gone once imported.
    assert client.get(location).status_code == 404


def _detected(client, location) -> list[str]:
    page = client.get(location).text
    selects = re.findall(r'<select class="ds-input" id="col-(\d+)".*?</select>', page, re.S)
    fields = []
    for position in selects:
        block = re.search(
            rf'id="col-{position}" name="col-{position}">(.*?)</select>', page, re.S
        ).group(1)
        chosen = re.search(r'<option value="([^"]*)" selected>', block)
        fields.append(chosen.group(1) if chosen else "")
    return fields


def test_correcting_a_column_the_header_did_not_name(login_as):
    factories.make_unit("Teknisk")
    factories.make_category("Bygg og anlegg")
    client = login_as("procurement")
    csv = (
        "Nr;Hva;Motpart;Enhet;Kategori;Fra\r\n"
        "K-1;Brøyting;Vik AS;Teknisk;Bygg og anlegg;01.01.2026\r\n"
    )
    # "Nr" and "Hva" are no known headers, so no header row is found.
    refused = _upload(client, "ukjent.csv", csv.encode())
    assert refused.status_code == 422
    assert "file-error" in refused.text
    known = csv.replace("Nr;Hva", "Avtalenr;Tittel").replace("Fra", "Startdato")
    location = _upload(client, "kjent.csv", known.encode()).location
    columns = {f"col-{i}": f for i, f in enumerate(_detected(client, location))}
    assert columns["col-2"] == ""  # "Motpart" is not a known header
    columns["col-2"] = "supplier"
    done = client.post(location, data={**columns, "create_missing": "y", "action": "import"})
    assert done.status_code == 302
    contract = Session.scalar(select(Contract).where(Contract.reference == "K-1"))
    assert contract.supplier.name == "Vik AS"


def test_all_or_nothing_refuses_and_keeps_the_upload(login_as):
    client = login_as("procurement")
    location = _upload(client, "kontrakter_oppvekst_cp1252.csv").location
    columns = {f"col-{i}": f for i, f in enumerate(_detected(client, location))}
    response = client.post(
        location,
        data={**columns, "create_missing": "y", "all_or_nothing": "y", "action": "import"},
    )
    assert response.status_code == 422
    assert _count() == 0
    assert client.get(location).status_code == 200


def test_bad_files_get_a_clear_error_and_no_upload(login_as):
    client = login_as("procurement")
    for name, data in [
        ("kontrakter.xlsx", b"not a workbook"),
        ("kontrakter.pdf", b"%PDF-1.7"),
        ("kontrakter.csv", b"PK\x03\x04zip"),
    ]:
        response = _upload(client, name, data)
        assert response.status_code == 422, name
        assert 'id="file-error"' in response.text
    missing = client.post("/contracts/import", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422


def test_an_upload_belongs_to_the_user_who_made_it(login_as):
    location = _upload(login_as("procurement"), "kontrakter_teknisk.xlsx").location
    assert login_as("procurement").get(location).status_code == 404
    assert login_as("admin").get(location).status_code == 404


def test_too_large_upload_is_413(login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = _upload(login_as("procurement"), "big.csv", b"a;b\r\n" * 1000)
    assert response.status_code == 413
