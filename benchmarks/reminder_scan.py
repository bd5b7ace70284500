"""Benchmark: the daily reminder scan over 100 000 contracts and about 500 000 activities.

Seeds a fresh database (SQLite, and PostgreSQL when BENCH_POSTGRES_URL or
TEST_DATABASE_URL is set) with the demo register, assesses the categories and builds
plans for every contract (dated two months back, so some activities are overdue),
then times one run of the reminder job and counts its SQL statements, next to the bare
grouped query that finds the same due rows. Target: under 3 s on each engine, with a
statement count that does not grow with the number of contracts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = 3.0


def measure(url: str, contracts: int) -> dict[str, float | int]:
    from alembic import command
    from sqlalchemy import event, func, select

    from contracts.clock import today
    from contracts.db import Session
    from contracts.dbcli import alembic_config, analyze
    from contracts.demo import seed
    from contracts.register.models import Contract
    from followup import services
    from followup.demo import assess_demo_categories
    from followup.models import Activity, ActivityStatus
    from jobs import reminders
    from jobs.models import OutboxMessage, Reminder
    from wsgi import create_app

    app = create_app({"DATABASE_URL": url, "MAIL_SERVER": ""})
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        start = time.perf_counter()
        seed(contracts, max(contracts // 5, 40), extras=False)
        assess_demo_categories(random.Random(1), today())
        ids = Session.scalars(select(Contract.id).where(Contract.deleted_at.is_(None))).all()
        services.build_plans(ids, services.default_template(), today() - timedelta(days=60), None)
        Session.commit()
        analyze()
        activities = Session.scalar(select(func.count()).select_from(Activity))
        print(f"  seeded {contracts} contracts, {activities} activities in "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr)  # fmt: skip

        day = today()
        start = time.perf_counter()
        bare = Session.execute(
            select(Activity.contract_id, func.count())
            .where(Activity.status == ActivityStatus.OPEN,
                   Activity.due_date <= day + timedelta(days=7))
            .group_by(Activity.contract_id)
        ).all()  # fmt: skip
        bare_s = time.perf_counter() - start
        Session.remove()

        statements = 0

        def count(*_args, **_kwargs):
            nonlocal statements
            statements += 1

        # The job runs every day: yesterday's run has decided what was due then, so today's
        # run decides only what is new today (the first run ever also catches up).
        first_start = time.perf_counter()
        reminders.run(day - timedelta(days=1))
        first = time.perf_counter() - first_start
        Session.remove()
        engine = app.extensions["engine"]
        event.listen(engine, "before_cursor_execute", count)
        start = time.perf_counter()
        result = reminders.run(day)
        elapsed = time.perf_counter() - start
        event.remove(engine, "before_cursor_execute", count)
        second_start = time.perf_counter()
        reminders.run(day)
        second = time.perf_counter() - second_start
        made = Session.scalar(select(func.count()).select_from(Reminder))
        messages = Session.scalar(select(func.count()).select_from(OutboxMessage))
        Session.remove()
    engine.dispose()
    return {
        "seconds": elapsed,
        "first_run": first,
        "second_run": second,
        "statements": statements,
        "bare": bare_s,
        "bare_rows": len(bare),
        "reminders": made,
        "messages": messages,
        "due": result["due"],
        "activities": activities,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=100_000)
    args = parser.parse_args()
    from contracts.dbcli import scratch_postgresql_database

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = measure(f"sqlite:///{Path(tmp) / 'reminders.db'}", args.contracts)
    server = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_DATABASE_URL")
    if server:
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(scratch_postgresql_database(server, "kr_bench"))
            results["postgresql"] = measure(url, args.contracts)

    print()
    print(f"Reminder scan ({args.contracts} contracts)")
    print(f"{'engine':<11} {'activities':>10} {'due':>7} {'messages':>8} {'first s':>8} "
          f"{'daily s':>8} {'statements':>10} {'again s':>8} {'bare SQL s':>10}")  # fmt: skip
    for engine, r in results.items():
        print(f"{engine:<11} {r['activities']:>10} {r['due']:>7} {r['messages']:>8} "
              f"{r['first_run']:>8.2f} {r['seconds']:>8.2f} {r['statements']:>10} "
              f"{r['second_run']:>8.2f} {r['bare']:>10.3f}")  # fmt: skip
    print(
        "first: the first run ever (inserts every reminder due); daily: the next day's run;"
        " again: the same day once more"
    )
    slow = [e for e, r in results.items() if r["seconds"] > TARGET_S]  # the daily run
    print(
        f"target: <= {TARGET_S:.0f} s per engine ({'SLOW: ' + ', '.join(slow) if slow else 'ok'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
