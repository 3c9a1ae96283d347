"""``flask --app wsgi media ...``: what operators run by hand (checks, conversions, disk usage)."""

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


@media_cli.command("transcode")
@click.argument("file", type=click.Path(path_type=Path))
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--preset", default="veryfast", show_default=True, help="x264 preset.")
@with_appcontext
def transcode_command(file: Path, folder: Path, preset: str):
    """Run the lecture pipeline on FILE into FOLDER (check, then one ffmpeg run)."""
    try:
        info = transcode.check(file, current_app.config["MEDIA_MAX_DURATION"])
        shown = {"last": -1}

        def progress(fraction: float) -> None:
            percent = int(fraction * 100)
            if percent >= shown["last"] + 10:
                shown["last"] = percent
                click.echo(f"  {percent}%")

        folder.parent.mkdir(parents=True, exist_ok=True)
        out = transcode.transcode(file, folder, info, progress=progress, preset=preset)
    except (transcode.MediaRefused, transcode.TranscodeFailed) as exc:
        click.echo(f"refused: {exc}")
        raise SystemExit(1) from exc
    rungs = [r.name for r in transcode.choose_rungs(info)] if info.kind == "video" else ["audio"]
    click.echo(f"done: {out} ({', '.join(rungs)})")


@media_cli.command("retry")
@with_appcontext
def retry_command():
    """Queue the conversion of every lecture whose conversion failed, again."""
    from elearn.media import services

    failed = services.failed_videos()
    for video in failed:
        try:
            services.retry(video, None)
            click.echo(f"re-queued lecture of activity {video.activity_id}")
        except services.ServiceError as exc:
            click.echo(f"skipped activity {video.activity_id}: {exc}")
    click.echo(f"{len(failed)} failed lecture(s) found")


@media_cli.command("demo-lecture")
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@with_appcontext
def demo_lecture_command(folder: Path):
    """Make the missing lectures of pack video lessons marked ``generate: slides``."""
    from elearn.media import packs

    try:
        made = packs.make_demo_lectures(folder)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in made:
        click.echo(f"  made {path}")
    if not made:
        click.echo("  every demo lecture is already there")


@media_cli.command("usage")
@click.option(
    "--recount",
    is_flag=True,
    help="Measure every lecture on disk again, fix the stored figures and list orphans.",
)
@click.option("--top", default=20, show_default=True, help="How many courses to list.")
@with_appcontext
def usage_command(recount: bool, top: int):
    """Show the disk used by lectures, per course against its quota (largest first)."""
    from elearn.extensions import db
    from elearn.media import quota

    if recount:
        found = quota.recount()
        db.session.commit()
        for activity_id, old, new in found.fixed:
            click.echo(f"fixed lecture of activity {activity_id}: {old} -> {new} bytes")
        if found.uploads_fixed:
            click.echo(f"fixed the received bytes of {found.uploads_fixed} upload(s)")
        for path, size in found.orphans:
            click.echo(f"orphan: {path} ({size} bytes, no lecture or upload knows it)")
        click.echo(
            f"{found.lectures} lecture(s) measured, {len(found.fixed)} figure(s) fixed, "
            f"{len(found.orphans)} orphan(s)"
        )
    stored, uploading = quota.media_totals()
    click.echo(f"lectures: {stored} bytes; uploads in progress: {uploading} bytes")
    for row in quota.usage_page(1, per_page=top).items:
        limit = f"{row.quota} bytes" if row.quota else "no limit"
        share = f" ({row.share:.0%})" if row.share is not None else ""
        click.echo(f"  {row.used:>15} bytes{share}  quota {limit}  {row.title}")
