"""``flask --app wsgi progress ...``: check the record, rebuild the cache, export, demo data."""

from __future__ import annotations

import json
import os
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from elearn.accounts.models import User
from elearn.extensions import db
from elearn.progress import record, xapi

progress_cli = click.Group("progress", help="Learners' progress records and certificates.")


def _user_id(username: str | None) -> int | None:
    if username is None:
        return None
    user_id = db.session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise click.ClickException(f"no account named {username}")
    return user_id


@progress_cli.command("verify")
@click.option("--user", "username", help="Check only this learner's chain (username).")
@with_appcontext
def verify_command(username: str | None):
    """Check every learner's hash chain of progress events; exit 1 if any is broken."""
    user_id = _user_id(username)
    checked, breaks = record.verify(None if user_id is None else [user_id])
    names = dict(db.session.execute(select(User.id, User.username)).all())
    for found in breaks:
        click.echo(
            f"BROKEN learner {names.get(found.user_id, found.user_id)} (id {found.user_id}) "
            f"at event {found.seq}: {found.problem}",
            err=True,
        )
    click.echo(f"{checked} events checked, {len(breaks)} problems")
    if breaks:
        sys.exit(1)


@progress_cli.command("rebuild")
@click.option("--user", "username", help="Only this learner's runs (username).")
@click.option("--fix", is_flag=True, help="Write the state the events give over the cache.")
@with_appcontext
def rebuild_command(username: str | None, fix: bool):
    """Rebuild every run's state from its events and report where the cache differs.

    Exit status 1 when there are differences and --fix was not given.
    """
    differences = record.rebuild(user_id=_user_id(username), fix=fix)
    for d in differences:
        click.echo(
            f"run {d.run_id} (learner id {d.user_id}) {d.field}: cached {d.cached!r}, "
            f"events say {d.rebuilt!r}"
        )
    if fix:
        db.session.commit()
        click.echo(f"{len(differences)} differences fixed")
        return
    click.echo(f"{len(differences)} differences")
    if differences:
        sys.exit(1)


@progress_cli.command("xapi")
@click.argument("username")
@with_appcontext
def xapi_command(username: str):
    """Print a learner's record as xAPI statements (JSON) on standard output."""
    user = db.session.get(User, _user_id(username))
    click.echo(json.dumps(xapi.statements(user), ensure_ascii=False, indent=1))


@progress_cli.command("load-demo")
@with_appcontext
def load_demo_command():
    """Give the demo learners some progress, a due date and a certificate (idempotent)."""
    if os.environ.get("ELEARN_DEMO") != "1":
        raise click.ClickException("set ELEARN_DEMO=1 to load demo data")
    from elearn.progress.demo import load

    click.echo(load())
