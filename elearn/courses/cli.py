"""``flask --app wsgi content ...``: load and export content packs, re-render pages."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from elearn.core.services import ServiceError
from elearn.courses import packs, services
from elearn.courses.models import Course
from elearn.extensions import db

content_cli = click.Group("content", help="Course content packs.")


@content_cli.command("load")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--staff",
    "staff_usernames",
    multiple=True,
    help="Username to make an instructor of every loaded course (repeatable).",
)
@click.option(
    "--new-only",
    is_flag=True,
    help="Only add courses that do not exist yet; leave existing ones (and edits made on "
    "the site) as they are.",
)
@with_appcontext
def load_command(folder: Path, staff_usernames: tuple[str, ...], new_only: bool):
    """Load every pack in FOLDER (or FOLDER itself); all or nothing, safe to repeat."""
    logging.getLogger("elearn").setLevel(logging.WARNING)
    try:
        courses = packs.load_packs(folder, new_only=new_only)
        for username in staff_usernames:
            for course in courses:
                services.add_staff(course, username)
    except ServiceError as exc:  # PackError included
        db.session.rollback()
        raise click.ClickException(f"nothing was loaded: {exc}") from exc
    db.session.commit()
    from elearn.media import packs as media_packs

    queued = media_packs.queue_unconverted()
    for course in courses:
        lessons = len(services.sequence(course))
        click.echo(f"  {course.slug}: {course.title} ({lessons} lessons, {course.status})")
    if queued:
        click.echo(f"  {queued} lecture(s) queued for conversion (the worker converts them)")
    kept = " (courses already here were left as they are)" if new_only else ""
    click.echo(f"Loaded {len(courses)} course(s) from {folder}{kept}.")


@content_cli.command("export")
@click.argument("slug")
@click.argument("folder", type=click.Path(path_type=Path))
@with_appcontext
def export_command(slug: str, folder: Path):
    """Write course SLUG as a pack into FOLDER/SLUG."""
    course = db.session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        raise click.ClickException(f"no course with the short name {slug}")
    target = packs.export_pack(course, folder)
    click.echo(f"Exported {slug} to {target}")


@content_cli.command("rerender")
@with_appcontext
def rerender_command():
    """Render every page's Markdown again (after the HTML allowlist changed)."""
    count = services.rerender_pages()
    db.session.commit()
    click.echo(f"Re-rendered {count} page(s).")
