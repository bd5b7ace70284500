"""The upload form of the import page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional


class UploadForm(FlaskForm):
    file = FileField(
        _l("Spreadsheet"),
        description=_l("An .xlsx workbook or a .csv file with one contract per row."),
        validators=[FileRequired(_l("Choose a file."))],
    )
    sheet = StringField(
        _l("Sheet"),
        description=_l("Leave empty to read the first sheet of a workbook."),
        validators=[Optional(), Length(max=100)],
    )


class ImportOptionsForm(FlaskForm):
    create_missing = BooleanField(
        _l("Create units, categories and owners that are not in the register")
    )
    update_existing = BooleanField(_l("Rows whose contract number exists update that contract"))
    all_or_nothing = BooleanField(_l("Import nothing if any row is rejected"))
