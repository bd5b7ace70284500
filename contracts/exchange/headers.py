"""Which spreadsheet column holds what: Norwegian and English header synonyms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Field -> the headers offices use for it, compared after normalise_header().
SYNONYMS: dict[str, tuple[str, ...]] = {
    "reference": (
        "avtalenr",
        "avtalenummer",
        "kontraktsnr",
        "kontraktsnummer",
        "saksnr",
        "referanse",
        "contract number",
        "reference",
        "ref",
    ),
    "title": (
        "avtalenavn",
        "kontraktsnavn",
        "tittel",
        "navn på avtale",
        "avtale",
        "kontrakt",
        "title",
        "contract name",
        "beskrivelse av anskaffelsen",
    ),
    "supplier": ("leverandør", "leverandørnavn", "firma", "supplier", "vendor", "leverandor"),
    "org_number": (
        "org nr",
        "orgnr",
        "organisasjonsnummer",
        "org nummer",
        "foretaksnummer",
        "organisation number",
        "organization number",
        "org no",
    ),
    "category": ("kategori", "anskaffelseskategori", "innkjøpskategori", "category", "varegruppe"),
    "unit": (
        "virksomhet",
        "enhet",
        "virksomhet enhet",
        "tjenesteområde",
        "sektor",
        "unit",
        "department",
        "avdeling",
    ),
    "owner": ("avtaleeier", "eier", "budsjettansvarlig", "owner", "contract owner"),
    "manager": (
        "kontraktsansvarlig",
        "kontraktsforvalter",
        "avtaleforvalter",
        "kontaktperson",
        "manager",
        "contract manager",
    ),
    "start_date": ("startdato", "fra dato", "gyldig fra", "avtalestart", "start date", "start"),
    "end_date": (
        "sluttdato",
        "til dato",
        "gyldig til",
        "utløpsdato",
        "avtaleslutt",
        "end date",
        "end",
        "utløper",
    ),
    "signed_on": ("signert", "signeringsdato", "dato signert", "inngått", "signed on", "signed"),
    "options": ("opsjoner", "opsjon", "forlengelse", "opsjon forlengelse", "options"),
    "notice": ("oppsigelsestid", "oppsigelse", "notice period", "notice"),
    "estimated_value": (
        "anslått verdi",
        "estimert totalverdi",
        "estimert verdi",
        "total verdi",
        "totalverdi",
        "kontraktsverdi",
        "verdi",
        "estimated value",
        "estimated total value",
        "total value",
        "value",
    ),
    "annual_value": ("årlig verdi", "årsverdi", "verdi per år", "annual value", "årlig omsetning"),
    "procedure": (
        "anskaffelsesprosedyre",
        "prosedyre",
        "konkurranseform",
        "procedure",
        "procurement procedure",
    ),
    "is_framework": ("rammeavtale", "ramme", "framework", "framework agreement"),
    "has_wage_conditions": (
        "lønns og arbeidsvilkår",
        "lønns og arbeidsvilkar",
        "lønns og arbeidsvilkår klausul",
        "klausul om lønns og arbeidsvilkår",
        "wage conditions",
        "clause on wage and working conditions",
    ),
    "price_adjustment": (
        "prisregulering",
        "prisreguleringsindeks",
        "indeks for prisregulering",
        "indeksregulering",
        "price adjustment",
        "price adjustment index",
    ),
    "price_adjustment_month": (
        "måned for prisregulering",
        "prisreguleringsmåned",
        "reguleringsmåned",
        "price adjustment month",
    ),
    "notes": ("merknad", "merknader", "kommentar", "kommentarer", "notater", "notes"),
}
REQUIRED = ("reference", "title")
SCAN_ROWS = 30

_PAREN = re.compile(r"\([^)]*\)")
_NOISE = re.compile(r"[^\w\s]")


def normalise_header(text: object) -> str:
    """Lower case, without brackets, punctuation or VAT remarks: 'Anslått verdi (eks. mva)'
    and 'anslått verdi eks mva' both become 'anslått verdi'."""
    value = _PAREN.sub(" ", str(text or "").lower())
    value = _NOISE.sub(" ", value)
    value = re.sub(r"\b(eks|ekskl|inkl|mva|nok|kr)\b", " ", value)
    return re.sub(r"\s+", " ", value).strip()


_LOOKUP = {normalise_header(s): field for field, names in SYNONYMS.items() for s in names}


@dataclass
class HeaderRow:
    index: int  # 0-based index among the rows read
    columns: dict[int, str]  # column index -> field
    unknown: list[str]  # headers nobody claimed, shown so the user can map them


def field_for(header: object) -> str | None:
    return _LOOKUP.get(normalise_header(header))


def find_header_row(rows: Sequence[Sequence[object]]) -> HeaderRow | None:
    """The row among the first rows that names the most known columns (title rows above
    the table are skipped); None when no row names a contract number and a title."""
    best: HeaderRow | None = None
    for index, row in enumerate(rows[:SCAN_ROWS]):
        columns: dict[int, str] = {}
        unknown: list[str] = []
        for position, cell in enumerate(row):
            field = field_for(cell)
            if field and field not in columns.values():
                columns[position] = field
            elif str(cell or "").strip():
                unknown.append(str(cell).strip())
        if not all(f in columns.values() for f in REQUIRED):
            continue
        if best is None or len(columns) > len(best.columns):
            best = HeaderRow(index=index, columns=columns, unknown=unknown)
    return best
