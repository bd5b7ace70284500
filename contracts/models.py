"""Imports every model so the metadata is complete (for Alembic and create_all)."""

from contracts.api.models import ApiToken
from contracts.audit.models import AuditEvent
from contracts.auth.models import LoginAttempt, User, UserSession
from contracts.exchange.models import ImportJob
from contracts.parties.models import Category, Supplier, Unit
from contracts.register.models import Amendment, Contract, ContractOption
from contracts.rules.models import Threshold

__all__ = [
    "Amendment",
    "ApiToken",
    "AuditEvent",
    "Category",
    "Contract",
    "ContractOption",
    "ImportJob",
    "LoginAttempt",
    "Supplier",
    "Threshold",
    "Unit",
    "User",
    "UserSession",
]
