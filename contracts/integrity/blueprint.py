"""The auditors' workspace blueprint, shared by the trail, declaration and red-flag views."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("integrity", __name__)
