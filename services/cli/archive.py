"""``bus archive`` and ``bus verify``: the auditors' archive of the domain topics, and its proof.

``archive`` appends what is new on the domain topics, ``registry.access`` and ``bus.deadletter`` to an
archive directory and publishes its chain head on ``audit.anchors``; ``verify`` checks an archive and names
each failure by file and record offset, exit 1 on any. Neither prints a record's content: archived values
hold personal data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.bus.settings import get_settings


def archive_command(
    *,
    directory: Annotated[Path, typer.Option("--dir", help="The archive directory (created if missing)")],
    max_file_records: Annotated[
        int, typer.Option(min=1, help="At most this many records per file (a day may need several)")
    ] = 50_000,
    anchor: Annotated[
        bool, typer.Option("--anchor/--no-anchor", help="Publish the chain head on audit.anchors")
    ] = True,
) -> None:
    """Archive every record not yet archived, one Avro file per topic, partition and UTC day, each with a
    manifest chained to the one before; print the chain head and publish it on audit.anchors.
    """
    from kafka.errors import KafkaError

    from services.audit.anchors import publish_anchor
    from services.audit.archiving import ArchiveError, archive

    settings = get_settings()
    try:
        result = archive(settings, directory, max_file_records=max_file_records)
    except ArchiveError as exc:
        typer.echo(f"error: {exc} (bus verify --archive {directory} says more)", err=True)
        raise typer.Exit(2) from None
    except KafkaError as exc:
        typer.echo(f"error: the broker could not be used ({type(exc).__name__})", err=True)
        raise typer.Exit(1) from None
    for topic, count in result.per_topic.items():
        typer.echo(f"{topic}: {count} records archived")
    for topic in result.missing:
        typer.echo(f"{topic}: no such topic on the broker, nothing archived")
    typer.echo(
        f"archive {result.archive_id}: {result.files} new files, {result.records} new records; "
        f"{result.sequence} manifests, {result.total_records} records in all"
    )
    typer.echo(f"head {result.head}")
    if anchor and result.sequence:
        published = publish_anchor(
            settings,
            archive_id=result.archive_id,
            sequence=result.sequence,
            head_sha256=result.head,
            records=result.total_records,
        )
        typer.echo(
            f"anchored on audit.anchors: manifest {published.sequence} at {published.anchored_at:%FT%TZ}"
        )


def verify_command(
    *,
    archive_dir: Annotated[Path, typer.Option("--archive", help="The archive directory to verify")],
    no_anchor: Annotated[
        bool, typer.Option("--no-anchor", help="Skip the check against audit.anchors (no broker needed)")
    ] = False,
) -> None:
    """Check every file against its manifest, the chain of manifests, the offsets of every partition and
    the head against the latest anchor; one line per finding, exit 1 if any check failed.
    """
    from kafka.errors import KafkaError

    from services.audit.anchors import latest_anchor
    from services.audit.verify import verify_anchor, verify_archive
    from services.bus.errors import BusError

    if not archive_dir.is_dir():
        typer.echo(f"error: {archive_dir} is not a directory", err=True)
        raise typer.Exit(2)
    report = verify_archive(archive_dir)
    if not no_anchor and report.archive_id is not None:
        try:
            found = latest_anchor(get_settings(), report.archive_id)
        except (KafkaError, RuntimeError, BusError, TypeError) as exc:
            report.fail("audit.anchors", None, f"cannot be read ({type(exc).__name__}); --no-anchor skips it")
        else:
            verify_anchor(archive_dir, found, report)
    for finding in report.findings:
        typer.echo(finding.line())
    failures = sum(1 for f in report.findings if f.severity == "FAIL")
    verdict = f"FAILED ({failures} failures)" if report.failed else "OK"
    typer.echo(
        f"{verdict}: {report.files} files, {report.records} records, {report.sequence} manifests, "
        f"head {report.head}"
    )
    if report.failed:
        raise typer.Exit(1)
