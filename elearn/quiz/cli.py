"""``flask --app wsgi quiz ...``: question files checked from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from elearn.quiz.formats import FormatError, aiken, gift

quiz_cli = click.Group("quiz", help="Quizzes and question files.")

FORMATS = {"gift": gift, "aiken": aiken}


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
        click.echo(f"refused: {exc}", err=True)
        for problem in exc.problems:
            where = f"question {problem.question}, " if problem.question else ""
            title = f" “{problem.title}”" if problem.title else ""
            click.echo(f"  {where}line {problem.line}{title}: {problem.message}", err=True)
        raise SystemExit(1) from exc
    click.echo(json.dumps([q.to_json() for q in questions], ensure_ascii=False, indent=2))
