"""The bokmål catalogue covers every message in the source, and the UI really switches language.

The request tests read the compiled .mo files: run `make translations` first.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests import factories

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "contracts" / "translations"
NB_PO = TRANSLATIONS / "nb" / "LC_MESSAGES" / "messages.po"
NB_MO = TRANSLATIONS / "nb" / "LC_MESSAGES" / "messages.mo"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"

# The same keywords as `make extract` (-k _l -k lazy_gettext) on top of babel's defaults.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

# %(name)s, %(num)d, %(value).2f ...: the whole token must be kept, not just the name.
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")

# Directories never holding our sources. Unlike babel's default filter this one walks
# into directories starting with "_", so templates/_macros is checked too (pybabel
# extract skips it unless given --ignore-dirs).
SKIP_DIRS = {"__pycache__", "node_modules"}


def _walk_dir(path: str) -> bool:
    name = os.path.basename(path)
    return not (name.startswith(".") or name in SKIP_DIRS)


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        return parse_mapping_cfg(cfg, filename=str(ROOT / "babel.cfg"))


def extracted_messages() -> dict[str | tuple[str, ...], list[str]]:
    """Every msgid in the source (a tuple for plurals), with where it occurs."""
    method_map, options_map = _method_map()
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=_walk_dir,
    ):
        if isinstance(message, tuple):
            message = tuple(m for m in message if m)  # ngettext(s, p, n) gives (s, p, None)
        if not message:
            continue
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def _read(path: Path):
    with open(path, "rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def nb_catalog():
    return _read(NB_PO)


@pytest.fixture(scope="module")
def source_messages():
    return extracted_messages()


def test_extraction_finds_the_source(source_messages):
    # Guards against a broken method map that would make the other tests pass vacuously.
    assert len(source_messages) > 250
    assert "Contracts" in source_messages  # a template
    assert "Direct award" in source_messages  # lazy_gettext in contracts/labels.py
    assert ("%(num)d contract", "%(num)d contracts") in source_messages  # ngettext
    assert "The form has errors" in source_messages  # templates/_macros/


def test_every_message_has_a_bokmal_translation(nb_catalog, source_messages):
    assert not nb_catalog.fuzzy, "the nb catalogue header is marked fuzzy"
    problems = []
    for message, where in sorted(source_messages.items(), key=lambda item: str(item[0])):
        msgid = message[0] if isinstance(message, tuple) else message
        entry = nb_catalog.get(msgid)
        if entry is None:
            problems.append(f"missing: {message!r} ({where[0]})")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r} ({where[0]})")
        if isinstance(message, tuple):
            if not entry.pluralizable or entry.id[1] != message[1]:
                problems.append(f"not a plural entry: {message!r} ({where[0]})")
                continue
            forms = entry.string
            if len(forms) != nb_catalog.num_plurals or not all(f.strip() for f in forms):
                problems.append(f"plural forms not all filled: {msgid!r} ({where[0]})")
        elif not isinstance(entry.string, str) or not entry.string.strip():
            problems.append(f"untranslated: {msgid!r} ({where[0]})")
    assert not problems, "nb catalogue is incomplete; run `make extract` and translate:\n" + (
        "\n".join(problems)
    )


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_placeholders_are_kept(nb_catalog):
    problems = []
    for entry in nb_catalog:
        if not entry.id:
            continue
        if entry.pluralizable:
            singular, plural = entry.id
            expected = [_placeholders(singular)] + [_placeholders(plural)] * (len(entry.string) - 1)
            allowed = _placeholders(singular) | _placeholders(plural)
            pairs = list(zip(expected, entry.string, strict=True))
        else:
            allowed = _placeholders(entry.id)
            pairs = [(allowed, entry.string)]
        for needed, text in pairs:
            if not text:
                continue  # reported by the completeness test
            have = _placeholders(text)
            if not needed <= have:
                problems.append(f"{entry.id!r}: {text!r} lacks {sorted(needed - have)}")
            if not have <= allowed:
                problems.append(f"{entry.id!r}: {text!r} adds {sorted(have - allowed)}")
    assert not problems, "\n".join(problems)


def test_english_catalogue_falls_back_to_the_msgids():
    en = _read(EN_PO)
    assert str(en.locale) == "en"
    filled = [m.id for m in en if m.id and any(m.string if m.pluralizable else [m.string])]
    assert not filled, f"en msgstr should stay empty (English is the msgid): {filled}"


def test_compiled_catalogue_matches_the_po(nb_catalog):
    """The app reads the .mo file; a stale one shows old or English text."""
    assert NB_MO.exists(), "run `make translations` to compile the catalogues"
    with open(NB_MO, "rb") as f:
        compiled = read_mo(f)

    def text(message):
        # read_mo gives plural ids and strings as lists, read_po as tuples.
        string = message.string
        return tuple(string) if isinstance(string, (list, tuple)) else string

    stale = [
        entry.id
        for entry in nb_catalog
        if entry.id and ((mo := compiled.get(entry.id)) is None or text(mo) != text(entry))
    ]
    assert not stale, f"messages.mo is out of date, run `make translations`: {stale[:5]}"


# --- the running app -----------------------------------------------------------------


def test_pages_are_bokmal_by_default_and_english_after_switching(login_as):
    factories.make_contract(title="Renhold av rådhuset")
    client = login_as("procurement")

    page = client.get("/contracts")
    assert page.status_code == 200
    text = page.text
    assert '<html lang="nb"' in text
    for word in ("Kontrakter", "Søk", "Leverandør", "Avtalenr.", "Registrer kontrakt"):
        assert word in text, word
    assert "1 kontrakt<" in text  # ngettext, singular
    assert "Aktiv" in text  # a lazy_gettext label from contracts/labels.py
    assert "Contracts" not in text
    assert "Search" not in text

    switched = client.post("/locale", data={"locale": "en", "next": "/contracts"})
    assert switched.status_code == 302
    assert switched.headers["Location"].endswith("/contracts")

    text = client.get("/contracts").text
    assert '<html lang="en"' in text
    for word in ("Contracts", "Search", "Supplier", "Contract number", "Active"):
        assert word in text, word
    assert "1 contract<" in text
    assert "Kontrakter" not in text
    assert "Søk" not in text

    client.post("/locale", data={"locale": "nb"})
    assert "Kontrakter" in client.get("/contracts").text


def test_login_page_is_bokmal_for_anonymous_visitors(client):
    text = client.get("/login").text
    assert "Logg inn" in text
    assert "Passord" in text
    assert "E-post" in text


def test_the_catalogues_pass_babels_checks():
    """What `pybabel compile` refuses (e.g. a literal "% s" read as a placeholder) fails
    here too, before `make translations` does in CI."""
    problems = []
    for path in (NB_PO, EN_PO):
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for message, errors in catalog.check():
            problems += [f"{path.parent.parent.name}: {message.id!r}: {e}" for e in errors]
    assert problems == []
