"""`flask demo seed`: realistic demo data that the rest of the app can work with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from stdnum.no import orgnr
from werkzeug.security import generate_password_hash

from contracts.auth import services as auth_services
from contracts.auth.models import Role, User
from contracts.db import Session
from contracts.demo import DEMO_ACCOUNTS
from contracts.parties.models import Supplier
from contracts.register import services as register_services
from contracts.register.models import Contract, ContractOption, OptionDecision
from tests.conftest import TODAY


def _count(model) -> int:
    Session.expire_all()
    return Session.scalar(select(func.count()).select_from(model))


# The integrity demo adds a handful of contracts, one per red-flag rule, once.
FLAG_DEMO = "RF-DEMO-%"


def _register_contracts() -> int:
    """The generated register's contracts, without the red-flag demo's."""
    Session.expire_all()
    return Session.scalar(
        select(func.count()).select_from(Contract).where(Contract.reference.not_like(FLAG_DEMO))
    )


@pytest.fixture
def fast_hashing(monkeypatch):
    """scrypt costs ~0.1 s per account; tests that never log in can skip it."""
    monkeypatch.setattr(
        auth_services,
        "hash_password",
        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"),
    )


@pytest.fixture
def accounts_file(app):
    path = Path(app.instance_path) / "demo-accounts.txt"
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)


def test_demo_seed(runner, accounts_file):
    result = runner.invoke(args=["demo", "seed", "--contracts", "50"])
    assert result.exit_code == 0, result.output
    assert _register_contracts() == 50
    suppliers = Session.scalars(select(Supplier)).all()
    assert len(suppliers) == 40  # at least 40 by default
    assert all(orgnr.is_valid(s.org_number) for s in suppliers)
    assert len({s.org_number for s in suppliers}) == len(suppliers)

    # The four demo accounts, each printed with a password that works.
    for email, _name, role, _unit in DEMO_ACCOUNTS:
        user = Session.scalar(select(User).where(User.email == email))
        assert user is not None and user.role == role and user.is_active
        assert email in result.output
        match = re.search(rf"{re.escape(email)}\s+password:\s+(\S+)", result.output)
        assert match, f"no password printed for {email}"
        assert auth_services.authenticate(email, match.group(1)) is not None
        assert email in accounts_file.read_text(encoding="utf-8")
    assert accounts_file.stat().st_mode & 0o077 == 0
    owner = Session.scalar(select(User).where(User.email == "eier@demo.kommune.no"))
    assert owner.role == Role.OWNER and owner.unit is not None


def test_demo_contracts_are_consistent_with_the_services(runner, accounts_file, fast_hashing):
    assert runner.invoke(args=["demo", "seed", "--contracts", "50"]).exit_code == 0
    Session.expire_all()
    contracts = Session.scalars(select(Contract)).unique().all()
    assert len({c.reference for c in contracts if not c.reference.startswith("RF-DEMO-")}) == 50
    statuses = set()
    for contract in contracts:
        stored = (contract.current_end_date, contract.max_end_date, contract.search_text)
        register_services.refresh_derived(contract)
        assert (contract.current_end_date, contract.max_end_date, contract.search_text) == stored
        assert contract.end_date is None or contract.end_date >= contract.start_date
        statuses.add(contract.status(TODAY))
    assert len(statuses) >= 3
    for option in Session.scalars(select(ContractOption)):
        assert (option.decision == OptionDecision.PENDING) == (option.decided_on is None)


def test_demo_contracts_are_searchable(runner, login_as, accounts_file, fast_hashing):
    assert runner.invoke(args=["demo", "seed", "--contracts", "50"]).exit_code == 0
    contract = Session.scalars(select(Contract).order_by(Contract.id)).first()
    client = login_as("procurement")
    response = client.get("/contracts", query_string={"q": contract.supplier.org_number})
    assert response.status_code == 200
    assert f'href="/contracts/{contract.id}"' in response.text
    assert client.get(f"/contracts/{contract.id}").status_code == 200


def test_demo_seed_if_empty_adds_nothing_the_second_time(runner, accounts_file, fast_hashing):
    first = runner.invoke(args=["demo", "seed", "--contracts", "50", "--if-empty"])
    assert first.exit_code == 0, first.output
    counts = (_count(Contract), _count(Supplier), _count(User))
    assert _register_contracts() == 50
    accounts = accounts_file.read_text(encoding="utf-8")

    second = runner.invoke(args=["demo", "seed", "--contracts", "50", "--if-empty"])
    assert second.exit_code == 0, second.output
    assert (_count(Contract), _count(Supplier), _count(User)) == counts
    assert "password" not in second.output
    assert accounts_file.read_text(encoding="utf-8") == accounts


def test_demo_seed_without_if_empty_adds_more_but_no_new_accounts(
    runner, accounts_file, fast_hashing
):
    assert runner.invoke(args=["demo", "seed", "--contracts", "10"]).exit_code == 0
    users = _count(User)
    result = runner.invoke(args=["demo", "seed", "--contracts", "10"])
    assert result.exit_code == 0, result.output
    assert _register_contracts() == 20
    assert _count(User) == users
    assert "password" not in result.output
    references = Session.scalars(select(Contract.reference)).all()
    assert len(set(references)) == len(references)
    numbers = Session.scalars(select(Supplier.org_number)).all()
    assert len(set(numbers)) == len(numbers)


def test_demo_seed_has_amendments_for_the_history_and_ocds(runner, accounts_file, fast_hashing):
    from contracts.register.models import Amendment

    result = runner.invoke(args=["demo", "seed", "--contracts", "400"])
    assert result.exit_code == 0, result.output
    amendments = Session.scalars(select(Amendment)).all()
    assert 10 <= len(amendments) <= 80  # about one in twelve of the started contracts
    for amendment in amendments:
        contract = amendment.contract
        assert contract.signed_on is not None
        assert contract.start_date <= amendment.amended_on <= TODAY


def test_demo_seed_shows_the_follow_up_method_at_work(runner, accounts_file, fast_hashing):
    from followup import services as followup_services
    from followup.models import (
        CRITICAL,
        Activity,
        ActivityStatus,
        CategoryAssessment,
        Deviation,
        FollowUpPlan,
    )

    result = runner.invoke(args=["demo", "seed", "--contracts", "400"])
    assert result.exit_code == 0, result.output
    assert "planned contracts" in result.output
    assert _count(CategoryAssessment) == 10
    levels = followup_services.criticality_by_category()
    plans = Session.scalars(select(FollowUpPlan)).all()
    assert plans
    # Plans for the critical categories only, each from the default template.
    assert {levels[p.contract.category_id] for p in plans} == {int(CRITICAL)}
    assert {p.template.family for p in plans} == {followup_services.DEFAULT_FAMILY}
    activities = Session.scalars(select(Activity)).all()
    done = [a for a in activities if a.status == ActivityStatus.DONE]
    overdue = [a for a in activities if a.is_overdue(TODAY)]
    assert done and overdue
    assert all(a.completed_at is not None and a.due_date < TODAY for a in done)
    assert _count(Deviation) >= 1
    # Running it again plans no contract twice.
    again = runner.invoke(args=["demo", "seed", "--contracts", "10"])
    assert again.exit_code == 0, again.output
    contract_ids = Session.scalars(select(FollowUpPlan.contract_id)).all()
    assert len(contract_ids) == len(set(contract_ids))
