"""`flask --app wsgi jobs ...`: list the jobs, run one now, run the scheduler."""

from __future__ import annotations

import json
import logging
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup

from jobs import registry, scheduler

jobs_cli = AppGroup("jobs", help="The clock: scheduled jobs.")

_UNSET = object()


def _when(moment: datetime | None, timezone: tzinfo) -> str:
    return moment.astimezone(timezone).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "never"


@jobs_cli.command("list")
def list_command() -> None:
    """Show each job with its trigger, next run, last success and last error."""
    timezone = ZoneInfo(current_app.config["APP_TIMEZONE"])
    now = datetime.now(timezone)
    runs = registry.last_runs()
    held = "held by a running `jobs run`" if scheduler.clock_held() else "free (no scheduler)"
    click.echo(f"clock: {held}; times in {timezone}")
    for name in sorted(registry.JOBS):
        job = registry.JOBS[name]
        trigger = job.make_trigger(timezone)
        run = runs.get(name)
        click.echo("")
        click.echo(f"{name}  {trigger}  misfire grace {job.misfire_grace_time} s")
        if job.description:
            click.echo(f"  {job.description}")
        click.echo(f"  next run:     {_when(trigger.get_next_fire_time(None, now), timezone)}")
        success = _when(run.last_success_at if run else None, timezone)
        if run and run.last_success_at and run.last_result is not None:
            success += "  " + json.dumps(run.last_result, ensure_ascii=False, sort_keys=True)
        click.echo(f"  last success: {success}")
        error = _when(run.last_error_at if run else None, timezone)
        if run and run.last_error_at and run.last_error:
            error += f"  {run.last_error}"
        click.echo(f"  last error:   {error}")


@jobs_cli.command("run-once")
@click.argument("name")
@click.option(
    "--today",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Run as if it were this day (YYYY-MM-DD). Mail is still sent on the real clock.",
)
def run_once_command(name: str, day: datetime | None) -> None:
    """Run one job now and print its result; exit 1 if it fails."""
    if name not in registry.JOBS:
        names = ", ".join(sorted(registry.JOBS))
        raise click.BadParameter(
            f"no job called {name!r}; the jobs are: {names}", param_hint="NAME"
        )
    app = current_app._get_current_object()
    today = day.date() if day else None
    previous: Any = app.config.get("FIXED_TODAY", _UNSET)
    if today:
        app.config["FIXED_TODAY"] = today  # clock.today() inside the job says the same
    try:
        outcome = registry.run_job(name, today)
    finally:
        if previous is _UNSET:
            app.config.pop("FIXED_TODAY", None)
        else:
            app.config["FIXED_TODAY"] = previous
    click.echo(json.dumps(outcome, indent=2, ensure_ascii=False, sort_keys=True))
    if not outcome["ok"]:
        click.echo(f"job {name} failed: {outcome['error']}", err=True)
        click.get_current_context().exit(1)


@jobs_cli.command("run")
@click.option(
    "--retry",
    "retry_seconds",
    type=click.IntRange(min=1),
    default=scheduler.RETRY_SECONDS,
    show_default=True,
    help="Seconds between tries while another scheduler holds the clock.",
)
def run_command(retry_seconds: int) -> None:
    """Run the scheduler until SIGTERM or Ctrl+C; only one copy holds the clock at a time."""
    # create_app has set up logging (contracts/logs.py: LOG_FORMAT, LOG_LEVEL); each job's
    # records carry its name in the `job` field (scheduler.job_executor).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler.serve(current_app._get_current_object(), retry_seconds=retry_seconds)
