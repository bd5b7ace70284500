"""Benchmark the contract list (/contracts) on SQLite and PostgreSQL.

Run from the repository root::

    .venv/bin/python benchmarks/contract_list.py [--engines sqlite,postgresql]
        [--contracts 100000] [--suppliers 20000] [--repeat 30] [--explain]

For each engine it creates a fresh database (a temporary SQLite file, or a
``kr_bench_<random>`` PostgreSQL database that is dropped again even on error), upgrades
it with Alembic, seeds it with ``contracts.demo.seed`` (timed), logs a test client in and
measures a set of list requests three ways:

* app  -- a GET through Flask's test client: routing, login, the ORM, the template;
* orm  -- ``fetch_page()`` on ``visible_contracts()`` through the ORM session, no HTTP;
* bare -- the very COUNT and page SELECT statements the app sent for the request
  (captured from the engine), replayed on a raw DB-API cursor with ``fetchall()``;
  bare time = COUNT time + page time.

The three are timed in interleaved rounds after a warm-up, so that load from other
processes (the machine has two cores) hits them alike; the load average is printed too.

Targets: p95 <= 50 ms per list request, and app <= 3x bare (the ratio only means much
where bare is above a few milliseconds). The script prints a report and exits 0 unless
something fails (a non-200 response, a wrong result count, a database error).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import html
import math
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, text  # noqa: E402

TODAY = date(2026, 3, 2)  # fixed so statuses (and so the result counts) are reproducible
PAGE_SIZE = 50
P95_TARGET_MS = 50.0
RATIO_TARGET = 3.0
RATIO_MIN_BARE_MS = 5.0  # below this a ratio says more about Flask's floor than the query
SEED_TARGET_S = 60.0
EXPLAIN_BARE_MS = 10.0  # --explain prints the plans of cases slower than this (or the target)
PASSWORD = "bench-password-123"  # noqa: S105  (a throwaway user in a throwaway database)
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NEXT_LINK = re.compile(
    r'<a[^>]*\brel="next"[^>]*\bhref="([^"]+)"|<a[^>]*\bhref="([^"]+)"[^>]*\brel="next"'
)
RESULT_COUNT = re.compile(r'id="result-count"[^>]*>\s*([\d\s\u00a0\u202f.,]+)')
ROW = re.compile(r'href="/contracts/\d+"')


# --- small helpers -------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def ms(fn: Callable[[], Any]) -> float:
    """Wall time of one call in milliseconds."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class SqlRecorder:
    """Captures the statements an engine sends while active (before_cursor_execute)."""

    def __init__(self, engine) -> None:
        self.active = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.active:
            self.statements.append((statement, parameters))

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[tuple[str, Any]]]:
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


# --- databases -----------------------------------------------------------------------


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="kr_bench_") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


@contextlib.contextmanager
def postgresql_database(base_url: str) -> Iterator[str]:
    from contracts.dbcli import scratch_postgresql_database

    with scratch_postgresql_database(base_url, "kr_bench") as url:
        yield url
    log("[postgresql] dropped the benchmark database")


# --- cases ---------------------------------------------------------------------------


@dataclass
class Case:
    key: str
    label: str
    params: dict[str, str]
    deep_pages: int = 0  # follow this many "next" links from the first page


@dataclass
class Result:
    engine: str
    case: Case
    total: int
    rows: int
    queries: int
    app: list[float]
    orm: list[float]
    bare: list[float]
    bare_count: list[float]
    bare_page: list[float]
    html_kb: float

    def ratio(self) -> float:
        return median(self.app) / median(self.bare) if median(self.bare) > 0 else float("inf")


def build_cases(fixture: dict[str, Any], deep_pages: int) -> list[Case]:
    return [
        Case("a_first_page", "first page, no filter", {}),
        Case(
            "b_common_status",
            "q=renhold status=active sort=end",
            {"q": "renhold", "status": "active", "sort": "end"},
        ),
        Case(
            "b_common_unit",
            f"q=renhold unit={fixture['unit_id']} sort=end",
            {"q": "renhold", "unit": str(fixture["unit_id"]), "sort": "end"},
        ),
        Case(
            "c_org_number", f"q={fixture['org_number']} (org number)", {"q": fixture["org_number"]}
        ),
        Case("c_ost", "q=øst", {"q": "øst"}),
        Case(
            "c_three_terms",
            f"q={fixture['three_terms']}",
            {"q": fixture["three_terms"]},
        ),
        Case("c_short_term", "q=ås (2 chars: word prefix)", {"q": "ås"}),
        Case(
            "f_status_active",
            "status=active sort=end, no search",
            {"status": "active", "sort": "end"},
        ),
        Case("d_deep_page", f"page {deep_pages + 1} via next links", {}, deep_pages=deep_pages),
        Case("e_supplier_desc", "sort=supplier dir=desc", {"sort": "supplier", "dir": "desc"}),
    ]


# --- one engine ----------------------------------------------------------------------


class Bench:
    def __init__(self, engine_name: str, url: str, args: argparse.Namespace) -> None:
        self.engine_name = engine_name
        self.url = url
        self.args = args
        self.notes: list[str] = []
        self.replayed: dict[str, tuple[tuple[str, Any] | None, tuple[str, Any]]] = {}
        self.plans: dict[str, str] = {}
        self.analyze_seconds: float | None = None

    # setup ------------------------------------------------------------------------

    def setup(self) -> None:
        from alembic import command

        from contracts.dbcli import alembic_config
        from wsgi import create_app

        start = time.perf_counter()
        command.upgrade(alembic_config(self.url), "head")
        log(f"[{self.engine_name}] migrated in {time.perf_counter() - start:.1f} s")

        self.instance = tempfile.TemporaryDirectory(prefix="kr_bench_instance_")
        self.app = create_app(
            {
                "DATABASE_URL": self.url,
                "SECRET_KEY": "bench",
                "WTF_CSRF_ENABLED": False,
                "TESTING": True,
                "FIXED_TODAY": TODAY,
            }
        )
        self.app.instance_path = self.instance.name
        self.engine = self.app.extensions["engine"]
        self.recorder = SqlRecorder(self.engine)

    def seed(self) -> None:
        from contracts.auth.models import Role
        from contracts.auth.services import create_user
        from contracts.db import Session
        from contracts.demo import seed

        with self.app.app_context():
            start = time.perf_counter()
            made = seed(self.args.contracts, self.args.suppliers)
            Session.commit()
            self.seed_seconds = time.perf_counter() - start
            self.seeded = made
            user = create_user(
                email="bench@example.no", name="Bench", role=Role.PROCUREMENT, password=PASSWORD
            )
            Session.commit()
            self.user_id = user.id
            Session.remove()
        gc.collect()
        log(
            f"[{self.engine_name}] seeded {made['contracts']} contracts, "
            f"{made['suppliers']} suppliers in {self.seed_seconds:.1f} s"
        )
        if self.engine_name == "postgresql":
            # autovacuum vacuums and analyses a freshly loaded table within a minute or so
            # (autovacuum_vacuum_insert_threshold); do it now so the plans, and the
            # visibility map behind index-only scans, are the ones production settles on.
            start = time.perf_counter()
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            self.analyze_seconds = time.perf_counter() - start
        else:
            # `flask demo seed` and `flask db upgrade` run ANALYZE; without statistics
            # SQLite's planner sorts all contracts for sort=supplier.
            start = time.perf_counter()
            with self.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
            self.analyze_seconds = time.perf_counter() - start

    def fixture(self) -> dict[str, Any]:
        """Ids and terms for the cases, read from the seeded data."""
        from contracts.db import Session
        from contracts.parties.models import Supplier, Unit
        from contracts.register.models import Contract

        with self.app.app_context():
            unit_id = Session.scalar(select(Unit.id).where(Unit.name == "Teknisk"))
            middle = (Session.scalar(select(func.max(Contract.id))) or 1) // 2
            org_number = Session.scalar(
                select(Supplier.org_number)
                .join(Contract, Contract.supplier_id == Supplier.id)
                .where(Contract.id >= middle)
                .order_by(Contract.id)
                .limit(1)
            )
            Session.remove()
        return {"unit_id": unit_id, "org_number": org_number, "three_terms": "sæther vakt røros"}

    def login(self):
        client = self.app.test_client()
        response = client.post("/login", data={"email": "bench@example.no", "password": PASSWORD})
        if response.status_code != 302:
            raise RuntimeError(f"login failed: HTTP {response.status_code}")
        check = client.get("/contracts")
        if check.status_code != 200:
            raise RuntimeError(f"/contracts after login: HTTP {check.status_code}")
        return client

    # measuring --------------------------------------------------------------------

    def get(self, client, path: str, params: dict[str, str]):
        response = client.get(path, query_string=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: HTTP {response.status_code}")
        return response

    def walk(self, client, case: Case) -> tuple[str, dict[str, str]]:
        """Follow the rel=next links case.deep_pages times; return the last URL."""
        path, params = "/contracts", dict(case.params)
        start = time.perf_counter()
        for _ in range(case.deep_pages):
            body = self.get(client, path, params).get_data(as_text=True)
            match = NEXT_LINK.search(body)
            if not match:
                raise RuntimeError("no rel=next link before the deep page was reached")
            parts = urlsplit(html.unescape(match.group(1) or match.group(2)))
            path, params = parts.path, dict(parse_qsl(parts.query))
        per_page = (time.perf_counter() - start) * 1000 / max(case.deep_pages, 1)
        self.notes.append(
            f"{case.key}: walking {case.deep_pages} next links took {per_page:.1f} ms/page"
        )
        return path, params

    def replay(self, raw, statement: tuple[str, Any]) -> list[Any]:
        """Execute a captured (sql, parameters) on a raw DB-API connection; all rows."""
        cursor = raw.cursor()
        cursor.execute(*statement)
        rows = cursor.fetchall()
        cursor.close()
        if self.engine_name == "postgresql":
            raw.rollback()  # end the transaction psycopg opened, as a request would
        return rows

    def run_case(self, client, case: Case) -> Result:
        path, params = "/contracts", dict(case.params)
        if case.deep_pages:
            path, params = self.walk(client, case)

        # One request with the SQL recorder on: checks and the statements to replay.
        with self.recorder.capture() as statements:
            body = self.get(client, path, params).get_data(as_text=True)
        count_sql = [s for s in statements if re.match(r"\s*SELECT count\(", s[0], re.I)]
        page_sql = [
            s
            for s in statements
            if re.search(r"\bFROM contracts\b", s[0])
            and re.search(r"\bLIMIT\b", s[0])
            and not re.match(r"\s*SELECT count\(", s[0], re.I)
        ]
        if len(count_sql) > 1 or len(page_sql) != 1:
            raise RuntimeError(
                f"{case.key}: expected at most one COUNT and one page SELECT, got "
                f"{len(count_sql)} and {len(page_sql)} of {len(statements)} statements"
            )
        match = RESULT_COUNT.search(body)
        shown = int(re.sub(r"\D", "", match.group(1))) if match else None
        rows_shown = len(ROW.findall(body))

        # "bare": the COUNT (should the app stop sending one, only the page) + page SELECT,
        # replayed on one raw connection held for the whole case.
        self.replayed[case.key] = (count_sql[0] if count_sql else None, page_sql[0])
        count_stmt, page_stmt = self.replayed[case.key]
        raw = self.engine.raw_connection()
        try:
            page_rows = self.replay(raw, page_stmt)
            total = self.replay(raw, count_stmt)[0][0] if count_stmt else shown
            if shown != total:
                raise RuntimeError(f"{case.key}: page shows count {shown}, COUNT says {total}")
            expected_rows = min(PAGE_SIZE, max(0, total - case.deep_pages * PAGE_SIZE))
            if rows_shown != expected_rows or len(page_rows) < expected_rows:
                raise RuntimeError(
                    f"{case.key}: {rows_shown} rows on the page, expected {expected_rows}"
                )
            orm = self.orm_timer(case, path, params, total)

            # Interleaved rounds, so load from elsewhere on the machine hits all alike.
            samples: dict[str, list[float]] = {"app": [], "orm": [], "count": [], "page": []}
            for round_no in range(self.args.warmup + self.args.repeat):
                sample = {
                    "app": ms(lambda: self.get(client, path, params)),
                    "orm": orm(),
                    "count": ms(lambda: self.replay(raw, count_stmt)) if count_stmt else 0.0,
                    "page": ms(lambda: self.replay(raw, page_stmt)),
                }
                if round_no >= self.args.warmup:
                    for key, value in sample.items():
                        samples[key].append(value)
        finally:
            raw.close()
        bare = [c + p for c, p in zip(samples["count"], samples["page"], strict=True)]
        return Result(
            engine=self.engine_name,
            case=case,
            total=total,
            rows=rows_shown,
            queries=len(statements),
            app=samples["app"],
            orm=samples["orm"],
            bare=bare,
            bare_count=samples["count"],
            bare_page=samples["page"],
            html_kb=len(body.encode()) / 1024,
        )

    def orm_timer(self, case: Case, path: str, params: dict[str, str], total: int):
        """A function timing fetch_page() through the ORM session, outside HTTP."""
        from contracts.auth.models import User
        from contracts.db import Session
        from contracts.register import services
        from contracts.register.search import fetch_page
        from contracts.register.views import _query_from_args

        with self.app.test_request_context(path, query_string=params):
            cq = _query_from_args()  # the query string parsed by the view's own code

        def orm() -> float:
            with self.app.app_context():  # popping it removes the session, as a request does
                start = time.perf_counter()
                user = Session.get(User, self.user_id)
                page = fetch_page(services.visible_contracts(user), cq, PAGE_SIZE, TODAY)
                elapsed = (time.perf_counter() - start) * 1000
            if page.total != total:
                raise RuntimeError(f"{case.key}: fetch_page total {page.total} != {total}")
            return elapsed

        return orm

    def explain(self, result: Result) -> str:
        """The plans of the COUNT and page statements of a case."""
        out = []
        for label, statement in zip(("COUNT", "page"), self.replayed[result.case.key], strict=True):
            if statement is None:
                continue
            sql, parameters = statement
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                if self.engine_name == "sqlite":
                    cursor.execute("EXPLAIN QUERY PLAN " + sql, parameters)
                    lines = self._sqlite_plan(cursor.fetchall())
                else:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, parameters)
                    lines = [r[0] for r in cursor.fetchall()]
                    raw.rollback()
                cursor.close()
            finally:
                raw.close()
            out.append(f"  -- {label}:")
            out.extend(f"     {line}" for line in lines)
        return "\n".join(out)

    @staticmethod
    def _sqlite_plan(rows: list[tuple]) -> list[str]:
        """EXPLAIN QUERY PLAN rows (id, parent, notused, detail) as an indented tree."""
        depth = {0: -1}
        lines = []
        for node_id, parent, _notused, detail in rows:
            depth[node_id] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node_id] + detail)
        return lines

    def run(self) -> list[Result]:
        self.setup()
        self.seed()
        fixture = self.fixture()
        client = self.login()
        results = []
        # Never deeper than the data goes (small --contracts runs).
        deep_pages = min(self.args.deep_pages, max(0, (self.seeded["contracts"] - 1) // PAGE_SIZE))
        for case in build_cases(fixture, deep_pages):
            log(f"[{self.engine_name}] {case.key}: {case.label}")
            results.append(self.run_case(client, case))
        if self.args.explain:
            for result in results:
                slow = p95(result.app) > P95_TARGET_MS or median(result.bare) > EXPLAIN_BARE_MS
                if slow or self.args.explain == "all":
                    self.plans[result.case.key] = self.explain(result)
        return results

    def close(self) -> None:
        from contracts.db import Session

        Session.remove()
        if hasattr(self, "engine"):
            self.engine.dispose()
        if hasattr(self, "instance"):
            self.instance.cleanup()


# --- report --------------------------------------------------------------------------


def fmt(ms: float) -> str:
    return f"{ms:8.1f}"


def print_report(benches: list[tuple[Bench, list[Result]]], args: argparse.Namespace) -> None:
    print()
    print(
        f"Contract list benchmark: {args.contracts} contracts, {args.suppliers} suppliers, "
        f"{args.repeat} timed runs after {args.warmup} warm-up runs per case; "
        f"page size {PAGE_SIZE}; today fixed at {TODAY}."
    )
    print(
        f"Targets: p95 <= {P95_TARGET_MS:.0f} ms per list request; app <= {RATIO_TARGET:.0f}x bare "
        f"(ratio judged only where bare median >= {RATIO_MIN_BARE_MS:.0f} ms)."
    )
    load_start, load_end = args.load_start, os.getloadavg()[0]
    print(
        f"Load average (1 min) at start {load_start:.2f}, at end {load_end:.2f}, on "
        f"{os.cpu_count()} CPUs: anything well above 1 means other processes shared the CPU "
        "and the timings are inflated."
    )
    print()
    print("Seed (contracts.demo.seed + commit):")
    for bench, _results in benches:
        extra = (
            f"; {'VACUUM ' if bench.engine_name == 'postgresql' else ''}ANALYZE "
            f"{bench.analyze_seconds:.1f} s"
            if bench.analyze_seconds is not None
            else ""
        )
        verdict = "ok" if bench.seed_seconds <= SEED_TARGET_S else "SLOW"
        print(
            f"  {bench.engine_name:<10} {bench.seeded['contracts']:>7} contracts  "
            f"{bench.seed_seconds:6.1f} s  (target ~{SEED_TARGET_S:.0f} s: {verdict}){extra}"
        )
    print()
    header = (
        f"{'engine':<10} {'case':<16} {'app med':>8} {'app p95':>8} {'bare med':>8} "
        f"{'bare p95':>8} {'app/bare':>8}  {'p95<=50':<7} {'<=3x':<6}"
    )
    print(header)
    print("-" * len(header))
    for _bench, results in benches:
        for r in results:
            ok_p95 = "yes" if p95(r.app) <= P95_TARGET_MS else "NO"
            if median(r.bare) < RATIO_MIN_BARE_MS:
                ok_ratio = "n/a"
            else:
                ok_ratio = "yes" if r.ratio() <= RATIO_TARGET else "NO"
            print(
                f"{r.engine:<10} {r.case.key:<16} {fmt(median(r.app))} {fmt(p95(r.app))} "
                f"{fmt(median(r.bare))} {fmt(p95(r.bare))} {r.ratio():8.1f}  "
                f"{ok_p95:<7} {ok_ratio:<6}"
            )
    print()
    print("Detail (medians, ms): bare = count + page statements replayed on a raw cursor;")
    print("orm = fetch_page() through the session without HTTP; queries = SQL per request.")
    header = (
        f"{'engine':<10} {'case':<16} {'total':>7} {'rows':>4} {'bare cnt':>8} "
        f"{'bare pg':>8} {'orm':>8} {'app':>8} {'queries':>7} {'html kB':>7}  request"
    )
    print(header)
    print("-" * len(header))
    for _bench, results in benches:
        for r in results:
            print(
                f"{r.engine:<10} {r.case.key:<16} {r.total:>7} {r.rows:>4} "
                f"{fmt(median(r.bare_count))} {fmt(median(r.bare_page))} {fmt(median(r.orm))} "
                f"{fmt(median(r.app))} {r.queries:>7} {r.html_kb:>7.0f}  {r.case.label}"
            )
    for bench, _results in benches:
        for note in bench.notes:
            print(f"  [{bench.engine_name}] {note}")
    for bench, _results in benches:
        for key, plan in bench.plans.items():
            print()
            print(f"Plan: {bench.engine_name} {key}")
            print(plan)
    print()
    print(f"Peak RSS of this process: {peak_rss_mb():.0f} MB")


# --- main ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--suppliers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--deep-pages", type=int, default=99, help="next links to follow (99 reaches page 100)"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL),
        help="a PostgreSQL server URL; a fresh kr_bench_* database is created on it",
    )
    parser.add_argument(
        "--explain",
        nargs="?",
        const="slow",
        choices=("slow", "all"),
        help="print query plans (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE) of slow cases, or all",
    )
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engines) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown engines: {', '.join(sorted(unknown))}")
    if min(args.suppliers, args.contracts, args.repeat) < 1 or args.warmup < 0:
        parser.error("--contracts, --suppliers and --repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.load_start = os.getloadavg()[0]
    benches: list[tuple[Bench, list[Result]]] = []
    for engine_name in args.engines:
        database = (
            sqlite_database() if engine_name == "sqlite" else postgresql_database(args.pg_url)
        )
        with database as url:
            bench = Bench(engine_name, url, args)
            try:
                results = bench.run()
            finally:
                bench.close()
        benches.append((bench, results))
        gc.collect()
    print_report(benches, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
