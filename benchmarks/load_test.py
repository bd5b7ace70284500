"""Load test: 50 users for 60 s against gunicorn (2 workers) on PostgreSQL, 100 000 contracts.

Run from the repository root::

    .venv/bin/python benchmarks/load_test.py [--users 50] [--duration 60] [--think 1,3]
        [--contracts 100000] [--keep-db NAME] [--locust-processes N] [--strict-p95]

Steps: create a fresh ``kr_load_<random>`` database on the PostgreSQL server of
``--pg-url`` (default: BENCH_POSTGRES_URL, else TEST_DATABASE_URL, else the local server),
upgrade it with `flask db upgrade`, seed it the way `flask demo seed --contracts 100000`
does (the command itself would write the demo passwords into the shared instance/
folder) and VACUUM ANALYZE it, create the load users through the app's services
(procurement officers and two editors with passwords and API tokens; the demo's contract
owners get passwords), start gunicorn with 2 workers on a free port (with
gunicorn.conf.py when there is one), wait for /healthz and run locust headless with
benchmarks/locustfile.py as a child process. Then it prints throughput, p50/p95/p99 per
kind of request and overall, the errors, where the CPU went, and the lost-update check:
every edit acknowledged to a user must have left its marker in the contract's notes, and
the version of each contract the two editors fought over must have risen by exactly the
number of edits acknowledged on it. Gunicorn is stopped and the database dropped at the
end, also on Ctrl-C or an error (``--keep-db NAME`` keeps and reuses a seeded database).

Target: p95 under 300 ms, no errors, no lost updates. Exit code 1 on an error or a lost
update; a missed p95 target is reported and fails the run only with --strict-p95 (the
machine is shared, and timing noise should not fail `make bench`). Without a reachable
PostgreSQL server it says so and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import json
import os
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent  # the virtualenv's bin/: gunicorn and locust
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
P95_TARGET_MS = 300.0
OFFICERS = 8  # procurement officers' accounts; the locust users take them in turn
OWNERS = 8  # with --owner-contracts
EDITORS = 2
POOL = 5000  # contracts the users open and edit (live, not confidential)
FIXED_TERMS = [
    "renhold",
    "skole",
    "barnehage",
    "sykehjem",
    "vakt",
    "drift",
    "transport",
    "kultur",
    "rådhuset",
    "øst",
    "molde",
    "røros",
    "lisenser",
    "rammeavtale",
    "renhold skole",
    "fjernvarme",
    "ås",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def libpq(url: str) -> str:
    """A SQLAlchemy or libpq URL as a libpq URL (psycopg.connect takes no driver name)."""
    from sqlalchemy.engine import make_url

    from contracts.config import normalise_database_url

    return (
        make_url(normalise_database_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def server_reachable(url: str) -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(libpq(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    return None


# --- the database --------------------------------------------------------------------


@contextlib.contextmanager
def database(server_url: str, keep: str | None) -> Iterator[str]:
    """A fresh database dropped afterwards, or the named one, created when missing, kept."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from contracts.config import normalise_database_url
    from contracts.dbcli import scratch_postgresql_database

    if keep is None:
        with scratch_postgresql_database(server_url, "kr_load") as url:
            log(f"[db] created {make_url(url).database}")
            try:
                yield url
            finally:
                log(f"[db] dropping {make_url(url).database}")
        return
    url = make_url(normalise_database_url(server_url))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": keep})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{keep}"'))
                log(f"[db] created {keep} (kept afterwards: --keep-db)")
            else:
                log(f"[db] reusing {keep}")
    finally:
        admin.dispose()
    yield url.set(database=keep).render_as_string(hide_password=False)


def prepare(url: str, out: Path, args: argparse.Namespace) -> None:
    """Migrate, seed when empty, create the load users; write what locust needs to out."""
    from alembic import command
    from sqlalchemy import func, select, text

    from contracts.api.services import create_token
    from contracts.auth.models import Role, User
    from contracts.auth.services import create_user, find_user_by_email, update_user
    from contracts.db import Session
    from contracts.dbcli import alembic_config, analyze
    from contracts.demo import seed
    from contracts.parties.models import Category, Supplier, Unit
    from contracts.register.models import Contract
    from wsgi import create_app

    contracts, shared = args.contracts, args.shared
    info: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kr_load_instance_") as instance:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "load-test", "MAIL_SERVER": ""})
        app.instance_path = instance
        engine = app.extensions["engine"]
        start = time.perf_counter()
        command.upgrade(alembic_config(url), "head")
        log(f"[prepare] db upgrade in {time.perf_counter() - start:.1f} s")
        with app.app_context():
            if not Session.scalar(select(func.count()).select_from(Contract)):
                # What `flask demo seed --contracts N` does, minus writing the demo accounts'
                # passwords into instance/demo-accounts.txt.
                start = time.perf_counter()
                made = seed(contracts, max(40, contracts // 5))
                Session.commit()
                analyze()
                info["seed_s"] = time.perf_counter() - start
                extras = {k: v for k, v in made.items() if k not in ("passwords",)}
                log(f"[prepare] seeded {extras} in {info['seed_s']:.0f} s")
                # Autovacuum would vacuum the fresh tables a minute into the run; do it now
                # so the run sees the plans (and index-only scans) production settles on.
                start = time.perf_counter()
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
                log(f"[prepare] VACUUM ANALYZE in {time.perf_counter() - start:.0f} s")
            Session.remove()

            def account(
                email: str, name: str, role: Role, token: bool, unit_id: int | None = None
            ) -> dict[str, Any]:
                password = secrets.token_urlsafe(18)
                user = find_user_by_email(email)
                if user is None:
                    user = create_user(
                        email=email, name=name, role=role, password=password, unit_id=unit_id
                    )
                else:
                    update_user(
                        user,
                        email=user.email,
                        name=user.name,
                        role=user.role,
                        unit_id=user.unit_id,
                        is_active=True,
                        password=password,
                    )
                Session.flush()
                row = {"id": user.id, "email": user.email, "password": password}
                if token:
                    row["token"] = create_token(user, "load test")[1]
                return row

            info["officers"] = [
                account(
                    f"last.innkjoper{i}@demo.kommune.no",
                    f"Last Innkjøper {i}",
                    Role.PROCUREMENT,
                    True,
                )
                for i in range(1, OFFICERS + 1)
            ]
            info["editors"] = [
                account(
                    f"last.redaktor{i}@demo.kommune.no",
                    f"Last Redaktør {i}",
                    Role.PROCUREMENT,
                    True,
                )
                for i in range(1, EDITORS + 1)
            ]
            rng = random.Random()
            live = Session.scalars(
                select(Contract.id).where(
                    Contract.deleted_at.is_(None), Contract.is_confidential.is_(False)
                )
            ).all()
            if args.owner_contracts:
                info["owners"] = owner_portfolios(account, live, args.owner_contracts, rng)
            else:  # the demo's owners, each of whom owns about a tenth of the register
                owners = Session.scalars(
                    select(User)
                    .where(User.role == Role.OWNER, User.is_active.is_(True))
                    .where(User.email.not_like("last.%"))  # not those of --owner-contracts
                    .where(select(Contract.id).where(Contract.owner_id == User.id).exists())
                    .order_by(User.id)
                ).all()
                info["owners"] = [account(u.email, u.name, Role.OWNER, False) for u in owners]
            Session.commit()
            fresh = Session.scalars(
                select(Contract.id).where(
                    Contract.deleted_at.is_(None),
                    Contract.is_confidential.is_(False),
                    Contract.notes.is_(None),
                )
            ).all()
            info["shared"] = rng.sample(fresh, shared)
            chosen = set(info["shared"])
            info["contracts"] = [
                i for i in rng.sample(live, min(POOL + shared, len(live))) if i not in chosen
            ]
            info["shared_versions"] = {
                str(cid): version
                for cid, version in Session.execute(
                    select(Contract.id, Contract.version).where(Contract.id.in_(chosen))
                )
            }
            info["units"] = list(Session.scalars(select(Unit.id)))
            info["categories"] = list(Session.scalars(select(Category.id)))
            sample = rng.sample(live, 40)
            refs = Session.scalars(select(Contract.reference).where(Contract.id.in_(sample)))
            suppliers = Session.execute(
                select(Supplier.name, Supplier.org_number).order_by(func.random()).limit(40)
            ).all()
            words = sorted({w for name, _org in suppliers for w in name.split() if len(w) > 3})
            orgs = [org for _name, org in suppliers if org]
            info["terms"] = FIXED_TERMS + list(refs)[:20] + orgs[:20] + words[:20]
            info["supplier_terms"] = words + orgs[:20] + ["as", "renhold", "bygg"]
            info["contracts_total"] = len(live)
            Session.remove()
        engine.dispose()
    out.write_text(json.dumps(info), encoding="utf-8")


def owner_portfolios(account, live: list[int], size: int, rng: random.Random) -> list[dict]:
    """Load owners who own `size` contracts each (taken over from the demo's owners)."""
    from sqlalchemy import func, select, update

    from contracts.auth.models import Role
    from contracts.db import Session
    from contracts.parties.models import Unit
    from contracts.register.models import Contract

    units = list(Session.scalars(select(Unit.id).order_by(Unit.id)))
    owners = []
    for i in range(1, OWNERS + 1):
        row = account(
            f"last.eier{i}@demo.kommune.no",
            f"Last Eier {i}",
            Role.OWNER,
            False,
            units[i % len(units)],
        )
        owned = Session.scalar(
            select(func.count()).select_from(Contract).where(Contract.owner_id == row["id"])
        )
        if not owned:  # test data, set in bulk: no audit events, no version change
            Session.execute(
                update(Contract)
                .where(Contract.id.in_(rng.sample(live, size)))
                .values(owner_id=row["id"])
            )
        owners.append(row)
    return owners


# --- processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, name: str, timeout: float = 40) -> None:
    """SIGTERM (a graceful stop; gunicorn.conf.py gives requests 30 s), then SIGKILL to the
    process group we started it in."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log(f"[{name}] did not stop in {timeout:.0f} s: killing it")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def gunicorn(
    url: str, workers: int, logfile: Path, pg_options: str | None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """gunicorn on a free port with the app on the database; stopped on the way out."""
    port = free_port()
    command = [str(BIN / "gunicorn")]
    if (ROOT / "gunicorn.conf.py").exists():
        command += ["-c", "gunicorn.conf.py"]
    command += ["--workers", str(workers), "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(32),  # the same in both workers
        "MAIL_SERVER": "",
    }
    if pg_options:  # libpq reads PGOPTIONS: settings for the app's connections, e.g. jit=off
        env["PGOPTIONS"] = pg_options
    log(f"[gunicorn] {' '.join(command)}" + (f" (PGOPTIONS={pg_options!r})" if pg_options else ""))
    with logfile.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while healthz(port) != 200:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({process.returncode}):\n{tail(logfile)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"/healthz did not answer in 90 s:\n{tail(logfile)}")
            time.sleep(0.5)
        for _ in range(4):  # let both workers build the app before the clock starts
            healthz(port)
        log(f"[gunicorn] up at {base} (pid {process.pid})")
        yield base, process
    finally:
        stop(process, "gunicorn")
        log("[gunicorn] stopped")


def healthz(port: int) -> int | None:
    """The status of GET /healthz, or None when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- CPU accounting ------------------------------------------------------------------


def cpu_snapshot(gunicorn_pid: int, dbname: str) -> dict[str, Any]:
    """CPU seconds so far of gunicorn's workers, PostgreSQL's processes and the machine."""
    import psutil

    def seconds(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return times.user + times.system

    snap: dict[str, Any] = {"at": time.time(), "procs": {}}
    with contextlib.suppress(psutil.Error):
        master = psutil.Process(gunicorn_pid)
        for proc in [master, *master.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                snap["procs"][proc.pid] = ("gunicorn", seconds(proc), proc.create_time())
    for proc in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["name"] != "postgres" and "postgres" not in (proc.info["name"] or ""):
                continue
            title = " ".join(proc.info["cmdline"] or [])
            kind = "postgres (this db)" if f" {dbname} " in f"{title} " else "postgres (other)"
            snap["procs"][proc.pid] = (kind, seconds(proc), proc.create_time())
    cpu = psutil.cpu_times()
    snap["busy"] = sum(cpu) - cpu.idle - getattr(cpu, "iowait", 0.0)
    snap["total"] = sum(cpu)
    return snap


def cpu_used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """CPU seconds per kind of process between two snapshots."""
    used: dict[str, Any] = defaultdict(float)
    used["workers"] = []
    for pid, (kind, secs, created) in after["procs"].items():
        if pid in before["procs"] and before["procs"][pid][2] == created:
            spent = secs - before["procs"][pid][1]
        elif created >= before["at"] - 1:
            spent = secs  # started during the run
        else:
            continue
        used[kind] += spent
        if kind == "gunicorn" and spent > 0.5:  # a worker (the master does little)
            used["workers"].append(spent)
    used["machine busy"] = after["busy"] - before["busy"]
    used["machine total"] = after["total"] - before["total"]
    return used


# --- what PostgreSQL is busy with ---------------------------------------------------


SELECT_LIST = re.compile(r"^SELECT\s.*?\sFROM\s", re.S)


class SqlSampler:
    """Samples pg_stat_activity for the database's active statements every `every` s: a
    statistical profile of where the database's time goes during the run."""

    def __init__(self, url: str, dbname: str, every: float = 0.05) -> None:
        self.url, self.dbname, self.every = url, dbname, every
        self.samples: Counter[str] = Counter()
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SqlSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(libpq(self.url), autocommit=True) as conn:
            while not self._stop.wait(self.every):
                rows = conn.execute(
                    "SELECT query FROM pg_stat_activity WHERE datname = %s AND state = 'active'"
                    " AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                    (self.dbname,),
                ).fetchall()
                self.rounds += 1
                for (query,) in rows:
                    self.samples[self.shape(query)] += 1

    @staticmethod
    def shape(query: str) -> str:
        """The statement without its select list, on one line, shortened."""
        text = " ".join(query.split())
        shortened = SELECT_LIST.sub("SELECT … FROM ", text, count=1)
        if shortened == text and text.startswith("SELECT "):
            # pg_stat_activity keeps the first 1 kB (track_activity_query_size): a long
            # select list can hide the FROM; its first columns name the table.
            return text[:110] + " …"
        return shortened[:150]

    def report(self, top: int = 8) -> None:
        busy = sum(self.samples.values())
        if not busy:
            return
        print(
            f"What PostgreSQL was busy with ({self.rounds} samples of pg_stat_activity, "
            f"{busy / max(self.rounds, 1):.2f} statements active on average):"
        )
        for shape, count in self.samples.most_common(top):
            print(f"  {100 * count / busy:4.0f}%  {shape}")


# --- locust --------------------------------------------------------------------------


def run_locust(args: argparse.Namespace, base: str, config: Path, workdir: Path) -> dict[str, Any]:
    """Run locust headless as a child process; its CSV prefix, exit code and CPU seconds."""
    prefix = workdir / "locust"
    command = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "benchmarks" / "locustfile.py"),
        "--headless",
        "--users", str(args.users),
        "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{args.duration}s",
        "--host", base,
        "--csv", str(prefix),
        "--only-summary",
        "--stop-timeout", "10",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    if args.locust_processes:
        command += ["--processes", str(args.locust_processes)]
    env = {**os.environ, "LOAD_TEST_CONFIG": str(config)}
    log(f"[locust] {args.users} users (+{args.spawn_rate}/s) for {args.duration} s")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with (workdir / "locust.log").open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        code = process.wait(args.duration + 120)
    finally:
        stop(process, "locust")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "prefix": prefix,
        "code": code,
        "cpu_s": cpu,
        "wall_s": time.monotonic() - started,
        "log": workdir / "locust.log",
    }


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- the lost-update check -----------------------------------------------------------


def check_updates(url: str, info: dict[str, Any], results: Path) -> dict[str, Any]:
    """Every acknowledged marker must be in its contract's notes; versions must add up."""
    from sqlalchemy import create_engine, text

    from contracts.config import normalise_database_url

    acks: list[dict[str, Any]] = []
    conflicts: Counter[tuple[bool, str]] = Counter()
    shared = set(info["shared"])
    if results.exists():
        for line in results.read_text("utf-8").splitlines():
            row = json.loads(line)
            if row["t"] == "ack":
                acks.append(row)
            elif row["t"] == "conflict":
                conflicts[(row["contract"] in shared, row["via"])] += 1
    ids = sorted({a["contract"] for a in acks} | shared)
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, notes, version FROM contracts WHERE id = ANY(:ids)"),
                {"ids": ids},
            ).all()
    finally:
        engine.dispose()
    notes = {r.id: r.notes or "" for r in rows}
    versions = {r.id: r.version for r in rows}
    lost = [a for a in acks if a["marker"] not in notes.get(a["contract"], "")]
    per_shared = Counter(a["contract"] for a in acks if a["contract"] in shared)
    version_gaps = []
    for cid in sorted(shared):
        rose = versions.get(cid, 0) - info["shared_versions"][str(cid)]
        if rose != per_shared[cid]:
            version_gaps.append((cid, rose, per_shared[cid]))
    acked = Counter((a["contract"] in shared, a["via"]) for a in acks)
    return {
        "acks": acked,
        "conflicts": conflicts,
        "lost": lost,
        "version_gaps": version_gaps,
        "per_shared": per_shared,
    }


# --- report --------------------------------------------------------------------------


def number(row: dict[str, str], key: str) -> float:
    try:
        return float(row.get(key) or 0)
    except ValueError:
        return 0.0


def print_report(
    args: argparse.Namespace,
    info: dict[str, Any],
    locust: dict[str, Any],
    updates: dict[str, Any],
    cpu: dict[str, Any],
    load: tuple[float, float],
) -> tuple[bool, bool]:
    """Print the report; returns (errors or lost updates, p95 target met)."""
    stats = read_csv(Path(f"{locust['prefix']}_stats.csv"))
    failures = read_csv(Path(f"{locust['prefix']}_failures.csv"))
    exceptions = read_csv(Path(f"{locust['prefix']}_exceptions.csv"))
    rows = [r for r in stats if r["Name"] != "Aggregated"]
    total = next((r for r in stats if r["Name"] == "Aggregated"), None)

    print()
    print(
        f"Load test: {args.users} users ({EDITORS} of them editors) for {args.duration} s, "
        f"spawn rate {args.spawn_rate}/s, think time {args.think[0]:g}–{args.think[1]:g} s "
        f"(editors {args.editor_think[0]:g}–{args.editor_think[1]:g} s); gunicorn "
        f"{args.workers} workers on PostgreSQL; {info['contracts_total']} visible contracts."
    )
    owners = (
        f"{len(info['owners'])} load owners of {args.owner_contracts} contracts each"
        if args.owner_contracts
        else f"the demo's {len(info['owners'])} owners (each owns or manages ~17% of the register)"
    )
    extra = "".join(
        (
            f"; PGOPTIONS {args.pg_options!r}" if args.pg_options else "",
            f"; left out: {', '.join(args.exclude)}" if args.exclude else "",
        )
    )
    print(f"Owners: {owners}{extra}.")
    print(
        f"Load average (1 min) at start {load[0]:.2f}, at end {load[1]:.2f} on "
        f"{os.cpu_count()} CPUs (other processes on the machine inflate the timings)."
    )
    print()
    header = (
        f"{'request':<24} {'type':<6} {'count':>6} {'fail':>5} {'req/s':>6} "
        f"{'p50':>6} {'p95':>6} {'p99':>6} {'max':>6}  p95<=300"
    )
    print(header)
    print("-" * len(header))

    def line(row: dict[str, str], name: str, kind: str) -> None:
        p95 = number(row, "95%")
        print(
            f"{name:<24} {kind:<6} {int(number(row, 'Request Count')):>6} "
            f"{int(number(row, 'Failure Count')):>5} {number(row, 'Requests/s'):>6.1f} "
            f"{number(row, '50%'):>6.0f} {p95:>6.0f} {number(row, '99%'):>6.0f} "
            f"{number(row, 'Max Response Time'):>6.0f}  {'yes' if p95 <= P95_TARGET_MS else 'NO'}"
        )

    for row in sorted(rows, key=lambda r: (r["Name"].startswith("shared: "), r["Name"])):
        line(row, row["Name"], row["Type"])
    if total is None:
        print("(locust wrote no statistics)")
        print(tail(locust["log"]))
        return True, False
    print("-" * len(header))
    line(total, "all requests", "")
    p95 = number(total, "95%")
    met = p95 <= P95_TARGET_MS
    print("(times in ms; locust rounds times above 100 ms to 10 ms.)")
    print()
    requests = int(number(total, "Request Count"))
    errors = int(number(total, "Failure Count"))
    print(
        f"Throughput: {number(total, 'Requests/s'):.1f} requests/s "
        f"({requests} requests in {args.duration} s)."
    )
    print(
        f"p95 target (<= {P95_TARGET_MS:.0f} ms over all requests): "
        f"{'MET' if met else 'MISSED'} with p95 {p95:.0f} ms (p50 {number(total, '50%'):.0f}, "
        f"p99 {number(total, '99%'):.0f})."
    )
    slow = [r["Name"] for r in rows if number(r, "95%") > P95_TARGET_MS]
    if slow:
        print(f"  Kinds with p95 over the target: {', '.join(slow)}.")
    print()
    print(f"Errors: {errors} of {requests} requests.")
    for row in failures[:8]:
        print(f"  {row['Occurrences']:>5} x {row['Method']} {row['Name']}: {row['Error'][:160]}")
    for row in exceptions[:3]:
        print(f"  exception x{row['Count']}: {row['Message'][:200]}")
    print()
    acks, conflicts = updates["acks"], updates["conflicts"]
    print("Edits (each appends a unique marker to the notes, sent with the version it read):")
    for shared, label in ((True, "2 editors, same contracts"), (False, "other users")):
        print(
            f"  {label:<26} acknowledged web {acks[(shared, 'web')]:>4}, api "
            f"{acks[(shared, 'api')]:>4}; conflicts (409, re-read and retried) web "
            f"{conflicts[(shared, 'web')]:>4}, api {conflicts[(shared, 'api')]:>4}"
        )
    print(
        f"  shared contracts {', '.join(map(str, sorted(info['shared'])))}: edits acknowledged "
        + ", ".join(str(updates["per_shared"][c]) for c in sorted(info["shared"]))
    )
    lost, gaps = updates["lost"], updates["version_gaps"]
    print(
        f"Lost updates: {len(lost)} (acknowledged markers missing from the database); "
        f"version check on the shared contracts: {'ok' if not gaps else 'MISMATCH'}."
    )
    for ack in lost[:10]:
        print(f"  missing {ack['marker']} on contract {ack['contract']} (saved via {ack['via']})")
    for cid, rose, acked in gaps:
        print(f"  contract {cid}: version rose by {rose}, edits acknowledged {acked}")
    print()
    total_cpu = cpu.get("machine total", 0.0) or 1.0
    ncpu = os.cpu_count() or 1

    def share(secs: float) -> str:
        return f"{100 * secs / total_cpu * ncpu:5.0f}% ({secs:5.1f} s)"

    print(
        f"CPU during the run (of {ncpu * 100}%): locust {share(locust['cpu_s'])}, gunicorn "
        f"{share(cpu.get('gunicorn', 0))}, PostgreSQL for this database "
        f"{share(cpu.get('postgres (this db)', 0))}, other PostgreSQL "
        f"{share(cpu.get('postgres (other)', 0))}; the whole machine busy "
        f"{share(cpu.get('machine busy', 0))}."
    )
    workers = " + ".join(share(w).split("(")[0].strip() for w in sorted(cpu["workers"]))
    mode = f"--processes {args.locust_processes}" if args.locust_processes else "one process"
    print(
        f"  (gunicorn's workers: {workers}; one worker uses at most one core, its threads share "
        f"the GIL. Locust ran as {mode}, on the same cores.)"
    )
    bad = errors > 0 or bool(exceptions) or bool(lost) or bool(gaps) or locust["code"] not in (0, 1)
    return bad, met


# --- main ----------------------------------------------------------------------------


def pair(text: str) -> tuple[float, float]:
    low, _sep, high = text.partition(",")
    return float(low), float(high or low)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_POSTGRES_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or DEFAULT_PG_URL,
        help="a PostgreSQL server URL; the load test makes its own database on it",
    )
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--think", type=pair, default=(1.0, 3.0), help="MIN,MAX seconds")
    parser.add_argument("--editor-think", type=pair, default=(0.05, 0.3), help="MIN,MAX s")
    parser.add_argument("--shared", type=int, default=5, help="contracts the editors share")
    parser.add_argument(
        "--owner-contracts",
        type=int,
        default=0,
        metavar="N",
        help="log the owners in as 8 new owners of N contracts each, instead of the demo's "
        "owners (each of whom owns or manages about 17 000 of 100 000 contracts)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--pg-options",
        metavar="OPTS",
        help="PGOPTIONS for gunicorn's database connections, e.g. '-c jit=off'",
    )
    parser.add_argument(
        "--exclude",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=[],
        metavar="KINDS",
        help="request kinds to leave out of the mix, e.g. 'my follow-up' (a diagnosis: what "
        "the rest does without them)",
    )
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="keep each user's connection open (default: one per request, as from nginx)",
    )
    parser.add_argument("--locust-processes", type=int, default=0, help="locust --processes")
    parser.add_argument("--keep-db", metavar="NAME", help="reuse (or create) and keep NAME")
    parser.add_argument("--keep-files", metavar="DIR", help="keep locust's CSVs and logs in DIR")
    parser.add_argument("--strict-p95", action="store_true", help="fail when p95 > 300 ms")
    parser.add_argument("--prepare", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--prepare-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.prepare:  # the child process that seeds (so the driver stays small)
        prepare(args.prepare, args.prepare_out, args)
        return 0
    problem = server_reachable(args.pg_url)
    if problem:
        print(
            f"Load test skipped: PostgreSQL is not reachable at {args.pg_url} ({problem}). "
            "Set TEST_DATABASE_URL (or --pg-url) to a server to run it."
        )
        return 0
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with `&`
    with contextlib.ExitStack() as stack:
        if args.keep_files:
            workdir = Path(args.keep_files)
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kr_load_")))
        try:
            url = stack.enter_context(database(args.pg_url, args.keep_db))
            start = time.perf_counter()
            info_path = workdir / "prepared.json"
            subprocess.run(  # noqa: S603 - this script, in a child process
                [sys.executable, __file__, "--prepare", url, "--prepare-out", str(info_path),
                 "--contracts", str(args.contracts), "--shared", str(args.shared),
                 "--owner-contracts", str(args.owner_contracts)],
                cwd=ROOT, check=True,
            )  # fmt: skip
            log(f"[prepare] ready in {time.perf_counter() - start:.0f} s")
            info = json.loads(info_path.read_text("utf-8"))
            results = workdir / "edits.jsonl"
            results.write_text("")
            config = workdir / "locust.json"
            config.write_text(
                json.dumps(
                    {
                        **info,
                        "run_id": secrets.token_hex(3),
                        "results_path": str(results),
                        "think": args.think,
                        "editor_think": args.editor_think,
                        "exclude": args.exclude,
                        "close_connections": not args.keep_alive,
                    }
                ),
                encoding="utf-8",
            )
            base, server = stack.enter_context(
                gunicorn(url, args.workers, workdir / "gunicorn.log", args.pg_options)
            )
            from sqlalchemy.engine import make_url

            dbname = make_url(url).database or ""
            load_start = os.getloadavg()[0]
            cpu_before = cpu_snapshot(server.pid, dbname)
            with SqlSampler(url, dbname) as sampler:
                locust = run_locust(args, base, config, workdir)
            cpu_after = cpu_snapshot(server.pid, dbname)
            load_end = os.getloadavg()[0]
            updates = check_updates(url, info, results)
            bad, met = print_report(
                args,
                info,
                locust,
                updates,
                cpu_used(cpu_before, cpu_after),
                (load_start, load_end),
            )
            print()
            sampler.report()
            if bad and "Traceback" in tail(workdir / "gunicorn.log", 400):
                print("\nThe end of gunicorn's log:")
                print(tail(workdir / "gunicorn.log", 40))
        except KeyboardInterrupt:
            log("interrupted: stopping gunicorn and dropping the database")
            return 130
        except (subprocess.CalledProcessError, RuntimeError) as error:
            log(f"load test failed: {error}")
            return 1
    if bad:
        print("\nFAILED: errors or lost updates (see above).")
        return 1
    if not met and args.strict_p95:
        print(f"\nFAILED: p95 over {P95_TARGET_MS:.0f} ms (--strict-p95).")
        return 1
    print("\nOK: no errors, no lost updates" + ("" if met else " (but the p95 target was missed)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
