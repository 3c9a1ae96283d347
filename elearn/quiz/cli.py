"""``flask --app wsgi quiz ...``: question files checked from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from elearn.quiz.formats import FormatError, aiken, gift

quiz_cli = click.Group("quiz", help="Quizzes and question files.")

FORMATS = {"gift": gift, "aiken": aiken}


def _echo_problems(headline: str, error: FormatError) -> None:
    """Print a refusal and one line per problem: question number, line, title, message."""
    click.echo(headline, err=True)
    for problem in error.problems:
        where = f"question {problem.question}, " if problem.question else ""
        title = f" “{problem.title}”" if problem.title else ""
        click.echo(f"  {where}line {problem.line}{title}: {problem.message}", err=True)


@quiz_cli.command("check")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--format",
    "format_name",
    type=click.Choice(sorted(FORMATS)),
    help="The file's format; by default .txt files named *aiken* and .aiken are Aiken, "
    "everything else GIFT.",
)
@with_appcontext
def check_command(file: Path, format_name: str | None):
    """Validate FILE; print its questions as JSON (docs/question-format.md), or the errors.

    Exit status 1 when the file has any problem (nothing would be imported).
    """
    if format_name is None:
        name = file.name.lower()
        format_name = "aiken" if name.endswith(".aiken") or "aiken" in name else "gift"
    try:
        questions = FORMATS[format_name].read(file.read_bytes())
    except FormatError as exc:
        _echo_problems(f"refused: {exc}", exc)
        raise SystemExit(1) from exc
    click.echo(json.dumps([q.to_json() for q in questions], ensure_ascii=False, indent=2))


def _course(slug: str):
    from sqlalchemy import select

    from elearn.courses.models import Course
    from elearn.extensions import db

    course = db.session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        raise click.ClickException(f"no course with the short name {slug!r}")
    return course


@quiz_cli.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--format", "format_name", type=click.Choice(sorted(FORMATS)), default="gift")
@click.option("--only-valid", is_flag=True, help="Import the valid questions, skip the others.")
@with_appcontext
def import_command(slug: str, file: Path, format_name: str, only_valid: bool):
    """Import the questions of FILE into the bank of course SLUG (all or nothing)."""
    from elearn.extensions import db
    from elearn.quiz import services

    course = _course(slug)
    try:
        rows = services.import_questions(
            course, file.read_bytes(), format_name, None, only_valid=only_valid
        )
    except FormatError as exc:
        db.session.rollback()
        _echo_problems(f"nothing was imported: {exc}", exc)
        raise SystemExit(1) from exc
    except services.ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"imported {len(rows)} question(s) into {slug}")


@quiz_cli.command("export")
@click.argument("slug")
@click.option("--format", "format_name", type=click.Choice(sorted(FORMATS)), default="gift")
@with_appcontext
def export_command(slug: str, format_name: str):
    """Print the question bank of course SLUG as GIFT or Aiken."""
    from elearn.quiz import services

    try:
        click.echo(services.export_bank(_course(slug), format_name), nl=False)
    except FormatError as exc:
        _echo_problems(f"refused: {exc}", exc)
        raise SystemExit(1) from exc
