"""Benchmark: build follow-up plans for 10 000 contracts from the default template.

Seeds a fresh SQLite database with the demo register (default 10 000 contracts), then
builds a plan for every contract without one in one transaction, counting the SQL
statements. The issue's target: under 30 s, with a fixed number of statements per batch
(not per contract). Prints a table and exits 0.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=10_000)
    args = parser.parse_args()

    from alembic import command
    from sqlalchemy import event, func, select

    from contracts.clock import today
    from contracts.db import Session
    from contracts.dbcli import alembic_config
    from contracts.demo import seed
    from contracts.register.models import Contract
    from followup import services
    from followup.demo import assess_demo_categories
    from followup.models import Activity, FollowUpPlan
    from wsgi import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{Path(tmp) / 'plans.db'}"})
        with app.app_context():
            command.upgrade(alembic_config(), "head")
            seed(args.contracts, max(args.contracts // 5, 40), extras=False)
            # The demo's assessments, so the critical categories get their quarterly rules.
            assess_demo_categories(random.Random(1), today())
            Session.commit()
            Session.execute(FollowUpPlan.__table__.delete())
            Session.commit()
            ids = Session.scalars(
                services.contracts_without_plan(select(Contract.id)).where(
                    Contract.deleted_at.is_(None)
                )
            ).all()
            template = services.default_template()
            statements = 0

            def count(*_args, **_kwargs):
                nonlocal statements
                statements += 1

            engine = app.extensions["engine"]
            event.listen(engine, "before_cursor_execute", count)
            start = time.perf_counter()
            result = services.build_plans(ids, template, today(), None)
            Session.commit()
            elapsed = time.perf_counter() - start
            event.remove(engine, "before_cursor_execute", count)
            plans = Session.scalar(select(func.count()).select_from(FollowUpPlan))
            activities = Session.scalar(select(func.count()).select_from(Activity))
            Session.remove()

    batches = -(-len(ids) // services.BATCH_SIZE)
    print()
    print(f"Follow-up plans from the default template (SQLite, {args.contracts} contracts)")
    print(f"{'plans':>7} {'activities':>11} {'seconds':>8} {'statements':>11} "
          f"{'per batch':>10} {'per contract':>13}")  # fmt: skip
    print(
        f"{plans:>7} {activities:>11} {elapsed:>8.1f} {statements:>11} "
        f"{statements / max(batches, 1):>10.1f} {statements / max(len(ids), 1):>13.3f}"
    )
    print(f"built {result.plans} plans with {result.activities} activities in {batches} batches")
    verdict = "ok" if elapsed <= TARGET_S else "SLOW"
    print(f"target: <= {TARGET_S:.0f} s ({verdict}), a fixed number of statements per batch")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
