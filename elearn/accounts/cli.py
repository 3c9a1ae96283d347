"""``flask --app wsgi accounts ...``: demo data and the first administrator."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from elearn.accounts import services
from elearn.accounts.models import RoleAssignment
from elearn.core.services import ServiceError
from elearn.extensions import db

accounts_cli = click.Group("accounts", help="People, units and roles.")


@accounts_cli.command("load-demo")
@with_appcontext
def load_demo_command():
    """Create the demo org tree and accounts (needs ELEARN_DEMO=1)."""
    from elearn.accounts.demo import DEMO_PASSWORD, load_demo

    if not current_app.config["DEMO"]:
        raise click.ClickException("Demo data is loaded only with ELEARN_DEMO=1.")
    # The audit entries are still written; only their log lines are left out of the console.
    logging.getLogger("elearn").setLevel(logging.WARNING)
    rows = load_demo()
    db.session.commit()
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for username, name, roles in rows[:7]:
        click.echo(f"  {username:<18} {name:<20} {roles}")
    click.echo(f"  ... and {len(rows) - 7} more learners")


@accounts_cli.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--full-name", prompt=True)
@click.option("--email", default="", prompt="Email (optional)", show_default=False)
@click.option("--unit-code", prompt="Unit code (created as a top-level unit if missing)")
@click.option("--unit-name", default="", help="Name of the unit when it must be created.")
@click.password_option()
@with_appcontext
def create_admin_command(username, full_name, email, unit_code, unit_name, password):
    """Create a site administrator (the first account of a new installation)."""
    try:
        unit = services.unit_by_code(unit_code) or services.create_unit(
            unit_code, unit_name or unit_code, "ministry", None, actor=None
        )
        person = services.create_user(
            full_name, username, unit, email=email or None, password=password
        )
        db.session.flush()
        db.session.add(RoleAssignment(user_id=person.id, role="admin"))
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Administrator {person.username} created in {unit.name}.")


@accounts_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "username", required=True, help="Import as this hr user or admin.")
@click.option("--apply", "do_apply", is_flag=True, help="Carry the rows out after checking.")
@with_appcontext
def import_command(path, username, do_apply):
    """Check a staff file (CSV or XLSX) and print every row's outcome; --apply carries it out."""
    from pathlib import Path

    from sqlalchemy import select

    from elearn.accounts import imports
    from elearn.accounts.models import User

    actor = db.session.scalar(
        select(User).where(User.username == services.normalize_username(username))
    )
    if actor is None or not actor.active or not (actor.is_admin or actor.is_hr):
        raise click.ClickException(f"{username} is not an active hr user or administrator.")
    file = Path(path)
    try:
        record, staff = imports.create_import(actor, file.name, file.read_bytes())
        imports.check(record, staff)
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(
        f"Import #{record.id}: {record.file_name} ({record.file_format}), {record.total_rows} rows"
    )
    if record.ignored_columns:
        click.echo(f"Ignored columns: {record.ignored_columns}")
    click.echo(f"Dry run: {imports.summary(record)}")
    for row in db.session.scalars(imports.rows_query(record, "error")):
        click.echo(f"  line {row.line}: {row.identity or '-'}: {row.message} [{row.reason}]")
    if not do_apply:
        return
    if not record.to_do:
        click.echo("Nothing to apply.")
        imports.remove_file(record)
        db.session.commit()
        return
    imports.claim(record, actor)

    def checkpoint(done: int, total: int) -> None:
        db.session.commit()
        click.echo(f"  {done} of {total} rows done")

    try:
        imports.apply(record, actor, checkpoint)
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    imports.remove_file(record)
    db.session.commit()
    click.echo(f"Applied: {imports.summary(record)}")


@accounts_cli.command("apply-retention")
@click.option("--dry-run", is_flag=True, help="List the accounts without changing them.")
@with_appcontext
def apply_retention_command(dry_run):
    """Anonymise the accounts past the retention period set at /admin/privacy."""
    from elearn.accounts import retention

    months = retention.retention_months()
    if months is None:
        click.echo("No retention period is set: accounts are kept.")
        return
    ids = retention.apply_retention(dry_run=dry_run, commit_batches=not dry_run)
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run: {len(ids)} account(s) past {months} months would be anonymised.")
        for user_id in ids:
            click.echo(f"  #{user_id}")
        return
    db.session.commit()
    click.echo(f"{len(ids)} account(s) past {months} months anonymised.")
