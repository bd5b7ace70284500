"""Lookups and permission checks shared by the plan, activity and deviation pages.

What a user may see follows the register (get_visible_contract: confidential contracts
stay hidden, 404); what they may change is decided here, per contract.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from contracts.auth.models import Role, User
from contracts.db import Session
from contracts.register.models import Contract
from contracts.register.services import get_visible_contract
from followup.models import Activity, Deviation


def contract_or_404(contract_id: int, *, live: bool = False) -> Contract:
    """The contract if the user may see it; `live` refuses deleted ones (for changes)."""
    contract = get_visible_contract(contract_id, current_user)
    if contract is None or (live and contract.deleted_at is not None):
        abort(404)
    return contract


def activity_or_404(activity_id: int, *, live: bool = False) -> Activity:
    activity = Session.get(Activity, activity_id)
    if activity is None:
        abort(404)
    contract_or_404(activity.contract_id, live=live)
    return activity


def deviation_or_404(deviation_id: int, *, live: bool = False) -> Deviation:
    deviation = Session.get(Deviation, deviation_id)
    if deviation is None:
        abort(404)
    contract_or_404(deviation.contract_id, live=live)
    return deviation


def may_record_deviations(contract: Contract, user: User) -> bool:
    """Editors and the contract's owner and manager; auditors only read, even if named."""
    if user.role == Role.AUDITOR:
        return False
    return user.can_edit or user.id in {contract.owner_id, contract.manager_id}
