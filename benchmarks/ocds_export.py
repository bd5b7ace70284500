"""Benchmark: `flask contracts export-ocds` of a large register, time and peak memory.

Seeds a fresh SQLite database (default 100 000 contracts), then runs the real command in
a child process so its peak RSS is the export's alone. Targets from the issue: under 15 s
and under 150 MB. Prints a table and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TIME_TARGET_S = 15.0
RSS_TARGET_MB = 150.0


def flask(url: str, *args: str) -> float:
    """Run a `flask --app wsgi` command in a child process; return its peak RSS in MB."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    # wait4 reports this child's own peak, not the largest of all children so far.
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed with exit code {child.returncode}")
    return usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--suppliers", type=int, default=20_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ocds.db'}"
        flask(url, "db", "upgrade")
        start = time.perf_counter()
        flask(
            url,
            "demo",
            "seed",
            "--contracts",
            str(args.contracts),
            "--suppliers",
            str(args.suppliers),
        )
        print(
            f"seeded {args.contracts} contracts in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
        output = Path(tmp) / "releases.json"
        start = time.perf_counter()
        peak_mb = flask(url, "contracts", "export-ocds", "-o", str(output))
        elapsed = time.perf_counter() - start
        with output.open(encoding="utf-8") as handle:
            releases = len(json.load(handle)["releases"])
        size_mb = output.stat().st_size / 1e6

    print()
    print("OCDS export (flask contracts export-ocds, SQLite)")
    print(f"{'contracts':>10} {'releases':>9} {'file MB':>8} {'seconds':>8} {'peak RSS MB':>12}")
    print(f"{args.contracts:>10} {releases:>9} {size_mb:>8.1f} {elapsed:>8.1f} {peak_mb:>12.0f}")
    time_ok = "ok" if elapsed <= TIME_TARGET_S else "SLOW"
    rss_ok = "ok" if peak_mb <= RSS_TARGET_MB else "TOO MUCH"
    print(f"targets: <= {TIME_TARGET_S:.0f} s ({time_ok}), <= {RSS_TARGET_MB:.0f} MB ({rss_ok})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
