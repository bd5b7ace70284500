"""Reading an uploaded spreadsheet into rows, refusing what is not what it claims to be.

CSV: UTF-8 (with or without BOM) or Windows-1252 as Norwegian Excel saves it, with
semicolons, commas or tabs. XLSX: read by python-calamine, after checking that the file
is a real zip whose parts do not unpack to absurd sizes (zip bombs).
"""

from __future__ import annotations

import csv
import io
import zipfile

from flask_babel import lazy_gettext as _l
from python_calamine import CalamineWorkbook

MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100  # compressed spreadsheets rarely exceed 20:1; bombs reach 1000:1
MAX_ROWS = 100_000
MAX_COLUMNS = 200
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old .xls format


class FileRefused(ValueError):
    """The file cannot be read; the message says why, in the user's language."""


def _check_zip(data: bytes) -> None:
    if not data.startswith(ZIP_MAGIC):
        raise FileRefused(_l("The file is not an Excel workbook (.xlsx)."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except zipfile.BadZipFile:
        raise FileRefused(_l("The workbook is damaged and cannot be read.")) from None
    unpacked = sum(m.file_size for m in members)
    packed = max(sum(m.compress_size for m in members), 1)
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_RATIO:
        raise FileRefused(_l("The workbook unpacks to far too much data and is refused."))
    if not any(m.filename == "xl/workbook.xml" for m in members):
        raise FileRefused(_l("The file is not an Excel workbook (.xlsx)."))


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise FileRefused(_l("The file is not a CSV text file."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _limit(rows: list[list[object]]) -> list[list[object]]:
    if len(rows) > MAX_ROWS:
        raise FileRefused(_l("The file has more than %(n)d rows.", n=MAX_ROWS))
    if any(len(row) > MAX_COLUMNS for row in rows):
        raise FileRefused(_l("The file has more than %(n)d columns.", n=MAX_COLUMNS))
    return rows


def read_csv(data: bytes) -> list[list[object]]:
    text = _decode(data)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=";,\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ";"
    return _limit([list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)])


def sheet_names(data: bytes) -> list[str]:
    _check_zip(data)
    return list(CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names)


def read_xlsx(data: bytes, sheet: str | None = None) -> list[list[object]]:
    _check_zip(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # noqa: BLE001  (calamine raises its own error types)
        raise FileRefused(_l("The workbook is damaged and cannot be read.")) from None
    names = list(workbook.sheet_names)
    if sheet is not None and sheet not in names:
        raise FileRefused(_l("The workbook has no sheet named %(name)s.", name=sheet))
    rows = workbook.get_sheet_by_name(sheet or names[0]).to_python(skip_empty_area=False)
    return _limit([list(row) for row in rows])


def read_rows(data: bytes, filename: str, sheet: str | None = None) -> list[list[object]]:
    """The rows of an uploaded .xlsx or .csv; the extension and the content must agree."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        return read_xlsx(data, sheet)
    if name.endswith(".csv"):
        if data.startswith((ZIP_MAGIC, OLE_MAGIC)):
            raise FileRefused(_l("The file is named .csv but is a spreadsheet workbook."))
        return read_csv(data)
    if name.endswith(".xls") or data.startswith(OLE_MAGIC):
        raise FileRefused(_l("Old .xls files cannot be read: save the sheet as .xlsx."))
    raise FileRefused(_l("Upload an .xlsx or .csv file."))
