"""``flask --app wsgi reports ...``: reminders and refreshers by hand, demo data."""

from __future__ import annotations

import os

import click
from flask.cli import with_appcontext

from elearn.extensions import db

reports_cli = click.Group("reports", help="HR training administration: reminders, demo data.")


@reports_cli.command("remind")
@with_appcontext
def remind_command():
    """Mail today's reminders of mandatory courses and the hr digests now (once per run)."""
    from elearn.reports import reminders

    counts = reminders.send_reminders()
    db.session.commit()
    click.echo(
        f"{counts['reminders']} runs reminded in {counts['mails']} mails; "
        f"{counts['digests']} hr digests"
    )


@reports_cli.command("refreshers")
@with_appcontext
def refreshers_command():
    """Open the refresher runs of recurring assignments that are due to open."""
    from elearn.reports import assignments

    opened = assignments.open_refreshers()
    db.session.commit()
    click.echo(f"{opened} refresher runs opened")


@reports_cli.command("load-demo")
@with_appcontext
def load_demo_command():
    """Load a demo assignment, training class and class progress (idempotent)."""
    if os.environ.get("ELEARN_DEMO") != "1":
        raise click.ClickException("set ELEARN_DEMO=1 to load demo data")
    from elearn.reports.demo import load

    click.echo(load())
