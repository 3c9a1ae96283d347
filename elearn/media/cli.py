"""``flask --app wsgi media ...``: what operators run by hand."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from elearn.media import transcode

media_cli = click.Group("media", help="Video and audio lectures.")


@media_cli.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@with_appcontext
def check_command(file: Path):
    """Say whether FILE would be accepted as a lecture (exit status 1 when refused)."""
    try:
        info = transcode.check(file, current_app.config["MEDIA_MAX_DURATION"])
    except transcode.MediaRefused as exc:
        click.echo(f"refused: {exc}")
        raise SystemExit(1) from exc
    click.echo("accepted: " + json.dumps(asdict(info), ensure_ascii=False))
