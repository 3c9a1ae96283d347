"""``flask --app wsgi ops ...``: commands for the people who run the site."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import format_decimal
from flask_babel import gettext as _

from elearn.core.services import ServiceError
from elearn.ops import health

ops_group = click.Group("ops", help="Operations: health checks, backups.")


@ops_group.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report /healthz answers.")
@with_appcontext
def health_command(as_json: bool):
    """Print the health report; exit 1 when a check fails (for cron and monitoring)."""
    report = health.health()
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        for name, check in report.checks.items():
            numbers = " ".join(f"{key}={value}" for key, value in check.numbers.items())
            verdict = "ok" if check.ok else "FAIL"
            click.echo(f"{name:<9} {verdict:<5} {check.status} {numbers}".rstrip())
        click.echo("healthy" if report.ok else f"unhealthy: {', '.join(report.failing)}")
    if not report.ok:
        click.get_current_context().exit(1)


@ops_group.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=None,
    help="After a good backup, delete older ones so that this many remain.",
)
@with_appcontext
def backup_command(directory: Path, keep: int | None):
    """Write a consistent backup of the database and media into a new folder of DIRECTORY."""
    from elearn.ops import backup

    try:
        result = backup.create_backup(directory)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_("Backup written to %(folder)s", folder=str(result.folder)))
    click.echo(_("Database: %(size)s", size=backup.format_size(result.database_bytes)))
    click.echo(
        _(
            "Media: %(count)d files, %(size)s",
            count=result.media_files,
            size=backup.format_size(result.media_bytes),
        )
    )
    if result.instance_files:
        click.echo(_("Other files of the instance folder: %(count)d", count=result.instance_files))
    click.echo(_("Took %(seconds)s s", seconds=format_decimal(round(result.seconds, 1))))
    for folder in backup.prune_backups(directory, keep) if keep else []:
        click.echo(_("Old backup deleted: %(folder)s", folder=folder.name))


@ops_group.command("verify")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def verify_command(folder: Path):
    """Check a backup folder's manifest and every file's checksum (changes nothing)."""
    from elearn.ops import backup

    try:
        manifest = backup.verify_backup(folder)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        _(
            "The backup is complete: %(count)d files match their checksums (made %(at)s).",
            count=len(manifest["files"]),
            at=manifest.get("created_at", "?"),
        )
    )


@ops_group.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the data the target already holds.")
@with_appcontext
def restore_command(folder: Path, force: bool):
    """Restore a backup folder (elearn-YYYYmmdd-HHMMSS) into this instance; stop the app first."""
    from elearn.ops import backup

    def announce(state: backup.TargetState) -> None:
        if not state.empty:
            click.echo(
                _(
                    "Replacing what the target holds: %(rows)d rows in %(tables)d tables; "
                    "media files of the same name are overwritten (%(files)d files there now).",
                    rows=state.rows,
                    tables=state.tables,
                    files=state.media_files,
                )
            )

    try:
        result = backup.restore_backup(folder, force=force, before=announce)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        _(
            "Database restored (%(kind)s): %(rows)d rows in %(tables)d tables, "
            "schema revision %(revision)s.",
            kind=result.database,
            rows=result.rows,
            tables=result.tables,
            revision=result.revision,
        )
    )
    click.echo(
        _(
            "Files restored: %(count)d, %(size)s.",
            count=result.files,
            size=backup.format_size(result.bytes),
        )
    )
    if result.needs_upgrade:
        click.echo(
            _(
                "The backup's schema is older than this version: run "
                "flask --app wsgi db upgrade before starting the application."
            )
        )
    click.echo(_("Took %(seconds)s s", seconds=format_decimal(round(result.seconds, 1))))


@ops_group.command("compare")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def compare_command(folder: Path):
    """Compare this instance's rows and files with a backup; exit 1 when they differ."""
    from elearn.ops import backup

    try:
        differences = backup.compare_with(folder)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in differences:
        click.echo(line)
    if differences:
        raise click.ClickException(
            _("%(count)d difference(s) from the backup.", count=len(differences))
        )
    click.echo(_("This instance holds the same rows and files as the backup."))
